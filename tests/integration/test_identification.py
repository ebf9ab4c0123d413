"""Identification and one edge per relation across sources, on the real graph.

Reports are written here as sources send them (see test_reconciliation.py for the same with
the real agent, sshd and snmpd): conflicts on strong identifiers, clones, placeholders,
per-source provenance of edges, symmetric links, and sources racing for one new machine.
"""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from neo4j import Driver

from tests.integration.test_ingest import ADMIN, again, host_report, send


def nic(ref: str, name: str, mac: str, physical: bool | None = True) -> dict[str, Any]:
    attributes: dict[str, Any] = {"mac": mac}
    if physical is not None:
        attributes["physical"] = physical
    return {"ref": ref, "class": "Interface", "parent": "host", "identity": {"name": name}, "attributes": attributes}


def machine(
    machine_id: str | None,
    hostname: str,
    mac: str,
    kind: str = "agent",
    source: str | None = None,
    at: datetime | None = None,
    serial: str | None = None,
) -> dict[str, Any]:
    """A host report whose identity is what the source can see (no machine-id: SNMP's)."""
    report = host_report(machine_id=machine_id or "x", hostname=hostname, kind=kind, collected_at=at)
    host = report["records"][0]
    host["identity"] = {"machine_id": machine_id} if machine_id else {"hostname": hostname, "management_ip": "10.0.0.9"}
    host["attributes"] |= {"serial": serial, "vendor": "Dell Inc."} if serial else {}
    report["records"][1] = nic("eth0", "eth0", mac)
    report["source"]["name"] = source or hostname
    return report


def get(client: TestClient, path: str, **params: Any) -> Any:
    response = client.get(f"/api/v1{path}", params=params, headers=ADMIN)
    assert response.status_code == 200, response.text
    return response.json()


def hosts(client: TestClient) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = get(client, "/cis", **{"class": "Host"})["items"]
    return items


def test_two_machine_ids_are_two_machines_even_with_one_mac_and_name(client: TestClient) -> None:
    """A cloned VM keeps its MAC and host name, not its machine-id: a second CI, a suspected clone."""
    first = send(client, machine("mid-a", "web1", "52:54:00:aa:bb:01")).json()
    clone = send(client, machine("mid-b", "web1", "52:54:00:aa:bb:01", source="web1-clone")).json()
    assert clone["cis"]["host"] != first["cis"]["host"]
    assert clone["identification"]["host"]["created"] is True
    assert clone["identification"]["host"]["suspected_clones"][0]["uid"] == first["cis"]["host"]
    assert clone["identification"]["host"]["suspected_clones"][0]["conflict"] == ["machine_id"]
    original = get(client, f"/cis/{first['cis']['host']}")
    assert original["attributes"]["machine_id"] == "mid-a"  # never overwritten by the clone
    audit = get(client, "/reports/configuration-audit")
    assert {(c["uid"], c["clone_of"]) for c in audit["suspected_clones"]} == {
        (clone["cis"]["host"], first["cis"]["host"])
    }
    # An SNMP view of that MAC cannot tell them apart: it joins one and merges nothing.
    snmp = send(client, machine(None, "web1", "52:54:00:aa:bb:01", kind="snmp", source="lab@10.0.0.9")).json()
    assert snmp["cis"]["host"] in {first["cis"]["host"], clone["cis"]["host"]}
    assert "merged" not in snmp["identification"]["host"]
    assert len(hosts(client)) == 2


