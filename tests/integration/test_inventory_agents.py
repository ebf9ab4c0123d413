"""The real inventory agents (Debian's fusioninventory-agent 2.6 and ocsinventory-agent 2.10,
installed by deploy/bootstrap) sending to a real server, unmodified: PROLOG and INVENTORY
accepted, the host appears once, and a second run is recognised as unchanged.

Fusion always exits 0, so its stderr is checked for ``[error]``; OCS exits 1 on any failure.
The agents run here, on 127.0.0.1, and take a second or three each.
"""

from __future__ import annotations

import base64
import json
import socket
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from neo4j import Driver

from schema import Role
from tests.integration.server_process import ServerProcess

pytestmark = pytest.mark.slow

FUSION_TASKS_OFF = "--no-task=deploy,esx,netdiscovery,netinventory,wakeonlan,collect,wmi"
REALM = "graph-cmdb"


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def run_fusion(server: ServerProcess, user: str, password: str) -> subprocess.CompletedProcess[str]:
    """One run of fusion's inventory task against the server, as an organisation runs it."""
    command = ["fusioninventory-agent", "--server", f"{server.url}/ocsinventory", "--user", user, "--password"]
    command += [password, FUSION_TASKS_OFF, "--logger=stderr"]
    return subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)


def run_ocs(server: ServerProcess, user: str, password: str, vardir: Path) -> subprocess.CompletedProcess[str]:
    """One run of the OCS agent: --nolocal (Debian's cfg says local=...), credentials base64-encoded."""
    command = ["ocsinventory-agent", "--nolocal", "--server", f"{server.url}/ocsinventory", "--user", b64(user)]
    command += ["--password", b64(password), "--realm", REALM, f"--basevardir={vardir}"]
    return subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)


def inventory_reports(driver: Driver) -> dict[str, list[dict[str, Any]]]:
    """The applied reports of every inventory source, oldest first, by source."""
    records, _, _ = driver.execute_query(
        "MATCH (r:IngestedReport) WHERE r.source STARTS WITH 'inventory:' "
        "RETURN r.source AS source, r.summary AS summary ORDER BY r.received_at"
    )
    found: dict[str, list[dict[str, Any]]] = {}
    for record in records:
        found.setdefault(record["source"], []).append(json.loads(record["summary"]))
    return found


def host_count(driver: Driver) -> int:
    records, _, _ = driver.execute_query("MATCH (h:Host) RETURN count(h) AS n")
    return int(records[0]["n"])


def unchanged(summary: dict[str, Any]) -> bool:
    return summary["events"] == 0 and all(c["created"] == c["updated"] == 0 for c in summary["classes"].values())


def errors_in(output: str) -> list[str]:
    return [line for line in output.splitlines() if "[error]" in line]


def test_fusioninventory_agent_sends_its_inventory_twice_the_second_unchanged(
    server: ServerProcess, make_token: Callable[..., str], neo4j_driver: Driver
) -> None:
    token = make_token(Role.COLLECTOR, ("inventory:*",))
    first = run_fusion(server, "fleet", token)
    assert errors_in(first.stderr) == [], first.stderr
    reports = inventory_reports(neo4j_driver)
    assert len(reports) == 1, reports
    ((source, (applied,)),) = reports.items()
    assert source.startswith("inventory:")
    assert not unchanged(applied)
    assert host_count(neo4j_driver) == 1
    second = run_fusion(server, "fleet", token)
    assert errors_in(second.stderr) == [], second.stderr
    applied_twice = inventory_reports(neo4j_driver)[source]
    assert len(applied_twice) == 2
    assert unchanged(applied_twice[1]), applied_twice[1]
    assert host_count(neo4j_driver) == 1


def test_fusioninventory_agent_with_a_wrong_token_stops_and_writes_nothing(
    server: ServerProcess, neo4j_driver: Driver
) -> None:
    run = run_fusion(server, "fleet", "cmdb_not-a-token")
    assert any("wrong credentials" in line for line in errors_in(run.stderr)), run.stderr
    assert inventory_reports(neo4j_driver) == {}


