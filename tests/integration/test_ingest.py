"""Report ingest against the real graph: identification, reconciliation, history, races."""

from __future__ import annotations

import copy
import gzip
import json
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from neo4j import Driver

from schema import Role
from tests.integration.conftest import BOOTSTRAP_TOKEN, bearer

ADMIN = bearer(BOOTSTRAP_TOKEN)


def host_report(
    machine_id: str = "mid-web1",
    hostname: str = "web1",
    packages: tuple[tuple[str, str], ...] = (("openssl", "3.0.15"), ("bash", "5.2.15")),
    kind: str = "agent",
    collected_at: datetime | None = None,
    extra_records: list[dict[str, Any]] | None = None,
    relations: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    records: list[dict[str, Any]] = [
        {
            "ref": "host",
            "class": "LinuxHost",
            "identity": {"machine_id": machine_id},
            "attributes": {
                "name": hostname,
                "hostname": hostname,
                "cpu_cores": 4,
                "os_name": "Debian GNU/Linux",
            },
        },
        {
            "ref": "eth0",
            "class": "Interface",
            "parent": "host",
            "identity": {"name": "eth0"},
            "attributes": {"mtu": 1500},
        },
    ]
    rels = list(relations or [])
    for name, version in packages:
        ref = f"pkg:{name}"
        records.append(
            {
                "ref": ref,
                "class": "SoftwarePackage",
                "identity": {
                    "package_name": name,
                    "version": version,
                    "architecture": "amd64",
                    "manager": "dpkg",
                },
                "attributes": {"name": name},
            }
        )
        rels.append({"type": "INSTALLED", "from": "host", "to": ref})
    return {
        "version": 1,
        "report_id": str(uuid.uuid4()),
        "source": {"kind": kind, "name": hostname},
        "collected_at": (collected_at or datetime.now(UTC)).isoformat(),
        "records": records + (extra_records or []),
        "relations": rels,
    }


DISK: dict[str, Any] = {  # a record with a volatile value (used_bytes)
    "ref": "fs",
    "class": "Filesystem",
    "parent": "host",
    "identity": {"mount_point": "/"},
    "attributes": {"size_bytes": 1000, "used_bytes": 100},
}


def again(report: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """The same report sent later: a new id and collection time."""
    later = copy.deepcopy(report)
    later["report_id"] = str(uuid.uuid4())
    later["collected_at"] = (datetime.fromisoformat(report["collected_at"]) + timedelta(seconds=1)).isoformat()
    later.update(changes)
    return later


def send(client: TestClient, report: Any, headers: dict[str, str] = ADMIN) -> httpx.Response:
    response: httpx.Response = client.post("/api/v1/reports", json=report, headers=headers)
    return response


def counts(neo4j_driver: Driver) -> dict[str, int]:
    records, _, _ = neo4j_driver.execute_query(
        """
        CALL () { MATCH (n:CI) RETURN count(n) AS cis }
        CALL () { MATCH (e:Event) RETURN count(e) AS events }
        CALL () { MATCH ()-[r]->() RETURN count(r) AS rels }
        RETURN cis, events, rels
        """
    )
    return dict(records[0])


def test_a_report_creates_cis_with_parents_and_relations(client: TestClient, neo4j_driver: Driver) -> None:
    response = send(client, host_report())
    assert response.status_code == 200, response.text
    summary = response.json()
    assert summary["classes"]["LinuxHost"] == {"created": 1, "updated": 0, "unchanged": 0}
    assert summary["classes"]["SoftwarePackage"]["created"] == 2
    assert summary["relations"]["INSTALLED"] == {"started": 2, "unchanged": 0, "ended": 0, "joined": 0, "left": 0}
    assert summary["relations"]["HAS_INTERFACE"]["started"] == 1
    host_uid = summary["cis"]["host"]
    rels = client.get(f"/api/v1/cis/{host_uid}/relationships", headers=ADMIN).json()["items"]
    assert sorted((r["type"], r["other"]["name"]) for r in rels) == [
        ("HAS_INTERFACE", "eth0"),
        ("INSTALLED", "bash"),
        ("INSTALLED", "openssl"),
    ]
    assert {s["source"] for r in rels for s in r["sources"]} == {"agent:web1"}
    assert all(r["last_seen"] is not None and r["ended_at"] is None for r in rels)
    eth0 = client.get(f"/api/v1/cis/{summary['cis']['eth0']}", headers=ADMIN).json()
    assert eth0["parent_uid"] == host_uid


def test_the_same_report_again_changes_only_last_seen(client: TestClient, neo4j_driver: Driver) -> None:
    first = host_report()
    host_uid = send(client, first).json()["cis"]["host"]
    before = counts(neo4j_driver)
    seen_before = client.get(f"/api/v1/cis/{host_uid}", headers=ADMIN).json()["last_seen"]
    second = send(client, again(first)).json()
    assert second["events"] == 0
    assert second["classes"]["LinuxHost"] == {"created": 0, "updated": 0, "unchanged": 1}
    assert second["relations"]["INSTALLED"] == {"started": 0, "unchanged": 2, "ended": 0, "joined": 0, "left": 0}
    assert counts(neo4j_driver) == before
    assert client.get(f"/api/v1/cis/{host_uid}", headers=ADMIN).json()["last_seen"] > seen_before


def test_one_changed_attribute_is_exactly_one_event(client: TestClient) -> None:
    first = host_report()
    host_uid = send(client, first).json()["cis"]["host"]
    changed = again(first)
    changed["records"][0]["attributes"]["cpu_cores"] = 8
    summary = send(client, changed).json()
    assert summary["events"] == 1
    assert summary["classes"]["LinuxHost"]["updated"] == 1
    history = client.get(f"/api/v1/cis/{host_uid}/history", headers=ADMIN).json()
    latest = history["items"][0]
    assert (latest["kind"], latest["field"], latest["old"], latest["new"]) == ("attribute", "cpu_cores", 4, 8)
    assert latest["source"] == "agent:web1"
    # The edges a CI starts with are part of its creation: their first_seen says so, no event each.
    kinds = sorted(e["kind"] for e in history["items"])
    assert kinds == ["attribute", "created"]
    created = next(e for e in history["items"] if e["kind"] == "created")
    host_seen = client.get(f"/api/v1/cis/{host_uid}", headers=ADMIN).json()["first_seen"]
    assert created["observed_at"] == host_seen  # the report's collection time; ``at`` is when it was applied
    edges = client.get(f"/api/v1/cis/{host_uid}/relationships", headers=ADMIN).json()["items"]
    assert len(edges) == 3
    assert {e["first_seen"] for e in edges} == {host_seen}


def test_a_package_no_longer_reported_ends_exactly_that_relation(client: TestClient) -> None:
    first = host_report()
    host_uid = send(client, first).json()["cis"]["host"]
    summary = send(
        client,
        host_report(packages=(("openssl", "3.0.15"),), collected_at=datetime.now(UTC) + timedelta(seconds=1)),
    ).json()
    assert summary["relations"]["INSTALLED"] == {"started": 0, "unchanged": 1, "ended": 1, "joined": 0, "left": 0}
    assert summary["events"] == 1
    current = client.get(f"/api/v1/cis/{host_uid}/relationships?type=INSTALLED", headers=ADMIN).json()["items"]
    assert [r["other"]["name"] for r in current] == ["openssl"]
    everything = client.get(
        f"/api/v1/cis/{host_uid}/relationships?type=INSTALLED&include_ended=true", headers=ADMIN
    ).json()["items"]
    ended = [r for r in everything if r["ended_at"] is not None]
    assert [r["other"]["name"] for r in ended] == ["bash"]
    event = client.get(f"/api/v1/cis/{host_uid}/history?limit=1", headers=ADMIN).json()["items"][0]
    assert (event["kind"], event["field"]) == ("relation_ended", "INSTALLED")


def test_a_replayed_report_is_applied_once(client: TestClient, neo4j_driver: Driver) -> None:
    report = host_report()
    first = send(client, report).json()
    before = counts(neo4j_driver)
    replay = send(client, report).json()
    assert replay["replayed"] is True
    assert replay["cis"] == first["cis"]
    assert counts(neo4j_driver) == before


def test_an_older_report_than_the_last_applied_is_refused(client: TestClient) -> None:
    now = datetime.now(UTC)
    assert send(client, host_report(collected_at=now)).status_code == 200
    late = send(client, host_report(collected_at=now - timedelta(minutes=5)))
    assert late.status_code == 409
    assert "older than the last report" in late.json()["error"]["message"]


def test_sources_agree_on_one_host_and_precedence_decides_attributes(client: TestClient) -> None:
    agent = send(client, host_report()).json()
    ssh = host_report(kind="ssh", packages=())
    ssh["source"]["name"] = "collector-1"
    ssh["records"][0]["attributes"]["cpu_cores"] = 2  # ssh ranks below the agent for hosts
    ssh["records"][0]["attributes"]["serial"] = "SN-42"  # nobody else knows it: ssh may set it
    ssh_summary = send(client, ssh).json()
    assert ssh_summary["cis"]["host"] == agent["cis"]["host"]
    host = client.get(f"/api/v1/cis/{agent['cis']['host']}", headers=ADMIN).json()
    assert host["attributes"]["cpu_cores"] == 4
    assert host["attributes"]["serial"] == "SN-42"
    assert client.get("/api/v1/cis?class=Host", headers=ADMIN).json()["total"] == 1


def test_twenty_concurrent_reports_for_a_new_host_make_one_host(client: TestClient, neo4j_driver: Driver) -> None:
    base = datetime.now(UTC)
    reports = [host_report(collected_at=base + timedelta(milliseconds=i)) for i in range(20)]

    def post(report: dict[str, Any]) -> int:
        return send(client, report).status_code

    with ThreadPoolExecutor(max_workers=20) as pool:
        statuses = list(pool.map(post, reports))
    assert set(statuses) <= {200, 409}  # 409: arrived after a newer report of the same source
    assert statuses.count(200) >= 1
    records, _, _ = neo4j_driver.execute_query(
        """
        CALL () { MATCH (h:Host) RETURN count(h) AS hosts }
        CALL () { MATCH (i:Interface) RETURN count(i) AS interfaces }
        CALL () { MATCH (p:SoftwarePackage) RETURN count(p) AS packages }
        CALL () { MATCH (:Host)-[r:INSTALLED]->() WHERE r.ended_at IS NULL RETURN count(r) AS installed }
        RETURN hosts, interfaces, packages, installed
        """
    )
    assert dict(records[0]) == {"hosts": 1, "interfaces": 1, "packages": 2, "installed": 2}


@pytest.mark.parametrize(
    ("mutate", "status", "field", "fragment"),
    [
        (
            lambda r: r["records"][0]["attributes"].update(cpu_cores="four"),
            422,
            "records[0] (ref 'host').attributes.cpu_cores",
            "integer",
        ),
        (
            lambda r: r["records"][0].update(identity={"hostname": "web1"}),
            422,
            "records[0] (ref 'host').identity",
            "missing identity keys",
        ),
        (
            lambda r: r["records"][1].pop("parent"),
            422,
            "records[1] (ref 'eth0').parent",
            "needs the ref of its parent",
        ),
        (
            lambda r: r["records"][0].update({"class": "Mainframe"}),
            422,
            "records[0] (ref 'host').class",
            "not a CI class",
        ),
        (
            lambda r: r["relations"].append({"type": "INSTALLED", "from": "host", "to": "nowhere"}),
            422,
            "relations[2].to",
            "no record",
        ),
        (lambda r: r.update(version=2), 422, "version", "must be 1"),
        (lambda r: r["source"].update(kind="psychic"), 422, "source.kind", "not one of"),
        (lambda r: r.update(collected_at="yesterday"), 422, "collected_at", "ISO 8601"),
    ],
)
def test_a_malformed_report_is_refused_naming_the_problem_and_writes_nothing(
    client: TestClient,
    neo4j_driver: Driver,
    mutate: Callable[[dict[str, Any]], None],
    status: int,
    field: str,
    fragment: str,
) -> None:
    report = host_report()
    mutate(report)
    response = send(client, report)
    assert response.status_code == status
    fields = response.json()["error"]["fields"]
    assert fields[0]["field"] == field
    assert fragment in fields[0]["message"]
    assert counts(neo4j_driver) == {"cis": 0, "events": 0, "rels": 0}


def test_junk_and_oversized_bodies_are_refused(client: TestClient, neo4j_driver: Driver) -> None:
    junk = b"\x00\xffnot json at all " * (10 * 1024 * 1024 // 17)
    response = client.post("/api/v1/reports", content=junk, headers={**ADMIN, "Content-Type": "application/json"})
    assert response.status_code == 400
    assert "not JSON" in response.json()["error"]["message"]
    bomb = gzip.compress(b" " * (65 * 1024 * 1024))
    response = client.post(
        "/api/v1/reports",
        content=bomb,
        headers={**ADMIN, "Content-Encoding": "gzip", "Content-Type": "application/json"},
    )
    assert response.status_code == 413
    assert counts(neo4j_driver) == {"cis": 0, "events": 0, "rels": 0}


def test_a_gzipped_report_is_accepted(client: TestClient) -> None:
    body = gzip.compress(json.dumps(host_report()).encode())
    response = client.post(
        "/api/v1/reports",
        content=body,
        headers={**ADMIN, "Content-Encoding": "gzip", "Content-Type": "application/json"},
    )
    assert response.status_code == 200
    assert response.json()["classes"]["LinuxHost"]["created"] == 1


def test_an_agent_token_reports_only_for_the_host_it_first_reported(
    client: TestClient, make_token: Callable[[Role], str], neo4j_driver: Driver
) -> None:
    token = bearer(make_token(Role.AGENT))
    assert send(client, host_report(), token).status_code == 200
    assert send(client, host_report(collected_at=datetime.now(UTC) + timedelta(seconds=1)), token).status_code == 200
    before = counts(neo4j_driver)
    other_host = host_report(machine_id="mid-db1", hostname="db1") | {"source": {"kind": "agent", "name": "web1"}}
    other = send(client, other_host, token)
    assert other.status_code == 403
    assert "bound to the host" in other.json()["error"]["message"]
    assert other.json()["error"]["message"].endswith("may not report for a new host db1")
    assert counts(neo4j_driver) == before
    assert send(client, host_report(), bearer(make_token(Role.ENGINEER))).status_code == 403


def test_observed_connection_joins_the_listening_service_once_the_server_reports(client: TestClient) -> None:
    client_side = host_report(
        machine_id="mid-app1",
        hostname="app1",
        packages=(),
        extra_records=[
            {
                "ref": "proc:payroll",
                "class": "SoftwareInstance",
                "parent": "host",
                "identity": {"listens": "tcp/8443"},
            },
            {
                "ref": "ip:10.9.8.7",
                "class": "IPAddress",
                "identity": {"address": "10.9.8.7", "domain": "global"},
            },
        ],
        relations=[{"type": "DEPENDS_ON", "from": "proc:payroll", "to": "ip:10.9.8.7", "properties": {"port": 5432}}],
    )
    app_summary = send(client, client_side).json()
    server_side = host_report(
        machine_id="mid-db1",
        hostname="db1",
        packages=(),
        extra_records=[
            {"ref": "ip", "class": "IPAddress", "identity": {"address": "10.9.8.7", "domain": "global"}},
            {
                "ref": "pg",
                "class": "ListeningService",
                "parent": "host",
                "identity": {"protocol": "tcp", "address": "0.0.0.0", "port": 5432},
                "attributes": {"process_name": "postgres"},
            },
        ],
        relations=[{"type": "HAS_IP", "from": "eth0", "to": "ip"}],
    )
    db_summary = send(client, server_side).json()
    assert db_summary["cis"]["ip"] == app_summary["cis"]["ip:10.9.8.7"]  # the remote end, joined
    proc_uid = app_summary["cis"]["proc:payroll"]
    deps = client.get(f"/api/v1/cis/{proc_uid}/relationships?type=DEPENDS_ON&direction=out", headers=ADMIN).json()
    targets = {(d["other"]["class"], d["properties"].get("port")) for d in deps["items"]}
    assert targets == {("IPAddress", 5432), ("ListeningService", 5432)}


def test_stale_marking_and_return_to_active(client: TestClient) -> None:
    host_uid = send(client, host_report()).json()["cis"]["host"]
    assert client.post("/api/v1/maintenance/mark-stale?older_than_hours=1", headers=ADMIN).json()["marked_stale"] == 0
    response = client.post("/api/v1/maintenance/mark-stale?older_than_hours=0.000001", headers=ADMIN)
    assert response.json()["marked_stale"] >= 2
    assert client.get(f"/api/v1/cis/{host_uid}", headers=ADMIN).json()["status"] == "stale"
    unchanged = host_report(collected_at=datetime.now(UTC) + timedelta(seconds=1))
    back = send(client, unchanged).json()
    assert client.get(f"/api/v1/cis/{host_uid}", headers=ADMIN).json()["status"] == "active"
    assert back["events"] >= 2  # each CI back from stale is an event
    replay = send(client, unchanged).json()
    assert replay["replayed"] is True
    assert replay["events"] == back["events"]
    kinds = [
        e["new"]
        for e in client.get(f"/api/v1/cis/{host_uid}/history", headers=ADMIN).json()["items"]
        if e["kind"] == "status"
    ]
    assert kinds == ["active", "stale"]


def test_history_filters_by_time_range(client: TestClient) -> None:
    host_uid = send(client, host_report()).json()["cis"]["host"]
    future = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    assert client.get(f"/api/v1/cis/{host_uid}/history", params={"since": future}, headers=ADMIN).json()["total"] == 0
    everything = client.get(f"/api/v1/cis/{host_uid}/history", headers=ADMIN).json()["total"]
    until = client.get(f"/api/v1/cis/{host_uid}/history", params={"until": future}, headers=ADMIN).json()
    assert until["total"] == everything >= 1
    bad = client.get(f"/api/v1/cis/{host_uid}/history", params={"since": "2026-01-01T00:00:00"}, headers=ADMIN)
    assert bad.status_code == 422
    assert bad.json()["error"]["fields"][0]["field"] == "since"


def test_volatile_values_stay_current_without_history(client: TestClient) -> None:
    first = host_report(extra_records=[copy.deepcopy(DISK)])
    fs_uid = send(client, first).json()["cis"]["fs"]
    fuller = again(first)
    fuller["records"][-1]["attributes"]["used_bytes"] = 700
    summary = send(client, fuller).json()
    assert summary["events"] == 0
    assert summary["classes"]["Filesystem"] == {"created": 0, "updated": 0, "unchanged": 1}
    assert client.get(f"/api/v1/cis/{fs_uid}", headers=ADMIN).json()["attributes"]["used_bytes"] == 700
    history = client.get(f"/api/v1/cis/{fs_uid}/history", headers=ADMIN).json()
    assert [e["kind"] for e in history["items"]] == ["created"]
    resized = again(fuller)
    resized["records"][-1]["attributes"]["size_bytes"] = 2000  # not volatile: a real change
    assert send(client, resized).json()["events"] == 1


def test_an_unchanged_report_with_a_bad_volatile_value_is_refused_whole(client: TestClient) -> None:
    first = host_report(extra_records=[copy.deepcopy(DISK)])
    fs_uid = send(client, first).json()["cis"]["fs"]
    broken = again(first)
    broken["records"][-1]["attributes"]["used_bytes"] = "lots"  # the rest is what the last report said
    response = send(client, broken)
    assert response.status_code == 422
    fields = [f["field"] for f in response.json()["error"]["fields"]]
    assert fields == [f"records[{len(first['records']) - 1}] (ref 'fs').attributes.used_bytes"]
    assert client.get(f"/api/v1/cis/{fs_uid}", headers=ADMIN).json()["attributes"]["used_bytes"] == 100
    # The same content with a good value is still recognised as unchanged.
    fixed = again(first)
    fixed["records"][-1]["attributes"]["used_bytes"] = 300
    summary = send(client, fixed).json()
    assert summary["classes"]["Filesystem"] == {"created": 0, "updated": 0, "unchanged": 1}
    assert client.get(f"/api/v1/cis/{fs_uid}", headers=ADMIN).json()["attributes"]["used_bytes"] == 300


def _short(report: dict[str, Any], fingerprint: str, used_bytes: int | None = None) -> dict[str, Any]:
    later = again(report)
    short: dict[str, Any] = {k: later[k] for k in ("version", "report_id", "source", "collected_at")}
    short["same_as"] = fingerprint
    short["records"] = []
    if used_bytes is not None:
        short["records"] = [{"ref": "fs", "class": "Filesystem", "attributes": {"used_bytes": used_bytes}}]
    return short


def test_a_short_report_says_nothing_changed_but_volatile_values(client: TestClient, neo4j_driver: Driver) -> None:
    first = host_report(extra_records=[copy.deepcopy(DISK)])
    applied = send(client, first).json()
    assert isinstance(applied["fingerprint"], str)
    host_uid, fs_uid = applied["cis"]["host"], applied["cis"]["fs"]
    seen_before = client.get(f"/api/v1/cis/{host_uid}", headers=ADMIN).json()["last_seen"]
    before = counts(neo4j_driver)
    short = _short(first, applied["fingerprint"], used_bytes=640)
    summary = send(client, short).json()
    assert summary["events"] == 0
    assert summary["classes"]["LinuxHost"] == {"created": 0, "updated": 0, "unchanged": 1}
    assert summary["relations"]["INSTALLED"] == {"started": 0, "unchanged": 2, "ended": 0, "joined": 0, "left": 0}
    assert summary["fingerprint"] == applied["fingerprint"]
    assert client.get(f"/api/v1/cis/{fs_uid}", headers=ADMIN).json()["attributes"]["used_bytes"] == 640
    assert client.get(f"/api/v1/cis/{host_uid}", headers=ADMIN).json()["last_seen"] > seen_before
    assert counts(neo4j_driver) == before
    # Sent twice (an answer lost on the way): applied once, answered the same.
    assert send(client, short).json()["replayed"] is True


def test_a_short_report_after_the_record_moved_on_is_refused_with_409(client: TestClient) -> None:
    first = host_report(extra_records=[copy.deepcopy(DISK)])
    applied = send(client, first).json()
    wrong = _short(first, "0" * 64)
    response = send(client, wrong)
    assert response.status_code == 409
    assert response.json()["error"]["fields"][0]["field"] == "same_as"
    changed = again(first)
    changed["records"][0]["attributes"]["cpu_cores"] = 8
    send(client, changed).raise_for_status()
    stale = _short(changed, applied["fingerprint"])
    assert send(client, stale).status_code == 409
    unknown = _short(changed, send(client, again(changed)).json()["fingerprint"])
    unknown["records"] = [{"ref": "fs:/data", "class": "Filesystem", "attributes": {"used_bytes": 1}}]
    response = send(client, unknown)
    assert response.status_code == 409
    assert response.json()["error"]["fields"][0]["field"] == "records"


def test_a_short_report_is_checked_like_any_report(client: TestClient) -> None:
    first = host_report(extra_records=[copy.deepcopy(DISK)])
    applied = send(client, first).json()
    bad = _short(first, "not-a-fingerprint")
    response = send(client, bad)
    assert response.status_code == 422
    assert response.json()["error"]["fields"][0]["field"] == "same_as"
    bad_value = _short(first, applied["fingerprint"], used_bytes=-1)
    bad_value["records"][0]["attributes"]["used_bytes"] = "full"
    response = send(client, bad_value)
    assert response.status_code == 422
    assert response.json()["error"]["fields"][0]["field"] == "records[0] (ref 'fs').attributes.used_bytes"
