"""The agent run for real on this machine, against a real server process and Neo4j."""

from __future__ import annotations

import copy
import gzip
import json
import logging
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from neo4j import Driver

from cmdb_server.config import Settings
from schema import Role
from tests.integration.conftest import BOOTSTRAP_TOKEN, bearer
from tests.integration.server_process import BIN, ServerProcess

ADMIN = bearer(BOOTSTRAP_TOKEN)


def agent_env(url: str, token: str, spool: Path) -> dict[str, str]:
    return dict(
        os.environ,
        CMDB_AGENT_SERVER_URL=url,
        CMDB_AGENT_TOKEN=token,
        CMDB_AGENT_SPOOL_DIR=str(spool),
        CMDB_AGENT_RETRIES="2",
        CMDB_AGENT_BACKOFF_SECONDS="0.1",
        CMDB_AGENT_TIMEOUT_SECONDS="60",
    )


def run_agent(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BIN / "cmdb-agent"), "run", "--once"], env=env, capture_output=True, text=True)


def get(server: ServerProcess, path: str, **params: Any) -> Any:
    response = httpx.get(f"{server.url}{path}", params=params, headers=ADMIN, timeout=30)
    assert response.status_code == 200, response.text
    return response.json()


def relations(server: ServerProcess, uid: str, **params: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = get(server, f"/api/v1/cis/{uid}/relationships", **params)["items"]
    return items


def installed_dpkg_packages() -> set[str]:
    out = subprocess.run(
        ["dpkg-query", "-W", "-f=${db:Status-Status}\t${Package}:${Architecture}\t${Version}\n"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return {line.split("\t", 1)[1] for line in out.splitlines() if line.startswith("installed\t")}


@pytest.fixture
def listener_with_client() -> Iterator[tuple[int, int]]:
    """A TCP listener on 127.0.0.1 opened by the test, and two clients connected to it: a
    long-running program (it listens on a port of its own) and a short-lived one (sleep,
    orphaned: no listening socket, no service unit). Yields (port, the program's port)."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        port = int(listener.getsockname()[1])
        program = subprocess.Popen(
            [
                sys.executable,
                "-c",
                "import socket, sys, time\n"
                "own = socket.socket(); own.bind(('127.0.0.1', 0)); own.listen()\n"
                f"out = socket.create_connection(('127.0.0.1', {port}))\n"
                "print(own.getsockname()[1], flush=True); time.sleep(120)",
            ],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert program.stdout is not None
        program_port = int(program.stdout.readline())
        subprocess.run(
            ["bash", "-c", f"(exec 3<>/dev/tcp/127.0.0.1/{port}; exec sleep 120) >/dev/null 2>&1 &"], check=True
        )
        listener.settimeout(10)
        accepted = [listener.accept()[0] for _ in range(2)]
        try:
            yield port, program_port
        finally:
            program.kill()
            program.wait()
            subprocess.run(["pkill", "-f", f"/dev/tcp/127.0.0.1/{port}"], check=False)
            subprocess.run(["pkill", "-x", "-f", "sleep 120"], check=False)
            for conn in accepted:
                conn.close()


def test_the_agent_puts_this_machine_in_the_cmdb(
    server: ServerProcess, make_token: Callable[[Role], str], listener_with_client: tuple[int, int], tmp_path: Path
) -> None:
    port, program_port = listener_with_client
    done = run_agent(agent_env(server.url, make_token(Role.AGENT), tmp_path / "spool"))
    assert done.returncode == 0, done.stderr

    hosts = get(server, "/api/v1/cis", **{"class": "Host"})
    assert hosts["total"] == 1
    host = hosts["items"][0]
    assert host["attributes"]["machine_id"] == Path("/etc/machine-id").read_text().strip()

    packages = relations(server, host["uid"], type="INSTALLED")
    dpkg_count = subprocess.run(["dpkg-query", "-W"], capture_output=True, text=True, check=True).stdout.count("\n")
    assert len(packages) == len(installed_dpkg_packages())
    assert len(packages) == dpkg_count  # this machine has no removed-but-configured packages

    ip_addr = json.loads(subprocess.run(["ip", "-j", "addr"], capture_output=True, text=True, check=True).stdout)
    expected = {
        nic["ifname"]: (
            nic.get("address"),
            sorted(f"{a['local']}/{a['prefixlen']}" for a in nic["addr_info"]),
        )
        for nic in ip_addr
    }
    seen = {}
    for rel in relations(server, host["uid"], type="HAS_INTERFACE"):
        nic = get(server, f"/api/v1/cis/{rel['other']['uid']}")
        seen[nic["name"]] = (nic["attributes"].get("mac"), sorted(nic["attributes"].get("addresses", [])))
    assert seen == expected

    services = [r["other"] for r in relations(server, host["uid"], type="RUNS_ON", direction="in")]
    ours = [s for s in services if s["class"] == "ListeningService" and s["name"].endswith(f"tcp/{port}")]
    assert len(ours) == 1
    listener = get(server, f"/api/v1/cis/{ours[0]['uid']}")
    assert (listener["attributes"]["address"], listener["attributes"]["port"]) == ("127.0.0.1", port)

    programs = [get(server, f"/api/v1/cis/{s['uid']}") for s in services if s["class"] == "SoftwareInstance"]
    clients = [p for p in programs if p["attributes"].get("listens") == f"tcp/{program_port}"]
    assert len(clients) == 1  # the long-running client: identified by the port it listens on
    assert clients[0]["attributes"]["process_name"].startswith("python")
    deps = relations(server, clients[0]["uid"], type="DEPENDS_ON", direction="out")
    assert ours[0]["uid"] in {d["other"]["uid"] for d in deps}
    assert not [p for p in programs if p["attributes"].get("process_name") == "sleep"]  # short-lived: no CI


def test_the_agent_spools_while_the_server_is_away_and_delivers_once_back(
    settings: Settings,
    empty_graph: None,
    make_token: Callable[[Role], str],
    neo4j_driver: Driver,
    tmp_path: Path,
) -> None:
    server = ServerProcess(settings)  # not started yet: nothing listens on its port
    spool = tmp_path / "spool"
    env = agent_env(server.url, make_token(Role.AGENT), spool)

    away = run_agent(env)
    assert away.returncode == 75, away.stderr
    assert "stay in the spool" in away.stderr
    spooled = sorted(spool.glob("*.json.gz"))
    assert len(spooled) == 1
    spooled_body = spooled[0].read_bytes()
    spooled_id = json.loads(gzip.decompress(spooled_body))["report_id"]

    server.start()
    try:
        back = run_agent(env)
        assert back.returncode == 0, back.stderr
        assert list(spool.glob("*.json.gz")) == []
        records, _, _ = neo4j_driver.execute_query(
            "MATCH (r:IngestedReport) RETURN r.report_id AS id ORDER BY r.collected_at"
        )
        ids = [r["id"] for r in records]
        assert len(ids) == 2
        assert ids[0] == spooled_id  # the spooled report first, then the new one, each once
        # The same report delivered again (a retry after a lost answer) is not applied twice.
        replay = httpx.post(
            f"{server.url}/api/v1/reports",
            content=spooled_body,
            headers={**ADMIN, "Content-Encoding": "gzip", "Content-Type": "application/json"},
        )
        assert replay.status_code == 200
        assert replay.json()["replayed"] is True
        again, _, _ = neo4j_driver.execute_query("MATCH (r:IngestedReport) RETURN count(r) AS n")
        assert again[0]["n"] == 2
        hosts, _, _ = neo4j_driver.execute_query("MATCH (h:Host) RETURN count(h) AS n")
        assert hosts[0]["n"] == 1
    finally:
        server.stop()


def test_a_report_delivered_after_an_outage_dates_what_it_saw_by_its_collection(
    settings: Settings, empty_graph: None, make_token: Callable[[Role], str], tmp_path: Path
) -> None:
    server = ServerProcess(settings)  # not started yet: the report waits in the spool
    spool = tmp_path / "spool"
    env = agent_env(server.url, make_token(Role.AGENT), spool)
    assert run_agent(env).returncode == 75
    (spooled,) = spool.glob("*.json.gz")
    collected = datetime.fromisoformat(json.loads(gzip.decompress(spooled.read_bytes()))["collected_at"])
    time.sleep(2)  # the outage: a late delivery must not look like a later observation
    server.start()
    try:
        assert run_agent(env).returncode == 0
        (host,) = get(server, "/api/v1/cis", **{"class": "Host"})["items"]
        assert datetime.fromisoformat(host["first_seen"]) <= collected
    finally:
        server.stop()


def test_the_agent_sends_a_short_report_when_only_volatile_values_changed(
    server: ServerProcess,
    make_token: Callable[[Role], str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    from agent import cli
    from agent.config import load_config
    from agent.transport import Transport
    from agent.unchanged import MEMO_NAME
    from tests.integration.test_ingest import DISK, again, host_report

    first = host_report(extra_records=[copy.deepcopy(DISK)])
    fuller = again(first)
    fuller["records"][-1]["attributes"]["used_bytes"] = 900
    fullest = again(fuller)
    fullest["records"][-1]["attributes"]["used_bytes"] = 950
    collected = iter([first, fuller, fullest])
    monkeypatch.setattr(cli, "_collect", lambda config, **_: next(collected))  # what this host "has" each run
    spool = tmp_path / "spool"
    config = load_config(environ=agent_env(server.url, make_token(Role.AGENT), spool))
    transport = Transport(config.transport_settings())
    caplog.set_level(logging.INFO)
    try:
        assert cli.run_once(config, transport) == 0
        memo = json.loads((spool / MEMO_NAME).read_text())
        assert cli.run_once(config, transport) == 0
        assert "nothing changed since the last report" in caplog.text
        disk = get(server, "/api/v1/cis", **{"class": "Filesystem"})["items"][0]
        assert get(server, f"/api/v1/cis/{disk['uid']}")["attributes"]["used_bytes"] == 900
        # The server's record moved on without the agent knowing: 409, then the full report.
        (spool / MEMO_NAME).write_text(json.dumps({**memo, "fingerprint": "0" * 64}))
        caplog.clear()
        assert cli.run_once(config, transport) == 0
        assert "sending the full report" in caplog.text
        assert json.loads((spool / MEMO_NAME).read_text()) == memo
        assert get(server, f"/api/v1/cis/{disk['uid']}")["attributes"]["used_bytes"] == 950
    finally:
        transport.close()
    assert get(server, "/api/v1/cis", **{"class": "Host"})["total"] == 1