def test_ocsinventory_agent_sends_its_inventory_twice_the_second_unchanged(
    server: ServerProcess, make_token: Callable[..., str], neo4j_driver: Driver, tmp_path: Path
) -> None:
    token = make_token(Role.COLLECTOR, ("inventory:*",))
    first = run_ocs(server, "fleet", token, tmp_path)
    assert first.returncode == 0, first.stdout + first.stderr
    reports = inventory_reports(neo4j_driver)
    assert len(reports) == 1, reports
    ((source, (applied,)),) = reports.items()
    assert not unchanged(applied)
    assert host_count(neo4j_driver) == 1
    second = run_ocs(server, "fleet", token, tmp_path)  # the same installation: the same DEVICEID
    assert second.returncode == 0, second.stdout + second.stderr
    applied_twice = inventory_reports(neo4j_driver)[source]
    assert len(applied_twice) == 2
    assert unchanged(applied_twice[1]), applied_twice[1]
    assert host_count(neo4j_driver) == 1


def test_ocsinventory_agent_with_another_realm_is_refused(
    server: ServerProcess, make_token: Callable[..., str], neo4j_driver: Driver, tmp_path: Path
) -> None:
    token = make_token(Role.COLLECTOR, ("inventory:*",))
    command = ["ocsinventory-agent", "--nolocal", "--server", f"{server.url}/ocsinventory", "--user", b64("fleet")]
    command += ["--password", b64(token), "--realm", "Restricted Area", f"--basevardir={tmp_path}"]
    run = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
    assert run.returncode == 1
    assert "401" in run.stdout + run.stderr
    assert inventory_reports(neo4j_driver) == {}


def host_of_every_source(driver: Driver) -> list[dict[str, Any]]:
    """Each Host with the sources that vouch for it and what a user looks for on it."""
    records, _, _ = driver.execute_query(
        "MATCH (h:Host) "
        "OPTIONAL MATCH (h)-[:HAS_INTERFACE]->(i:Interface) WITH h, collect(DISTINCT i.name) AS interfaces "
        "OPTIONAL MATCH (h)-[:HAS_INTERFACE]->(:Interface)-[:HAS_IP]->(a:IPAddress) "
        "WITH h, interfaces, collect(DISTINCT a.address) AS addresses "
        "OPTIONAL MATCH (h)-[p:INSTALLED]->(:SoftwarePackage) WHERE p.ended_at IS NULL "
        "RETURN h.uid AS uid, h.hostname AS hostname, h.os_name AS os_name, h.machine_id AS machine_id, "
        "h.memory_bytes AS memory_bytes, h.cpu_model AS cpu_model, interfaces, addresses, "
        "count(p) AS packages, collect(DISTINCT p.sources) AS package_sources"
    )
    return [dict(r) for r in records]


def test_our_agent_fusion_and_ocs_on_one_machine_make_one_host(
    server: ServerProcess, make_token: Callable[..., str], neo4j_driver: Driver, tmp_path: Path
) -> None:
    """The three agents of this machine, each run for real against the server in turn, in the
    order an organisation moving over would: the inventory agents it has, then ours. One Host,
    one eth0, one address CI each, and every package edge vouched for by all three."""
    from tests.integration.test_agent import agent_env, installed_dpkg_packages, run_agent

    fleet = make_token(Role.COLLECTOR, ("inventory:*",))
    fusion = run_fusion(server, "fleet", fleet)
    assert errors_in(fusion.stderr) == [], fusion.stderr
    ocs = run_ocs(server, "fleet", fleet, tmp_path / "ocs")
    assert ocs.returncode == 0, ocs.stdout + ocs.stderr
    assert host_count(neo4j_driver) == 1
    agent = run_agent(agent_env(server.url, make_token(Role.AGENT), tmp_path / "spool"))
    assert agent.returncode == 0, agent.stdout + agent.stderr

    (host,) = host_of_every_source(neo4j_driver)
    assert host["hostname"] == socket.gethostname().split(".")[0]
    assert host["machine_id"] == Path("/etc/machine-id").read_text().strip()  # ours: the agent ranks first
    assert host["os_name"]
    assert host["cpu_model"]
    assert host["memory_bytes"]
    assert "eth0" in host["interfaces"]
    assert host["addresses"], host
    assert host["packages"] == len(installed_dpkg_packages())
    sources = {frozenset(s for s in edge_sources) for edge_sources in host["package_sources"]}
    assert all(any(s.startswith("agent:") for s in group) for group in sources)
    assert all(sum(s.startswith("inventory:") for s in group) == 2 for group in sources), sources
    records, _, _ = neo4j_driver.execute_query(
        "MATCH (h:Host)-[:HAS_INTERFACE]->(i:Interface {name: 'eth0'}) RETURN count(i) AS n"
    )
    assert records[0]["n"] == 1
