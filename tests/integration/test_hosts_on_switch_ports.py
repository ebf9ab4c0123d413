"""Hosts placed on their switch ports: a real Linux bridge, its forwarding table over a real snmpd.

Two hosts report themselves (agent reports through the real API, with the MACs their
namespaces really have); the switch is scanned with ``cmdb-discover``; the CMDB connects
each host's interface to the bridge port that learnt its MAC, the switch's impact reaches
the hosts, and a host moved to another port is connected there and not at its old port.
"""

from __future__ import annotations

import json
import subprocess
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.integration.bridge_lab import BridgeLab
from tests.integration.conftest import BOOTSTRAP_TOKEN, bearer
from tests.integration.server_process import BIN

ADMIN = bearer(BOOTSTRAP_TOKEN)


@pytest.fixture(scope="module")
def lab() -> Iterator[BridgeLab]:
    lab = BridgeLab()
    try:
        lab.start()
        yield lab
    finally:
        lab.stop()


def host_report(lab: BridgeLab, host: str, nic: str) -> dict[str, Any]:
    """What an agent on the host reports of it: its machine, its interface with its real MAC."""
    return {
        "version": 1,
        "report_id": str(uuid.uuid4()),
        "source": {"kind": "agent", "name": f"{host}-{lab.tag}"},
        "collected_at": datetime.now(UTC).isoformat(),
        "records": [
            {
                "ref": "host",
                "class": "LinuxHost",
                "identity": {"machine_id": f"{host}-{lab.tag}-machine"},
                "attributes": {"name": f"{host}-{lab.tag}", "hostname": f"{host}-{lab.tag}"},
            },
            {
                "ref": "if",
                "class": "Interface",
                "parent": "host",
                "identity": {"name": nic},
                "attributes": {"mac": lab.mac(host, nic), "physical": True, "oper_status": "up"},
            },
        ],
        "relations": [],
    }


def scan_switch(lab: BridgeLab) -> dict[str, Any]:
    done = subprocess.run(
        lab.in_namespace(
            "sw",
            str(BIN / "cmdb-discover"),
            "scan",
            lab.switch_address,
            "--snmp-community",
            "public",
            "--timeout",
            "2",
            "--dry-run",
        ),
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    [report] = [json.loads(line) for line in done.stdout.splitlines()]
    assert isinstance(report, dict)
    return report


def port_of(client: TestClient, nic_uid: str) -> list[str]:
    """The names of the switch ports a host interface is connected to, now."""
    links = client.get(f"/api/v1/cis/{nic_uid}/relationships", params={"type": "CONNECTED_TO"}, headers=ADMIN)
    assert links.status_code == 200, links.text
    return sorted(e["other"]["name"] for e in links.json()["items"])


@pytest.mark.slow
def test_each_host_is_placed_on_its_port_and_the_switch_impact_reaches_it(client: TestClient, lab: BridgeLab) -> None:
    nics = {}
    for host in lab.ports:
        answer = client.post("/api/v1/reports", json=host_report(lab, host, lab.host_nic), headers=ADMIN)
        assert answer.status_code == 200, answer.text
        nics[host] = answer.json()["cis"]["if"]

    report = scan_switch(lab)
    ports = {r["identity"]["name"]: r for r in report["records"] if r["class"] == "Interface"}
    for host, port in lab.ports.items():
        assert ports[port]["attributes"]["learnt_macs"] == [lab.mac(host)]
    answer = client.post("/api/v1/reports", json=report, headers=ADMIN)
    assert answer.status_code == 200, answer.text
    switch_uid = answer.json()["cis"]["device"]
    assert answer.json()["relations"]["CONNECTED_TO"]["started"] == 2
    for host, port in lab.ports.items():
        assert port_of(client, nics[host]) == [port]

    impact = client.get(f"/api/v1/cis/{switch_uid}/impact", headers=ADMIN).json()
    down = {i["name"]: i["state"] for i in impact["items"]}
    for host in lab.ports:
        assert down[f"{host}-{lab.tag}"] == "down"
    step = next(i for i in impact["items"] if i["name"] == f"h1-{lab.tag}")["path"]
    assert [(s["name"], s["via"]) for s in step] == [
        (lab.switch_name, None),
        ("swp1", "HAS_INTERFACE"),
        (lab.host_nic, "CONNECTED_TO"),
        (f"h1-{lab.tag}", "HAS_INTERFACE"),
    ]

    # The same scan again: nothing new, nothing ended (a report that places hosts is applied in full).
    again = client.post("/api/v1/reports", json={**scan_switch(lab)}, headers=ADMIN).json()
    assert again["relations"]["CONNECTED_TO"] == {"started": 0, "unchanged": 2, "ended": 0, "joined": 0, "left": 0}

    # h1's cable goes from swp1 to a new port swp3: the next scan places it there, and its
    # link to swp1 ends (this source's relations are replaced by its next report).
    mac = lab.mac("h1")
    lab.unplug("h1")
    lab.plug("h1", "swp3", mac=mac)
    lab.learn()
    moved = client.post("/api/v1/reports", json=scan_switch(lab), headers=ADMIN).json()
    assert moved["relations"]["CONNECTED_TO"]["started"] == 1
    assert moved["relations"]["CONNECTED_TO"]["ended"] == 1
    assert port_of(client, nics["h1"]) == ["swp3"]
    assert port_of(client, nics["h2"]) == ["swp2"]
