"""The console scripts, run as a user runs them: the server as a process, the two CLIs."""

from __future__ import annotations

import os
import subprocess
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
    token_id = next(line.split("\t")[0] for line in listed.stdout.splitlines() if line.endswith("\talice"))
    subprocess.run(
        [str(BIN / "cmdb-server"), "token", "revoke", token_id],
        env=_env(settings),
        capture_output=True,
        check=True,
    )
    assert httpx.get(f"{server_url}/api/v1/cis", headers=bearer(token)).status_code == 401


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
    assert "HTTP 404: no CI with uid 'nope'" in missing.stderr


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
