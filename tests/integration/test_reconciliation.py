"""One machine seen by the real agent, a real sshd and a real snmpd is one CI, in any order.

The three reports describe this machine: the agent's (``cmdb-agent collect``), an SSH
scan of the sshd the test runs on 127.0.0.31, and an SNMP scan of the net-snmp snmpd it
runs on 127.0.0.32. Each order of arrival must end in one Host, one INSTALLED edge per
package vouched for by the agent and SSH, the interfaces SNMP sees joined to the agent's,
and nothing in the unauthorised-changes report (a second source learning what a first one
knew is no change). Then: a sysName change, a late identifier that shows two CIs are one,
and merge and split by hand.
"""

from __future__ import annotations

import asyncio
import copy
import itertools
import json
import subprocess
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from cmdb_server import authority
from discovery.config import DiscoveryConfig, SnmpCredential, SnmpSettings, SshCredential, SshSettings
from discovery.results import Status
from discovery.secrets import Secret
from discovery.snmp.scanner import scan_snmp
from discovery.ssh.scanner import scan_ssh
from schema import Role
from tests.integration.conftest import BOOTSTRAP_TOKEN, bearer
from tests.integration.server_process import BIN, free_port
from tests.integration.snmp_agents import Snmpd
from tests.integration.sshd import SshServer
from tests.integration.test_discovery_snmp import free_udp_port

SSH_ADDRESS = "127.0.0.31"
SNMP_ADDRESS = "127.0.0.32"
ADMIN = bearer(BOOTSTRAP_TOKEN)
KINDS = ("agent", "ssh", "snmp")


@pytest.fixture(scope="module")
def snmpd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Snmpd]:
    agent = Snmpd(tmp_path_factory.mktemp("snmpd-reconcile"), SNMP_ADDRESS, free_udp_port())
    agent.start()
    try:
        yield agent
    finally:
        agent.stop()


def snmp_report(snmpd: Snmpd) -> dict[str, Any]:
    config = DiscoveryConfig(
        targets=[SNMP_ADDRESS],
        name="lab",
        snmp=SnmpSettings(
            port=snmpd.port, timeout_seconds=2, credentials=[SnmpCredential("v2", "2c", community=Secret("public"))]
        ),
    )
    result = asyncio.run(scan_snmp(SNMP_ADDRESS, config))
    assert result.status is Status.OK, result.reason
    assert result.report is not None
    return dict(result.report)


@pytest.fixture(scope="module")
def reports(tmp_path_factory: pytest.TempPathFactory, snmpd: Snmpd) -> dict[str, dict[str, Any]]:
    """This machine as the real agent, an SSH scan and an SNMP scan report it."""
    collected = subprocess.run([str(BIN / "cmdb-agent"), "collect"], capture_output=True, text=True, check=True)
    agent = json.loads(collected.stdout)
    directory = tmp_path_factory.mktemp("sshd-reconcile")
    sshd = SshServer(directory, SSH_ADDRESS, free_port())
    sshd.start()
    try:
        config = DiscoveryConfig(
            targets=[SSH_ADDRESS],
            name="lab",
            ssh=SshSettings(
                port=sshd.port,
                timeout_seconds=5,
                known_hosts=str(directory / "known_hosts"),
                trust_on_first_use=True,
                credentials=[SshCredential("key", "root", key_file=str(sshd.client_key))],
            ),
        )
        result = scan_ssh(SSH_ADDRESS, config)
    finally:
        sshd.stop()
    assert result.status is Status.OK, result.reason
    assert result.report is not None
    return {"agent": agent, "ssh": dict(result.report), "snmp": snmp_report(snmpd)}


def fresh(report: dict[str, Any], at: datetime) -> dict[str, Any]:
    """The report as its source would send it again: a new id, collected at ``at``."""
    again = copy.deepcopy(report)
    again["report_id"] = str(uuid.uuid4())
    again["collected_at"] = at.isoformat()
    again.pop("same_as", None)
    return again


