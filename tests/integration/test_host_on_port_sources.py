"""A host placed on its switch port by three sources, in any order: the agent and SSH report
the host and its NIC's MAC, the switch's SNMP scan learns that MAC on an access port and also
sees the host as an LLDP neighbour. Still one host, one NIC, one link between port and NIC."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.integration.conftest import BOOTSTRAP_TOKEN, bearer
from tests.integration.estate import envelope

ADMIN = bearer(BOOTSTRAP_TOKEN)
MAC = "52:54:00:5e:00:41"
HOST = {"machine_id": "4f1c9d0e5b7a4e2f9c3d1a2b3c4d5e6f", "hostname": "web41", "primary_mac": MAC}


def host_report(kind: str, name: str) -> dict[str, Any]:
    """The agent's or SSH discovery's report of web41 and its NIC."""
    return envelope(
        kind,
        name,
        [
            {"ref": "host", "class": "LinuxHost", "identity": HOST, "attributes": {"name": "web41"}},
            {
                "ref": "eth0",
                "class": "Interface",
                "parent": "host",
                "identity": {"name": "eth0"},
                "attributes": {"mac": MAC, "physical": True},
            },
        ],
        [],
    )


def switch_report() -> dict[str, Any]:
    """access1's scan: Gi1/0/5 learnt the MAC, and LLDP sees web41's eth0 there."""
    return envelope(
        "snmp",
        "lab@127.0.9.41",
        [
            {
                "ref": "device",
                "class": "Switch",
                "identity": {"sys_name": "access1", "management_ip": "127.0.9.41"},
                "attributes": {"name": "access1"},
            },
            {
                "ref": "gi5",
                "class": "Interface",
                "parent": "device",
                "identity": {"name": "Gi1/0/5"},
                "attributes": {"learnt_macs": [MAC]},
            },
            {
                "ref": "nbr",
                "class": "Host",
                "identity": {"hostname": "web41", "primary_mac": MAC},
                "attributes": {"name": "web41"},
            },
            {
                "ref": "nbr:eth0",
                "class": "Interface",
                "parent": "nbr",
                "identity": {"name": "eth0"},
                "attributes": {"mac": MAC},
            },
        ],
        [{"type": "CONNECTED_TO", "from": "gi5", "to": "nbr:eth0"}],
    )


REPORTS = {
    "agent": lambda: host_report("agent", "web41"),
    "ssh": lambda: host_report("ssh", "lab@127.0.9.42"),
    "snmp": switch_report,
}


@pytest.mark.parametrize(
    "order",
    [("agent", "ssh", "snmp"), ("snmp", "agent", "ssh", "snmp"), ("ssh", "snmp", "agent", "snmp", "ssh")],
    ids="-".join,
)
def test_a_host_on_its_port_stays_one_host_with_one_link_whoever_reports_first(
    client: TestClient, order: tuple[str, ...]
) -> None:
    for kind in order:
        answer = client.post("/api/v1/reports", json=REPORTS[kind](), headers=ADMIN)
        assert answer.status_code == 200, answer.text
    hosts = client.get("/api/v1/cis", params={"class": "Host"}, headers=ADMIN).json()
    assert hosts["total"] == 1, [h["name"] for h in hosts["items"]]
    nics = client.get("/api/v1/cis", params={"class": "Interface", "name": "eth0"}, headers=ADMIN).json()
    assert nics["total"] == 1
    eth0 = nics["items"][0]["uid"]
    links = client.get(f"/api/v1/cis/{eth0}/relationships", params={"type": "CONNECTED_TO"}, headers=ADMIN).json()
    assert [link["other"]["name"] for link in links["items"]] == ["Gi1/0/5"]
    assert {s["source"].split(":")[0] for s in links["items"][0]["sources"]} == {"snmp"}
