"""Pure rules of curation: a locked attribute against discovery, a CI rebuilt at a past time, an import plan."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from cmdb_server.bulk import ImportFileError, plan_import, rows_from_csv
from cmdb_server.reconcile import DRIFT_PREFIX, LOCK_PREFIX, MANUAL_SEEN, PROVENANCE_PREFIX, merge_attributes
from cmdb_server.timeline import diff, state_at
from schema import SchemaError, SourceKind, load_schema
from schema.model import build_schema

SCHEMA = load_schema()
HOST = SCHEMA.classes["LinuxHost"]
NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
WINDOW = timedelta(days=7)


def test_manual_locks_are_inherited_and_a_unique_key_is_never_lockable() -> None:
    ownership = ("name", "description", "owner", "support_group", "environment", "location")
    assert HOST.manual_locks == ownership
    assert SCHEMA.classes["Switch"].manual_locks == (*ownership, "contact")
    assert "name" not in SCHEMA.classes["Interface"].manual_locks  # its name identifies it


@pytest.mark.parametrize(
    ("locks", "message"),
    [(["nonsense"], "'nonsense' is not an attribute"), (["key"], "'key' is a unique identity key")],
)
def test_a_wrong_manual_lock_is_refused_with_its_place(locks: list[str], message: str) -> None:
    raw_classes = {
        "CI": {"abstract": True, "description": "root", "precedence": ["manual"], "attributes": {}},
        "Thing": {
            "parent": "CI",
            "description": "a thing",
            "identity": [{"keys": ["key"], "unique": True}],
            "attributes": {"key": {"type": "string", "description": "k"}},
            "manual_locks": locks,
        },
    }
    with pytest.raises(SchemaError, match=message) as caught:
        build_schema(raw_classes, {})
    assert "classes.Thing.manual_locks" in str(caught.value)


def test_a_locked_attribute_keeps_its_value_and_records_what_discovery_saw_once() -> None:
    current = {"name": "payroll-db-1", LOCK_PREFIX + "name": "alice", PROVENANCE_PREFIX + "name": "manual"}
    merge = merge_attributes(HOST, current, {"name": "web1", "cpu_cores": 4}, SourceKind.AGENT, NOW, WINDOW)
    assert "name" not in merge.properties
    assert merge.properties["cpu_cores"] == 4
    assert [(c.field, c.old, c.new) for c in merge.drift] == [("name", "payroll-db-1", "web1")]
    stored = json.loads(merge.properties[DRIFT_PREFIX + "name"])
    assert stored == {"value": "web1", "source": "agent", "since": NOW.isoformat()}

    seen_again = merge_attributes(
        HOST,
        current | {DRIFT_PREFIX + "name": merge.properties[DRIFT_PREFIX + "name"]},
        {"name": "web1"},
        SourceKind.AGENT,
        NOW,
        WINDOW,
    )
    assert seen_again.drift == []
    assert seen_again.properties == {}


def test_discovery_agreeing_with_the_lock_clears_the_drift_and_a_hand_edit_is_not_drift() -> None:
    current = {"name": "db1", LOCK_PREFIX + "name": "alice", DRIFT_PREFIX + "name": '{"value": "x"}'}
    agreeing = merge_attributes(HOST, current, {"name": "db1"}, SourceKind.SSH, NOW, WINDOW)
    assert agreeing.properties == {DRIFT_PREFIX + "name": None}
    manual = merge_attributes(HOST, current, {"name": "db2"}, SourceKind.MANUAL, NOW, WINDOW)
    assert manual.properties["name"] == "db2"
    assert manual.drift == []


@pytest.mark.parametrize("kind", [SourceKind.AGENT, SourceKind.SNMP, SourceKind.IMPORT])
def test_a_hand_set_value_holds_against_lower_sources_for_the_stale_window_after_the_edit(kind: SourceKind) -> None:
    current = {"cpu_cores": 64, PROVENANCE_PREFIX + "cpu_cores": "manual", MANUAL_SEEN: NOW - WINDOW / 2}
    held = merge_attributes(HOST, current, {"cpu_cores": 4}, kind, NOW, WINDOW)
    assert held.properties == {}
    later = merge_attributes(HOST, current | {MANUAL_SEEN: NOW - 2 * WINDOW}, {"cpu_cores": 4}, kind, NOW, WINDOW)
    assert later.properties == {"cpu_cores": 4, PROVENANCE_PREFIX + "cpu_cores": kind.value}


def _event(kind: str, field: str | None = None, old: object = None, new: object = None) -> dict[str, object]:
    return {"kind": kind, "field": field, "old": old, "new": new}


def test_a_past_state_undoes_the_events_after_it_newest_first() -> None:
    events_after = [  # newest first
        _event("status", "status", "active", "retired"),
        _event("attribute", "description", "v2", "v3"),
        _event("attribute", "owner", None, "hr"),
        _event("class", "class", "Host", "LinuxHost"),
        _event("attribute", "used_bytes", 1, 2),
    ]
    now = {"name": "db1", "description": "v3", "owner": "hr", "used_bytes": 2}
    past = state_at("LinuxHost", "retired", now, events_after, frozenset({"used_bytes"}))
    assert past.existed
    assert (past.ci_class, past.status) == ("Host", "active")
    assert past.attributes == {"name": "db1", "description": "v2"}  # volatile values are not in a past state
    before = state_at("LinuxHost", "active", now, [*events_after, _event("created", new={"name": "db1"})], frozenset())
    assert not before.existed


def test_a_deleted_ci_existed_before_its_deleted_event_as_the_event_kept_it() -> None:
    kept = {"class": "Application", "status": "active", "attributes": {"name": "payroll", "used_bytes": 3}}
    deleted = _event("deleted", old=kept, new={"reason": "a duplicate"})
    after = state_at(None, None, {}, [], frozenset({"used_bytes"}), existed=False)
    assert not after.existed
    before = state_at(
        None,
        None,
        {},
        [deleted, _event("attribute", "name", "pay", "payroll")],
        frozenset({"used_bytes"}),
        existed=False,
    )
    assert before.existed
    assert (before.ci_class, before.status, before.attributes) == ("Application", "active", {"name": "pay"})


def test_a_diff_names_each_changed_field_with_both_values() -> None:
    old = state_at("Host", "active", {"name": "a", "os": "x"}, [], frozenset())
    new = state_at("LinuxHost", "active", {"name": "a", "os": "y", "fqdn": "a.example"}, [], frozenset())
    assert diff(old, new) == [
        {"field": "class", "from": "Host", "to": "LinuxHost"},
        {"field": "fqdn", "from": None, "to": "a.example"},
        {"field": "os", "from": "x", "to": "y"},
    ]


def test_an_import_plan_checks_each_row_on_its_own() -> None:
    schema = load_schema()
    kind, rows = rows_from_csv(
        "class,ref,parent,name,mtu\nLinuxHost,h,,web1,\nInterface,i,h,eth0,1500\nInterface,j,zz,eth1,\n"
    )
    assert kind == "cis"
    ci_rows: list[dict[str, Any]] = [
        {"ref": r.get("ref"), "class": r["class"], "parent": r.get("parent"), "attributes": {"name": r["name"]}}
        for r in rows
    ]
    ci_rows[0]["attributes"]["machine_id"] = "m-1"
    plan = plan_import(ci_rows, [], schema, {})
    assert [(r.ref, r.outcome) for r in plan.rows] == [("h", "pending"), ("i", "pending"), ("j", "rejected")]
    assert "parent" in plan.rows[2].errors[0]
    assert [r.ref for r in plan.records] == ["h", "i"]
    with pytest.raises(ImportFileError, match="'class' column"):
        rows_from_csv("name\nweb1\n")


def test_before_a_merge_the_survivor_had_none_of_the_attributes_the_merged_ci_brought() -> None:
    merged = _event("merged", new={"merged": "uid-snmp", "filled": ["management_ip"], "evidence": {}})
    now = {"name": "web1", "management_ip": "10.0.0.9"}
    past = state_at("LinuxHost", "active", now, [merged], frozenset())
    assert past.attributes == {"name": "web1"}
