"""A neighbour that LLDP or CDP names by its management address is the device scanned at that
address, whatever name it advertises and whichever report comes first: one CI, one link."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.integration.conftest import BOOTSTRAP_TOKEN, bearer
from tests.integration.estate import envelope

ADMIN = bearer(BOOTSTRAP_TOKEN)


def core_scan() -> dict[str, Any]:
    """core-a's own scan, at 127.0.9.1: no LLDP chassis id, its short name."""
    return envelope(
        "snmp",
        "lab@127.0.9.1",
        [
            {
                "ref": "device",
                "class": "Switch",
                "identity": {"sys_name": "core-a", "management_ip": "127.0.9.1"},
                "attributes": {"name": "core-a", "management_ip": "127.0.9.1"},
            },
            {"ref": "te1", "class": "Interface", "parent": "device", "identity": {"name": "Te1/0/1"}},
        ],
        [],
    )


def access_scan() -> dict[str, Any]:
    """access-b's scan: its uplink's neighbour advertises the FQDN and management address 127.0.9.1."""
    return envelope(
        "snmp",
        "lab@127.0.9.2",
        [
            {
                "ref": "device",
                "class": "Switch",
                "identity": {"sys_name": "access-b", "management_ip": "127.0.9.2"},
                "attributes": {"name": "access-b", "management_ip": "127.0.9.2"},
            },
            {"ref": "gi48", "class": "Interface", "parent": "device", "identity": {"name": "Gi1/0/48"}},
            {
                "ref": "nbr",
                "class": "NetworkDevice",
                "identity": {"sys_name": "core-a.lab.example", "management_ip": "127.0.9.1"},
                "attributes": {"name": "core-a.lab.example", "management_ip": "127.0.9.1", "platform": "C9500"},
            },
            {"ref": "nbr:te1", "class": "Interface", "parent": "nbr", "identity": {"name": "Te1/0/1"}},
        ],
        [{"type": "CONNECTED_TO", "from": "gi48", "to": "nbr:te1"}],
    )


@pytest.mark.parametrize("order", ["scan first", "neighbour first"])
def test_a_neighbour_named_by_its_management_address_is_the_device_scanned_there(
    client: TestClient, order: str
) -> None:
    reports = [core_scan(), access_scan()]
    for report in reports if order == "scan first" else reversed(reports):
        answer = client.post("/api/v1/reports", json=report, headers=ADMIN)
        assert answer.status_code == 200, answer.text
    devices = client.get("/api/v1/cis", params={"class": "NetworkDevice"}, headers=ADMIN).json()["items"]
    assert sorted(d["attributes"]["management_ip"] for d in devices) == ["127.0.9.1", "127.0.9.2"]
    core = next(d for d in devices if d["attributes"]["management_ip"] == "127.0.9.1")
    ports = client.get(f"/api/v1/cis/{core['uid']}/relationships", headers=ADMIN).json()["items"]
    te1 = next(r["other"]["uid"] for r in ports if r["type"] == "HAS_INTERFACE")
    links = client.get(f"/api/v1/cis/{te1}/relationships", headers=ADMIN).json()["items"]
    assert [(r["type"], r["other"]["name"]) for r in links if r["type"] == "CONNECTED_TO"] == [
        ("CONNECTED_TO", "Gi1/0/48")
    ]
    interfaces = client.get("/api/v1/cis", params={"class": "Interface", "name": "Te1/0/1"}, headers=ADMIN).json()
    assert interfaces["total"] == 1  # one port, not a placeholder's twin
