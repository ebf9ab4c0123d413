"""The pure rules of reconciliation: which CI a record is, and who vouches for an edge."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from cmdb_server import provenance
from cmdb_server.identification import Candidate, decide, interface_values, record_values
from schema import load_schema
from schema.identifiers import identifier_rules

HOST = load_schema().ci_class("LinuxHost")
RULE = {rule.label: i for i, rule in enumerate(HOST.identity)}
T0 = datetime(2026, 11, 1, tzinfo=UTC)


def candidate(uid: str, rule: str, first_seen: str = "2026-01-01", **props: Any) -> Candidate:
    return Candidate(uid, {"uid": uid, "first_seen": first_seen, "status": "active", **props}, ("CI",), RULE[rule], {})


def test_placeholders_and_shared_macs_identify_nothing() -> None:
    rules = identifier_rules()
    assert not rules.usable("serial", "To Be Filled By O.E.M.")
    assert not rules.usable("hardware_uuid", "03000200-0400-0500-0006-000700080009")
    assert rules.usable("serial", "CZJ1234XYZ")
    assert not rules.usable("mac", "00:00:00:00:00:00")
    assert not rules.usable("mac", "01:00:5e:00:00:fb")  # multicast
    assert not rules.usable("mac", "00:00:5e:00:01:0a")  # VRRP
    assert rules.usable("mac", "02:fc:00:00:00:01")  # locally administered: a VM's, still one device's
    values = record_values(HOST, {"machine_id": "m1", "serial": "0", "vendor": "Dell", "hostname": "web1"})
    assert values == {"hostname": "web1", "machine_id": "m1", "vendor": "Dell"}
    nics: list[dict[str, Any]] = [
        {"mac": "52:54:00:00:00:01", "physical": True},
        {"mac": "52:54:00:00:00:02"},  # SNMP cannot tell: counts
        {"mac": "52:54:00:00:00:03", "physical": False},  # a bridge or veth: does not
        {"mac": "00:00:00:00:00:00"},
    ]
    assert interface_values(nics, "mac") == ["52:54:00:00:00:01", "52:54:00:00:00:02"]


def test_the_first_rule_without_a_conflict_decides() -> None:
    by_mac = candidate("a", "interface mac", machine_id="m-other")  # a clone: another machine-id
    by_name = candidate("b", "fqdn")
    decision = decide(HOST, {"machine_id": "m1", "fqdn": "web1.example.org"}, [by_name, by_mac])
    assert decision.target is not None
    assert decision.target.uid == "b"
    assert [(c.uid, keys) for c, keys in decision.conflicts] == [("a", ("machine_id",))]
    assert decision.merge == []  # fqdn is no strong evidence: nothing merged on it


def test_a_strong_match_merges_the_cis_that_do_not_conflict() -> None:
    strong = candidate("a", "machine_id", machine_id="m1", first_seen="2026-03-01")
    weak = candidate("b", "hostname + management_ip", first_seen="2026-01-01")
    other_machine = candidate("c", "fqdn", machine_id="m2")
    retired = candidate("d", "fqdn", status="retired")
    kept_apart = candidate("e", "fqdn", _distinct_from=["a"])
    decision = decide(HOST, {"machine_id": "m1"}, [weak, other_machine, strong, retired, kept_apart])
    assert decision.target is not None
    assert decision.target.uid == "a"
    assert [c.uid for c in decision.merge] == ["b"]
    assert [c.uid for c, _ in decision.conflicts] == ["c"]


def test_an_edge_is_vouched_for_by_each_source_and_ends_with_the_last() -> None:
    edge = provenance.new_edge("agent:web1", T0, {})
    changes, outcome = provenance.vouch(edge, "ssh:lab@10.0.0.1", T0 + timedelta(hours=1), stamp=False)
    assert outcome == "joined"
    edge |= changes
    assert edge["sources"] == ["agent:web1", "ssh:lab@10.0.0.1"]
    assert provenance.vouch(edge, "agent:web1", T0 + timedelta(hours=2), stamp=False) == ({}, "unchanged")
    changes, ends = provenance.withdraw(edge, "agent:web1", T0 + timedelta(hours=3))
    assert not ends
    edge |= changes
    assert (edge["sources"], edge["ended_sources"]) == (["ssh:lab@10.0.0.1"], ["agent:web1"])
    changes, ends = provenance.withdraw(edge, "ssh:lab@10.0.0.1", T0 + timedelta(hours=4))
    assert ends
    edge |= changes
    assert edge["ended_at"] == T0 + timedelta(hours=4)
    changes, outcome = provenance.vouch(edge, "agent:web1", T0 + timedelta(hours=5), stamp=False)
    assert outcome == "started"
    edge |= changes
    assert (edge["ended_at"], edge["sources"]) == (None, ["agent:web1"])
    shown = provenance.present(edge, {"agent:web1": T0 + timedelta(hours=6)})
    assert shown["last_seen"] == T0 + timedelta(hours=6)  # the source's last complete report
    views = {s["source"]: s for s in shown["sources"]}
    assert views["agent:web1"]["ended_at"] is None
    assert views["ssh:lab@10.0.0.1"]["ended_at"] == T0 + timedelta(hours=4)


def test_two_edges_of_one_relation_fold_into_one_with_both_provenances() -> None:
    legacy = {"source": "agent:web1", "first_seen": T0, "last_seen": T0 + timedelta(hours=1)}
    other = provenance.new_edge("ssh:lab", T0 + timedelta(hours=2), {})
    other["first_seen"] = T0 + timedelta(hours=2)
    folded = provenance.fold(legacy, other)
    assert folded["sources"] == ["agent:web1", "ssh:lab"]
    assert folded["source"] is None  # removed from the stored edge
    assert folded["first_seen"] == T0
    assert set(json.loads(folded["seen_by"])) == {"agent:web1", "ssh:lab"}