def send(client: TestClient, report: dict[str, Any], headers: dict[str, str] = ADMIN) -> dict[str, Any]:
    response = client.post("/api/v1/reports", json=report, headers=headers)
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


def get(client: TestClient, path: str, **params: Any) -> Any:
    response = client.get(f"/api/v1{path}", params=params, headers=ADMIN)
    assert response.status_code == 200, response.text
    return response.json()


def relationships(client: TestClient, uid: str, rel_type: str, **params: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = get(client, f"/cis/{uid}/relationships", type=rel_type, **params)["items"]
    return items


def kinds_of(edge: dict[str, Any]) -> set[str]:
    return {s["source"].split(":", 1)[0] for s in edge["sources"] if s["ended_at"] is None}


def names(report: dict[str, Any], class_name: str) -> set[str]:
    return {r["identity"]["name"] for r in report["records"] if r["class"] == class_name and "parent" in r}


@pytest.mark.slow
@pytest.mark.parametrize("order", list(itertools.permutations(KINDS)), ids="-".join)
def test_agent_ssh_and_snmp_in_any_order_make_one_host_with_one_edge_per_relation(
    client: TestClient, reports: dict[str, dict[str, Any]], order: tuple[str, ...], make_token: Callable[..., str]
) -> None:
    # Each source with a token of its own, as in production: the agent's bound to its source and
    # host at its first report, the collector's issued for collector "lab" (cmdb_server/authority.py).
    collector = bearer(make_token(Role.COLLECTOR, authority.collector_sources("lab")))
    tokens = {"agent": bearer(make_token(Role.AGENT)), "ssh": collector, "snmp": collector}
    start = datetime.now(UTC) - timedelta(minutes=5)
    answers = {
        kind: send(client, fresh(reports[kind], start + timedelta(seconds=i)), tokens[kind])
        for i, kind in enumerate(order)
    }
    hosts = get(client, "/cis", **{"class": "Host"})
    assert hosts["total"] == 1, [h["name"] for h in hosts["items"]]
    host = hosts["items"][0]
    assert {answers[kind]["cis"][ref] for kind, ref in (("agent", "host"), ("ssh", "host"), ("snmp", "device"))} == {
        host["uid"]
    }
    assert host["attributes"]["machine_id"] == Path("/etc/machine-id").read_text().strip()
    assert set(get(client, f"/cis/{host['uid']}")["seen_by"]) == set(KINDS)  # each source's freshness
    assert host["attributes"]["hostname"] == reports["agent"]["records"][0]["attributes"]["hostname"]

    packages = [r for r in reports["agent"]["records"] if r["class"] == "SoftwarePackage"]
    installed = relationships(client, host["uid"], "INSTALLED")
    assert len(installed) == len(packages) == len({e["other"]["uid"] for e in installed})
    assert all(kinds_of(e) == {"agent", "ssh"} for e in installed)
    assert all(e["last_seen"] is not None for e in installed)

    nics = relationships(client, host["uid"], "HAS_INTERFACE")
    by_name = {e["other"]["name"]: e for e in nics}
    assert len(by_name) == len(nics)  # one Interface per name: the SNMP ones are the agent's
    assert set(by_name) == names(reports["agent"], "Interface") | names(reports["snmp"], "Interface")
    for name in names(reports["snmp"], "Interface"):
        assert {"snmp", "agent"} <= kinds_of(by_name[name]), name
    if "eth0" in by_name:
        eth0 = get(client, f"/cis/{by_name['eth0']['other']['uid']}")
        assert eth0["attributes"]["if_index"] >= 1  # SNMP's view of the agent's interface

    # The two discovery collectors and the agent agree: the record did not change, it grew.
    unauthorised = get(client, "/reports/unauthorised-changes", since=(start - timedelta(hours=1)).isoformat())
    assert unauthorised["items"] == []
    assert not [e for e in get(client, f"/cis/{host['uid']}/history", limit=500)["items"] if e["kind"] == "merged"]
    explained = answers[order[-1]]["identification"]
    ref = "device" if order[-1] == "snmp" else "host"
    assert explained[ref]["uid"] == host["uid"]
    assert explained[ref]["rule"]  # which rule matched, and on what
    assert explained[ref]["values"]

    # Each source's next full report changes nothing and starts nothing.
    later = start + timedelta(minutes=1)
    for i, kind in enumerate(order):
        again = send(client, fresh(reports[kind], later + timedelta(seconds=i)), tokens[kind])
        assert again["events"] == 0, (kind, again)


@pytest.mark.slow
def test_a_renamed_snmp_host_is_the_same_ci_updated(
    client: TestClient, reports: dict[str, dict[str, Any]], snmpd: Snmpd
) -> None:
    start = datetime.now(UTC) - timedelta(minutes=5)
    first = send(client, fresh(reports["snmp"], start))["cis"]["device"]
    snmpd.stop()
    snmpd.configure("renamed-box.example.org")
    snmpd.start()
    try:
        renamed = snmp_report(snmpd)
    finally:
        snmpd.stop()
        snmpd.configure("snmpd-test.example.org")
        snmpd.start()
    answer = send(client, fresh(renamed, start + timedelta(seconds=1)))
    assert answer["cis"]["device"] == first  # its MACs still match: an update, not a new CI
    assert answer["identification"]["device"]["rule"] == "interface mac"
    host = get(client, f"/cis/{first}")
    assert (host["name"], host["attributes"]["hostname"]) == ("renamed-box.example.org", "renamed-box")
    assert get(client, "/cis", **{"class": "Host"})["total"] == 1
    changes = {
        (e["field"], e["old"], e["new"])
        for e in get(client, f"/cis/{first}/history")["items"]
        if e["kind"] == "attribute"
    }
    assert ("hostname", "snmpd-test", "renamed-box") in changes
    # With the agent's report too, still one host.
    send(client, fresh(reports["agent"], start + timedelta(seconds=2)))
    assert get(client, "/cis", **{"class": "Host"})["total"] == 1


@pytest.mark.slow
def test_a_late_identifier_merges_two_cis_into_one(client: TestClient, reports: dict[str, dict[str, Any]]) -> None:
    """SNMP first reads no interface table: its host is known by name and address only, and
    the agent's report makes a second CI. A later SNMP report with the MACs shows they are one."""
    start = datetime.now(UTC) - timedelta(minutes=5)
    blind = fresh(reports["snmp"], start)
    blind["records"] = [r for r in blind["records"] if r["class"] not in ("Interface", "IPAddress")]
    blind["relations"] = []
    snmp_uid = send(client, blind)["cis"]["device"]
    agent_uid = send(client, fresh(reports["agent"], start + timedelta(seconds=1)))["cis"]["host"]
    assert snmp_uid != agent_uid
    assert get(client, "/cis", **{"class": "Host"})["total"] == 2

    answer = send(client, fresh(reports["snmp"], start + timedelta(seconds=2)))
    assert answer["cis"]["device"] == agent_uid
    assert answer["identification"]["device"]["merged"] == [snmp_uid]
    assert get(client, "/cis", **{"class": "Host"})["total"] == 1
    assert get(client, f"/cis/{snmp_uid}")["uid"] == agent_uid  # the merged uid resolves to the survivor
    history = get(client, f"/cis/{agent_uid}/history", limit=500)["items"]
    merged = next(e for e in history if e["kind"] == "merged")
    assert merged["new"]["merged"] == snmp_uid
    assert merged["new"]["evidence"]["kept"]["rule"] == "interface mac"
    assert merged["new"]["evidence"]["merged"]["rule"] == "fqdn"  # the SNMP sysName, a domain name
    assert {e["ci_uid"] for e in history if e["kind"] == "created"} == {agent_uid, snmp_uid}  # both histories
    assert get(client, "/reports/unauthorised-changes", since=start.isoformat())["items"] == []


def test_merge_and_split_by_hand(client: TestClient, reports: dict[str, dict[str, Any]]) -> None:
    start = datetime.now(UTC) - timedelta(minutes=5)
    agent_uid = send(client, fresh(reports["agent"], start))["cis"]["host"]
    other = client.post(
        "/api/v1/cis",
        json={
            "class": "Host",
            "attributes": {
                "name": "lab box",
                "hostname": "labbox",
                "fqdn": "labbox.example.org",
                "description": "bench",
            },
        },
        headers=ADMIN,
    ).json()["uid"]
    app = client.post("/api/v1/cis", json={"class": "Application", "attributes": {"name": "billing"}}, headers=ADMIN)
    app_uid = app.json()["uid"]
    runs = {"type": "RUNS_ON", "from_uid": app_uid, "to_uid": other}
    assert client.post("/api/v1/relationships", json=runs, headers=ADMIN).status_code in (200, 201)

    refused = client.post(f"/api/v1/cis/{agent_uid}/merge", json={"other": app_uid, "reason": "x"}, headers=ADMIN)
    assert refused.status_code == 409
    assert refused.json()["error"]["fields"][0]["field"] == "other"
    merged = client.post(
        f"/api/v1/cis/{agent_uid}/merge", json={"other": other, "reason": "the lab box is this host"}, headers=ADMIN
    )
    assert merged.status_code == 200, merged.text
    assert merged.json()["edges"] >= 1
    assert get(client, "/cis", **{"class": "Host"})["total"] == 1
    assert get(client, f"/cis/{other}")["uid"] == agent_uid
    assert app_uid in {e["other"]["uid"] for e in relationships(client, agent_uid, "RUNS_ON", direction="in")}
    assert get(client, f"/cis/{agent_uid}")["attributes"]["description"] == "bench"  # what it lacked, filled in

    split = client.post(
        f"/api/v1/cis/{agent_uid}/split", json={"merged": other, "reason": "wrong: a different box"}, headers=ADMIN
    )
    assert split.status_code == 200, split.text
    assert split.json()["restored"] == other
    assert get(client, "/cis", **{"class": "Host"})["total"] == 2
    restored = get(client, f"/cis/{other}")
    assert (restored["uid"], restored["name"]) == (other, "lab box")
    assert "description" not in get(client, f"/cis/{agent_uid}")["attributes"]  # taken back
    assert {e["other"]["uid"] for e in relationships(client, other, "RUNS_ON", direction="in")} == {app_uid}
    assert app_uid not in {e["other"]["uid"] for e in relationships(client, agent_uid, "RUNS_ON", direction="in")}
    kinds = [e["kind"] for e in get(client, f"/cis/{agent_uid}/history", limit=500)["items"]]
    assert "split" in kinds
    assert "merged" in kinds
    again = client.post(f"/api/v1/cis/{agent_uid}/split", json={"merged": other, "reason": "twice"}, headers=ADMIN)
    assert again.status_code == 409

    # The other way round: a discovered LinuxHost into a hand-made Host, then split. What the
    # merge changed on the survivor (class, sightings, times) goes back with the split.
    before = get(client, f"/cis/{other}")
    into_hand_made = {"other": agent_uid, "reason": "try", "force": True}
    assert client.post(f"/api/v1/cis/{other}/merge", json=into_hand_made, headers=ADMIN).status_code == 200
    assert get(client, f"/cis/{other}")["class"] == "LinuxHost"
    undo = {"merged": agent_uid, "reason": "undo"}
    assert client.post(f"/api/v1/cis/{other}/split", json=undo, headers=ADMIN).status_code == 200
    after = get(client, f"/cis/{other}")
    assert (after["class"], after["labels"]) == (before["class"], before["labels"])
    assert (after["seen_by"], after["first_seen"], after["last_seen"]) == (
        before["seen_by"],
        before["first_seen"],
        before["last_seen"],
    )