def test_placeholder_serials_and_virtual_macs_identify_nothing(client: TestClient) -> None:
    send(client, machine("mid-a", "a", "52:54:00:00:00:0a", serial="SN-A"))
    for name, mac, address in (("b", "52:54:00:00:00:0b", "10.0.0.11"), ("g", "52:54:00:00:00:0c", "10.0.0.12")):
        placeholder = machine(None, name, mac, kind="ssh", source=f"lab@{address}", serial="To Be Filled By O.E.M.")
        placeholder["records"][0]["identity"]["management_ip"] = address
        send(client, placeholder)  # the same "serial" and vendor: two machines all the same
    vrrp = machine(None, "c", "00:00:5e:00:01:07", kind="snmp", source="lab@10.0.0.7")
    send(client, vrrp)
    routers = machine(None, "d", "00:00:5e:00:01:07", kind="snmp", source="lab@10.0.0.8")
    routers["records"][0]["identity"]["management_ip"] = "10.0.0.8"
    send(client, routers)
    bridge = machine(None, "e", "52:54:00:00:00:0a", kind="snmp", source="lab@10.0.0.10")
    bridge["records"][0]["identity"]["management_ip"] = "10.0.0.10"
    send(client, bridge)  # its MAC is host a's physical eth0: same machine, another name
    virtual = machine("mid-f", "f", "52:54:00:00:00:0b")
    virtual["records"][1]["attributes"]["physical"] = False  # a bridge carrying b's MAC says nothing of b
    send(client, virtual)
    names = sorted(h["attributes"]["hostname"] for h in hosts(client))
    assert names == ["a", "b", "c", "d", "f", "g"]


def test_a_relation_two_sources_report_is_one_edge_that_ends_with_the_last_source(
    client: TestClient, neo4j_driver: Driver
) -> None:
    base = datetime.now(UTC) - timedelta(minutes=10)
    agent = machine("mid-a", "web1", "52:54:00:aa:bb:01", at=base)
    ssh = machine("mid-a", "web1", "52:54:00:aa:bb:01", kind="ssh", source="lab@10.0.0.1", at=base)
    host_uid = send(client, agent).json()["cis"]["host"]
    joined = send(client, ssh).json()
    assert joined["relations"]["INSTALLED"]["joined"] == 2
    assert joined["relations"]["INSTALLED"]["started"] == 0
    assert joined["events"] == 0  # the record grew a source; nothing about the host changed
    edges, _, _ = neo4j_driver.execute_query(
        "MATCH (h:Host {uid: $uid})-[r:INSTALLED]->(p) RETURN p.package_name AS name, r.sources AS sources",
        uid=host_uid,
    )
    assert sorted((r["name"], sorted(r["sources"])) for r in edges) == [
        ("bash", ["agent:web1", "ssh:lab@10.0.0.1"]),
        ("openssl", ["agent:web1", "ssh:lab@10.0.0.1"]),
    ]

    ssh_later = host_report(
        machine_id="mid-a", hostname="web1", kind="ssh", packages=(("openssl", "3.0.15"),), collected_at=base
    )
    ssh_later["source"]["name"] = "lab@10.0.0.1"
    ssh_later["records"][1] = nic("eth0", "eth0", "52:54:00:aa:bb:01")
    ssh_later = again(ssh_later)
    left = send(client, ssh_later).json()
    assert left["relations"]["INSTALLED"]["left"] == 1
    assert left["relations"]["INSTALLED"]["ended"] == 0
    bash = next(
        e
        for e in get(client, f"/cis/{host_uid}/relationships", type="INSTALLED")["items"]
        if e["other"]["name"] == "bash"
    )
    assert bash["ended_at"] is None
    views = {s["source"]: s for s in bash["sources"]}
    assert views["ssh:lab@10.0.0.1"]["ended_at"] is not None  # the per-source end is recorded
    assert views["agent:web1"]["ended_at"] is None
    stopped = get(client, "/reports/configuration-audit")["sources_stopped"]["relations"]
    assert [(r["type"], r["to_name"], r["stopped"]) for r in stopped] == [("INSTALLED", "bash", ["ssh:lab@10.0.0.1"])]

    agent_later = host_report(machine_id="mid-a", hostname="web1", packages=(("openssl", "3.0.15"),))
    agent_later["records"][1] = nic("eth0", "eth0", "52:54:00:aa:bb:01")
    ended = send(client, again(agent_later, collected_at=(base + timedelta(seconds=5)).isoformat())).json()
    assert ended["relations"]["INSTALLED"]["ended"] == 1
    history = get(client, f"/cis/{host_uid}/history", limit=200)["items"]
    assert [(e["kind"], e["source"]) for e in history if e["kind"].startswith("relation_")] == [
        ("relation_ended", "agent:web1")
    ]
    unauthorised = get(client, "/reports/unauthorised-changes", since=(base - timedelta(hours=1)).isoformat())
    assert [(i["kind"], i["field"]) for i in unauthorised["items"]] == [("relation_ended", "INSTALLED")]


