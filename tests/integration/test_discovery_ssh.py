"""SSH discovery against a real sshd on a loopback address of its own."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from agent.collectors import collect_facts
from agent.report import build_report
from agent.system import LiveSystem
from discovery.config import DiscoveryConfig, SshCredential, SshSettings
from discovery.results import Status
from discovery.secrets import Secret
from discovery.ssh.scanner import scan_ssh
from tests.integration.conftest import BOOTSTRAP_TOKEN, bearer
from tests.integration.server_process import BIN, free_port
from tests.integration.sshd import SshServer

ADDRESS = "127.0.0.5"
ADMIN = bearer(BOOTSTRAP_TOKEN)


@pytest.fixture
def sshd(tmp_path: Path) -> Iterator[SshServer]:
    server = SshServer(tmp_path, ADDRESS, free_port())
    server.start()
    try:
        yield server
    finally:
        server.stop()


def ssh_config(sshd: SshServer, known_hosts: Path, credential: SshCredential | None = None) -> DiscoveryConfig:
    return DiscoveryConfig(
        targets=[ADDRESS],
        name="test-collector",
        ssh=SshSettings(
            port=sshd.port,
            timeout_seconds=5,
            known_hosts=str(known_hosts),
            trust_on_first_use=True,
            credentials=[credential or SshCredential("key", "root", key_file=str(sshd.client_key))],
        ),
    )


def test_ssh_and_agent_reports_of_this_machine_are_one_host(
    client: TestClient, sshd: SshServer, tmp_path: Path
) -> None:
    result = scan_ssh(ADDRESS, ssh_config(sshd, tmp_path / "known_hosts"))
    assert result.status is Status.OK, result.reason
    assert result.report is not None
    ssh_summary = client.post("/api/v1/reports", json=result.report, headers=ADMIN).json()
    agent_report = build_report(collect_facts(LiveSystem()))
    agent_summary = client.post("/api/v1/reports", json=agent_report, headers=ADMIN).json()
    assert agent_summary["cis"]["host"] == ssh_summary["cis"]["host"]
    hosts = client.get("/api/v1/cis", params={"class": "Host"}, headers=ADMIN).json()
    assert hosts["total"] == 1
    host = hosts["items"][0]
    assert host["attributes"]["machine_id"] == Path("/etc/machine-id").read_text().strip()
    assert host["attributes"]["ssh_host_key"].startswith("SHA256:")
    # Both saw the same packages and interfaces: nothing doubled.
    packages = client.get(f"/api/v1/cis/{host['uid']}/relationships", params={"type": "INSTALLED"}, headers=ADMIN)
    assert len({r["other"]["uid"] for r in packages.json()["items"]}) == len(
        [r for r in agent_report["records"] if r["class"] == "SoftwarePackage"]
    )
    nics = client.get(f"/api/v1/cis/{host['uid']}/relationships", params={"type": "HAS_INTERFACE"}, headers=ADMIN)
    assert sorted({r["other"]["name"] for r in nics.json()["items"]}) == sorted(
        r["identity"]["name"] for r in agent_report["records"] if r["class"] == "Interface"
    )
    sources = {s["source"] for r in nics.json()["items"] for s in r["sources"]}
    assert sources == {
        "ssh:test-collector@127.0.0.5",
        agent_report["source"]["kind"] + ":" + agent_report["source"]["name"],
    }


def test_a_changed_host_key_is_refused_and_nothing_is_reported(sshd: SshServer, tmp_path: Path) -> None:
    config = ssh_config(sshd, tmp_path / "known_hosts")
    first = scan_ssh(ADDRESS, config)
    assert first.status is Status.OK
    assert ADDRESS in (tmp_path / "known_hosts").read_text()  # trusted on first use, and recorded
    sshd.replace_host_key()
    second = scan_ssh(ADDRESS, config)
    assert second.status is Status.HOST_KEY_REFUSED
    assert "host key changed" in second.reason
    assert second.report is None


def test_an_unknown_host_key_is_refused_without_trust_on_first_use(sshd: SshServer, tmp_path: Path) -> None:
    config = ssh_config(sshd, tmp_path / "known_hosts")
    config.ssh.trust_on_first_use = False
    result = scan_ssh(ADDRESS, config)
    assert result.status is Status.HOST_KEY_REFUSED
    assert "unknown host key" in result.reason


def test_a_wrong_password_is_an_auth_failure(sshd: SshServer, tmp_path: Path) -> None:
    wrong = SshCredential("pw", "root", password=Secret("not-the-password"))
    result = scan_ssh(ADDRESS, ssh_config(sshd, tmp_path / "known_hosts", wrong))
    assert result.status is Status.AUTH_FAILED
    assert result.report is None
    assert "not-the-password" not in result.reason


def test_ad_hoc_dry_run_prints_one_report_per_answering_target(sshd: SshServer, tmp_path: Path) -> None:
    done = subprocess.run(
        [
            str(BIN / "cmdb-discover"),
            "scan",
            ADDRESS,
            "127.0.0.250",
            "--ssh-user",
            "root",
            "--ssh-key",
            str(sshd.client_key),
            "--ssh-port",
            str(sshd.port),
            "--known-hosts",
            str(tmp_path / "kh"),
            "--trust-on-first-use",
            "--timeout",
            "2",
            "--dry-run",
            "--show-all",
        ],
        capture_output=True,
        text=True,
        env=dict(os.environ),
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) == 1
    report = json.loads(lines[0])
    assert report["source"] == {"kind": "ssh", "name": f"collector@{ADDRESS}"}
    assert report["records"][0]["identity"]["machine_id"] == Path("/etc/machine-id").read_text().strip()
    summary = {line.split()[0]: line for line in done.stderr.splitlines() if line.startswith("127.")}
    assert "ok" in summary[ADDRESS]
    assert "no answer" in summary["127.0.0.250"]
    assert "nothing listens" in summary["127.0.0.250"]
    assert "2 target(s)" in done.stderr
    assert not (tmp_path / "kh").exists()  # a dry run trusts the key for itself and records nothing


def test_a_sweep_that_collects_nothing_exits_non_zero(tmp_path: Path) -> None:
    done = subprocess.run(
        [
            str(BIN / "cmdb-discover"),
            "scan",
            "127.0.0.250",
            "--ssh-user",
            "root",
            "--ssh-key",
            str(tmp_path / "none"),
            "--timeout",
            "1",
            "--dry-run",
        ],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 3, done.stderr
    assert done.stdout == ""
    assert "1 no answer" in done.stderr
