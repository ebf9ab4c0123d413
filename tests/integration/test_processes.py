"""The console scripts, run as a user runs them: the server as a process, the two CLIs."""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Iterator

import httpx
import pytest

from cmdb_server.config import Settings
from tests.integration.conftest import BOOTSTRAP_TOKEN, SeedCI, bearer
from tests.integration.server_process import BIN, ServerProcess, free_port, server_env

_env = server_env


@pytest.fixture
def server_url(settings: Settings, empty_graph: None) -> Iterator[str]:
    server = ServerProcess(settings)
    server.start()
    try:
        yield server.url
    finally:
        server.stop()


def test_server_process_serves_the_api_behind_tokens(server_url: str, settings: Settings) -> None:
    assert httpx.get(f"{server_url}/healthz").json() == {"status": "ok"}
    assert httpx.get(f"{server_url}/api/v1/cis").status_code == 401

    created = subprocess.run(
        [str(BIN / "cmdb-server"), "token", "create", "--role", "engineer", "--name", "alice"],
        env=_env(settings),
        capture_output=True,
        text=True,
        check=True,
    )
    token = created.stdout.strip()
    assert token.startswith("cmdb_")
    assert "role engineer" in created.stderr
    assert httpx.get(f"{server_url}/api/v1/cis", headers=bearer(token)).status_code == 200

    listed = subprocess.run(
        [str(BIN / "cmdb-server"), "token", "list"],
        env=_env(settings),
        capture_output=True,
        text=True,
        check=True,
    )
    token_id = next(line.split("\t")[0] for line in listed.stdout.splitlines() if line.split("\t")[4] == "alice")
    subprocess.run(
        [str(BIN / "cmdb-server"), "token", "revoke", token_id],
        env=_env(settings),
        capture_output=True,
        check=True,
    )
    # The running server trusts a verified token for CMDB_TOKEN_CACHE_SECONDS (5 s by default).
    deadline = time.monotonic() + 5 + 5
    while httpx.get(f"{server_url}/api/v1/cis", headers=bearer(token)).status_code == 200:
        assert time.monotonic() < deadline, "the revoked token was still accepted after the cache time"
        time.sleep(0.2)
    assert httpx.get(f"{server_url}/api/v1/cis", headers=bearer(token)).status_code == 401


def test_a_collector_token_is_issued_for_its_sources(server_url: str, settings: Settings) -> None:
    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(BIN / "cmdb-server"), "token", *args], env=_env(settings), capture_output=True, text=True
        )

    unscoped = cli("create", "--role", "collector")
    assert unscoped.returncode == 2
    assert "--collector NAME" in unscoped.stderr
    assert cli("create", "--role", "collector", "--source", "agent:web1").returncode == 2
    created = cli(
        "create", "--role", "collector", "--name", "dc1 sweeps", "--collector", "dc1", "--source", "import:cmdb"
    )
    assert created.returncode == 0
    assert "sources ssh:dc1@* snmp:dc1@* import:cmdb" in created.stderr
    line = next(row.split("\t") for row in cli("list").stdout.splitlines() if "\tdc1 sweeps\t" in row)
    assert (line[1], line[5]) == ("collector", "ssh:dc1@* snmp:dc1@* import:cmdb")
    unbind = cli("unbind", line[0])
    assert unbind.returncode == 1
    assert "only an agent token is bound to a host" in unbind.stderr