def test_a_link_seen_from_both_ends_is_one_edge(client: TestClient, neo4j_driver: Driver) -> None:
    def switch(name: str, port: str, peer: str, peer_port: str) -> dict[str, Any]:
        return {
            "version": 1,
            "report_id": str(uuid.uuid4()),
            "source": {"kind": "snmp", "name": f"lab@{name}"},
            "collected_at": datetime.now(UTC).isoformat(),
            "records": [
                {"ref": "me", "class": "Switch", "identity": {"sys_name": name}},
                {"ref": "p", "class": "Interface", "parent": "me", "identity": {"name": port}},
                {"ref": "nbr", "class": "NetworkDevice", "identity": {"sys_name": peer}},
                {"ref": "np", "class": "Interface", "parent": "nbr", "identity": {"name": peer_port}},
            ],
            "relations": [{"type": "CONNECTED_TO", "from": "p", "to": "np"}],
        }

    send(client, switch("sw1", "Gi0/1", "sw2", "Gi0/24"))
    send(client, switch("sw2", "Gi0/24", "sw1", "Gi0/1"))
    rows, _, _ = neo4j_driver.execute_query("MATCH ()-[r:CONNECTED_TO]->() RETURN r.sources AS sources")
    assert [sorted(r["sources"]) for r in rows] == [["snmp:lab@sw1", "snmp:lab@sw2"]]


def test_sources_racing_for_one_new_machine_make_one_ci(client: TestClient, neo4j_driver: Driver) -> None:
    """The agent (machine-id), SSH (machine-id) and SNMP (MACs only) of ten new machines, all at once."""
    reports = []
    for i in range(10):
        mac = f"52:54:00:10:00:{i:02x}"
        reports += [
            machine(f"mid-{i}", f"h{i}", mac),
            machine(f"mid-{i}", f"h{i}", mac, kind="ssh", source=f"lab@10.1.0.{i}"),
            machine(None, f"h{i}", mac, kind="snmp", source=f"lab@10.2.0.{i}"),
        ]
    for i, report in enumerate(reports):
        if report["source"]["kind"] == "snmp":
            report["records"][0]["identity"]["management_ip"] = f"10.2.0.{i}"

    def post(report: dict[str, Any]) -> int:
        return send(client, report).status_code

    with ThreadPoolExecutor(max_workers=12) as pool:
        statuses = list(pool.map(post, reports))
    assert statuses == [200] * 30
    rows, _, _ = neo4j_driver.execute_query(
        """
        CALL () { MATCH (h:Host) RETURN count(h) AS hosts }
        CALL () { MATCH (i:Interface) RETURN count(i) AS interfaces }
        CALL () { MATCH (a)-[r]->(b) WITH a, type(r) AS t, b, count(*) AS n WHERE n > 1 RETURN count(*) AS doubled }
        RETURN hosts, interfaces, doubled
        """
    )
    assert dict(rows[0]) == {"hosts": 10, "interfaces": 10, "doubled": 0}


def test_edges_written_one_per_source_before_are_folded_into_one(client: TestClient, neo4j_driver: Driver) -> None:
    """A graph from before shared edges holds an edge per source: the next report makes them one."""
    first = machine("mid-a", "web1", "52:54:00:aa:bb:01", at=datetime.now(UTC) - timedelta(minutes=5))
    host_uid = send(client, first).json()["cis"]["host"]
    neo4j_driver.execute_query(
        """
        MATCH (h:Host {uid: $uid})-[r:INSTALLED]->(p)
        CREATE (h)-[:INSTALLED {source: 'ssh:lab@10.0.0.1', first_seen: r.first_seen}]->(p)
        """,
        uid=host_uid,
    )
    changed = again(first)
    changed["records"][0]["attributes"]["cpu_cores"] = 8  # not the same report: applied in full
    send(client, changed)
    rows, _, _ = neo4j_driver.execute_query(
        """
        MATCH (:Host {uid: $uid})-[r:INSTALLED]->(p)
        RETURN p.package_name AS name, r.sources AS sources, r.source AS legacy
        """,
        uid=host_uid,
    )
    assert sorted((r["name"], sorted(r["sources"]), r["legacy"]) for r in rows) == [
        ("bash", ["agent:web1", "ssh:lab@10.0.0.1"], None),
        ("openssl", ["agent:web1", "ssh:lab@10.0.0.1"], None),
    ]


