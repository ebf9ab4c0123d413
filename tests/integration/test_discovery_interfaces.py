"""Interface states told apart on a real machine: a network namespace the test makes, with a
port shut down, a port whose peer is shut down (lowerLayerDown) and a working pair; net-snmp's
snmpd serves its IF-MIB, the agent reads its sysfs, and both reports land in the CMDB."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.integration.conftest import BOOTSTRAP_TOKEN, bearer
from tests.integration.server_process import BIN
from tests.integration.snmp_agents import snmpd_command

ADMIN = bearer(BOOTSTRAP_TOKEN)
SNMP_PORT = 1161


def sh(*args: str) -> None:
    subprocess.run(list(args), check=True, capture_output=True, text=True)


class InterfaceLab:
    """One namespace: peer0 shut down under uplink0, cable0/cable1 up (cable0 with an alias)."""

    def __init__(self) -> None:
        self.directory = Path(tempfile.mkdtemp(prefix="cmdb-ifs-"))
        self.namespace = f"cmdbt-if-{uuid.uuid4().hex[:6]}"
        self.process: subprocess.Popen[bytes] | None = None

    def run(self, *command: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["ip", "netns", "exec", self.namespace, *command], capture_output=True, text=True)

    def start(self) -> None:
        ns = self.namespace
        sh("ip", "netns", "add", ns)
        sh("ip", "-n", ns, "link", "set", "lo", "up")
        sh("ip", "-n", ns, "link", "add", "uplink0", "type", "veth", "peer", "name", "peer0")
        sh("ip", "-n", ns, "link", "set", "uplink0", "up")  # peer0 stays shut down
        sh("ip", "-n", ns, "link", "add", "cable0", "type", "veth", "peer", "name", "cable1")
        sh("ip", "-n", ns, "link", "set", "cable0", "alias", "to rack B")
        sh("ip", "-n", ns, "addr", "add", "10.233.0.1/24", "dev", "cable0")
        for nic in ("cable0", "cable1"):
            sh("ip", "-n", ns, "link", "set", nic, "up")
        config = self.directory / "snmpd.conf"
        config.write_text("rocommunity public 127.0.0.0/8\nsysName if-lab.example.org\n")
        env = dict(os.environ, MIBS="", SNMP_PERSISTENT_DIR=str(self.directory / "persist"))
        self.process = subprocess.Popen(
            [
                "ip",
                "netns",
                "exec",
                ns,
                *snmpd_command(self.directory, config, f"udp:127.0.0.1:{SNMP_PORT}"),
            ],
            env=env,
        )
        deadline = time.monotonic() + 30
        while self.run("snmpget", "-v2c", "-c", "public", f"127.0.0.1:{SNMP_PORT}", "1.3.6.1.2.1.1.3.0").returncode:
            if time.monotonic() > deadline:
                raise RuntimeError("snmpd in the namespace did not answer")
            time.sleep(0.3)

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
        subprocess.run(["ip", "netns", "del", self.namespace], capture_output=True)
        shutil.rmtree(self.directory, ignore_errors=True)


@pytest.fixture(scope="module")
def lab() -> Iterator[InterfaceLab]:
    lab = InterfaceLab()
    try:
        lab.start()
        yield lab
    finally:
        lab.stop()


def interfaces_of(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {r["identity"]["name"]: r.get("attributes", {}) for r in report["records"] if r["class"] == "Interface"}


@pytest.mark.slow
def test_admin_down_and_oper_down_are_told_apart_by_snmp_and_the_agent(client: TestClient, lab: InterfaceLab) -> None:
    scan = lab.run(
        str(BIN / "cmdb-discover"),
        "scan",
        "127.0.0.1",
        "--snmp-community",
        "public",
        "--snmp-port",
        str(SNMP_PORT),
        "--timeout",
        "2",
        "--dry-run",
    )
    assert scan.returncode == 0, scan.stderr
    snmp = interfaces_of(json.loads(scan.stdout.splitlines()[0]))
    status = {name: (snmp[name]["admin_status"], snmp[name]["oper_status"]) for name in ("peer0", "uplink0", "cable0")}
    # net-snmp reports the kernel's lowerLayerDown as down: the admin status tells the two apart.
    assert status == {"peer0": ("down", "down"), "uplink0": ("up", "down"), "cable0": ("up", "up")}
    assert (snmp["cable0"]["if_descr"], snmp["cable0"]["speed_mbps"]) == ("cable0", 10000)

    agent = lab.run(str(BIN / "cmdb-agent"), "collect")
    assert agent.returncode == 0, agent.stderr
    report = json.loads(agent.stdout)
    mine = interfaces_of(report)
    assert (mine["peer0"]["admin_status"], mine["peer0"]["oper_status"]) == ("down", "down")
    assert (mine["uplink0"]["admin_status"], mine["uplink0"]["oper_status"]) == ("up", "lowerLayerDown")
    assert (mine["cable0"]["alias"], mine["cable0"]["speed_mbps"]) == ("to rack B", 10000)

    assert client.post("/api/v1/reports", json=report, headers=ADMIN).status_code == 200
    stored = client.get("/api/v1/cis", params={"class": "Interface", "name": "uplink0"}, headers=ADMIN).json()
    uplink = client.get(f"/api/v1/cis/{stored['items'][0]['uid']}", headers=ADMIN).json()
    assert uplink["attributes"]["oper_status"] == "lowerLayerDown"
    assert uplink["attributes"]["admin_status"] == "up"