def test_engineer_cli_lists_and_shows_cis(server_url: str, seed_ci: SeedCI) -> None:
    host = seed_ci("LinuxHost", name="web1", machine_id="m-1", os_name="Debian GNU/Linux")
    seed_ci("Application", name="payroll")
    env = dict(os.environ, CMDB_URL=server_url, CMDB_TOKEN=BOOTSTRAP_TOKEN)

    listing = subprocess.run(
        [str(BIN / "cmdb"), "ci", "list", "--class", "Host"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    lines = listing.stdout.splitlines()
    assert lines[0].split() == ["UID", "CLASS", "NAME", "STATUS", "LAST", "SEEN"]
    assert len(lines) == 2
    assert lines[1].split()[:4] == [host.uid, "LinuxHost", "web1", "active"]
    assert "1-1 of 1" in listing.stderr

    shown = subprocess.run(
        [str(BIN / "cmdb"), "ci", "show", host.uid], env=env, capture_output=True, text=True, check=True
    )
    assert "Debian GNU/Linux" in shown.stdout

    missing = subprocess.run([str(BIN / "cmdb"), "ci", "show", "nope"], env=env, capture_output=True, text=True)
    assert missing.returncode == 1
    assert "no CI has the uid or a name like 'nope'" in missing.stderr
    by_name = subprocess.run([str(BIN / "cmdb"), "ci", "show", "PAYROLL"], env=env, capture_output=True, text=True)
    assert "class        Application" in by_name.stdout

    twin = seed_ci("LinuxHost", name="web1 (seen by SNMP)", hostname="web1", management_ip="10.0.0.1")
    merge = [str(BIN / "cmdb"), "ci", "merge", host.uid, twin.uid, "--reason", "one box"]
    merged = subprocess.run(merge, env=env, capture_output=True, text=True, check=True)
    assert f"merged {twin.uid} into {host.uid}" in merged.stdout
    resolved = subprocess.run([str(BIN / "cmdb"), "ci", "show", twin.uid], env=env, capture_output=True, text=True)
    assert f"uid          {host.uid}" in resolved.stdout  # the merged uid names the survivor
    split = [str(BIN / "cmdb"), "ci", "split", host.uid, twin.uid, "--reason", "two boxes after all"]
    assert f"split {twin.uid} from {host.uid}" in subprocess.run(split, env=env, capture_output=True, text=True).stdout
    again = subprocess.run(split, env=env, capture_output=True, text=True)
    assert again.returncode == 1
    assert "HTTP 409" in again.stderr
    # Two CIs named like "web": the command lists them instead of guessing.
    ambiguous = subprocess.run([str(BIN / "cmdb"), "ci", "show", "web"], env=env, capture_output=True, text=True)
    assert ambiguous.returncode == 1
    assert "2 CIs are named like 'web'" in ambiguous.stderr
    assert host.uid in ambiguous.stderr
    assert twin.uid in ambiguous.stderr
    exact = subprocess.run([str(BIN / "cmdb"), "ci", "show", "web1"], env=env, capture_output=True, text=True)
    assert f"uid          {host.uid}" in exact.stdout  # the one named exactly so
    assert "history (latest" in exact.stdout
    assert "merged" in exact.stdout
    as_json = json.loads(
        subprocess.run(
            [str(BIN / "cmdb"), "ci", "show", "web1", "--json"], env=env, capture_output=True, text=True
        ).stdout
    )
    assert (as_json["ci"]["uid"], type(as_json["relationships"]), type(as_json["history"])) == (host.uid, list, list)


def test_token_command_reports_an_unreachable_database(settings: Settings) -> None:
    env = _env(settings)
    env["CMDB_NEO4J_URI"] = f"bolt://127.0.0.1:{free_port()}"
    env["CMDB_NEO4J_CONNECTION_TIMEOUT"] = "1"
    done = subprocess.run(
        [str(BIN / "cmdb-server"), "token", "create", "--role", "admin"],
        env=env,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 1
    assert "is unreachable" in done.stderr


def test_engineer_cli_shows_impact_and_change_assessment_as_trees(server_url: str) -> None:
    from datetime import UTC, datetime, timedelta

    from tests.integration.estate import build_estate

    with httpx.Client(base_url=server_url, headers=bearer(BOOTSTRAP_TOKEN), timeout=30) as api:
        estate = build_estate(api)
        start = datetime.now(UTC) + timedelta(days=1)
        window = {"planned_start": start.isoformat(), "planned_end": (start + timedelta(hours=2)).isoformat()}
        first = api.post(
            "/api/v1/changes", json={"title": "switch firmware", "targets": [estate["sw1"]], **window}
        ).json()
        second = api.post("/api/v1/changes", json={"title": "db patch", "targets": [estate["db1"]], **window}).json()
        for change in (first, second):
            api.post(f"/api/v1/changes/{change['id']}/transition", json={"to": "submitted"})
    env = dict(os.environ, CMDB_URL=server_url, CMDB_TOKEN=BOOTSTRAP_TOKEN)

    impact = subprocess.run([str(BIN / "cmdb"), "impact", "app1"], env=env, capture_output=True, text=True)  # by name
    assert impact.returncode == 0, impact.stderr
    lines = impact.stdout.splitlines()
    assert lines[0] == "app1 (LinuxHost) [fails]"
    assert any("app1:8080 (ListeningService) [down]  <- RUNS_ON" in line for line in lines)
    assert any("shop (Application) [degraded]  -> MEMBER_OF" in line for line in lines)
    assert any("web shop (BusinessService) [degraded]  <- DEPENDS_ON" in line for line in lines)
    assert "business services: web shop (degraded, high)" in impact.stdout

    assess = subprocess.run(
        [str(BIN / "cmdb"), "change", "assess", first["id"]], env=env, capture_output=True, text=True
    )
    assert assess.returncode == 0, assess.stderr
    assert assess.stdout.startswith(f"{first['id']}: risk HIGH")
    assert f"collides with {second['id']} (db patch, submitted) on:" in assess.stdout
    assert "sw1 (Switch) [fails]" in assess.stdout