def test_a_relation_declared_by_hand_joins_the_discovered_edge_and_outlives_only_its_declaration(
    client: TestClient,
) -> None:
    host_uid = send(client, machine("mid-a", "web1", "52:54:00:aa:bb:01")).json()["cis"]["host"]
    package = next(e["other"]["uid"] for e in get(client, f"/cis/{host_uid}/relationships", type="INSTALLED")["items"])
    declared = {"type": "INSTALLED", "from_uid": host_uid, "to_uid": package}
    answer = client.post("/api/v1/relationships", json=declared, headers=ADMIN)
    assert answer.status_code == 201, answer.text
    assert answer.json()["created"] is False  # the agent reports it already: one edge, two sources
    edges = [
        e
        for e in get(client, f"/cis/{host_uid}/relationships", type="INSTALLED")["items"]
        if e["other"]["uid"] == package
    ]
    assert len(edges) == 1
    assert {s["source"].split(":")[0] for s in edges[0]["sources"]} == {"agent", "manual"}
    params = {"type": "INSTALLED", "from_uid": host_uid, "to_uid": package}
    withdrawn = client.delete("/api/v1/relationships", params=params, headers=ADMIN).json()
    assert (withdrawn["ended"], withdrawn["still_reported_by"]) == (0, ["agent:web1"])  # discovery still sees it
    assert client.delete("/api/v1/relationships", params=params, headers=ADMIN).status_code == 404

    app = client.post("/api/v1/cis", json={"class": "Application", "attributes": {"name": "shop"}}, headers=ADMIN)
    runs = {"type": "RUNS_ON", "from_uid": app.json()["uid"], "to_uid": host_uid}
    assert client.post("/api/v1/relationships", json=runs, headers=ADMIN).json()["created"] is True
    params = {"type": "RUNS_ON", "from_uid": app.json()["uid"], "to_uid": host_uid}
    assert client.delete("/api/v1/relationships", params=params, headers=ADMIN).json()["ended"] == 1


@pytest.mark.parametrize("import_first", [True, False], ids=["import-then-agent", "agent-then-import"])
def test_an_import_and_the_agent_of_one_host_are_one_ci_with_one_edge_per_relation(
    client: TestClient, import_first: bool
) -> None:
    """A CMDB export imported (lowest precedence) and the agent, in either order."""
    document = {
        "cis": [
            {"ref": "h", "class": "LinuxHost", "attributes": {"machine_id": "mid-a", "hostname": "web1"}},
            {
                "ref": "p",
                "class": "SoftwarePackage",
                "attributes": {"package_name": "bash", "version": "5.2.15", "architecture": "amd64", "manager": "dpkg"},
            },
        ],
        "relationships": [{"type": "INSTALLED", "from": "h", "to": "p"}],
    }
    agent = machine("mid-a", "web1", "52:54:00:aa:bb:01", at=datetime.now(UTC) - timedelta(minutes=1))

    def load() -> None:
        imported = client.post("/api/v1/import", json=document, headers=ADMIN)
        assert imported.status_code == 200, imported.text

    if import_first:
        load()
    send(client, agent)
    if not import_first:
        load()
    (host,) = hosts(client)
    bash = [
        e
        for e in get(client, f"/cis/{host['uid']}/relationships", type="INSTALLED")["items"]
        if e["other"]["name"] == "bash"
    ]
    assert len(bash) == 1
    assert {s["source"].split(":")[0] for s in bash[0]["sources"]} == {"agent", "import"}
    assert host["attributes"]["os_name"] == "Debian GNU/Linux"  # the agent's value, whatever the order
