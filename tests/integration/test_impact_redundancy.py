"""Redundancy below the host, on a graph built through the real ingest path.

web1 has eth0 cabled to sw1 and eth1 to sw2 (both switches report the link over SNMP
LLDP); the shop application listens on web1 and the web shop service depends on it.
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.integration.conftest import BOOTSTRAP_TOKEN, bearer
from tests.integration.estate import envelope, post
from tests.integration.test_impact import impact, states

ADMIN = bearer(BOOTSTRAP_TOKEN)
NICS = {"eth0": ("52:54:00:00:01:a0", "sw1", "FOC0001"), "eth1": ("52:54:00:00:01:a1", "sw2", "FOC0002")}


def agent_report() -> dict[str, Any]:
    records: list[dict[str, Any]] = [
        {"ref": "host", "class": "LinuxHost", "identity": {"machine_id": "mid-web1"}, "attributes": {"name": "web1"}},
        {
            "ref": "svc",
            "class": "ListeningService",
            "parent": "host",
            "identity": {"protocol": "tcp", "address": "0.0.0.0", "port": 443},
            "attributes": {"name": "web1:443"},
        },
    ]
    records += [
        {
            "ref": nic,
            "class": "Interface",
            "parent": "host",
            "identity": {"name": nic},
            "attributes": {"mac": mac, "physical": True, "oper_status": "up"},
        }
        for nic, (mac, _, _) in NICS.items()
    ]
    return envelope("agent", "web1", records, [])


def switch_report(nic: str) -> dict[str, Any]:
    mac, switch, serial = NICS[nic]
    records = [
        {
            "ref": "device",
            "class": "Switch",
            "identity": {"serial": serial, "vendor": "Cisco"},
            "attributes": {"name": switch},
        },
        {"ref": "port", "class": "Interface", "parent": "device", "identity": {"name": "Gi0/1"}},
        {"ref": "nbr", "class": "Host", "identity": {"hostname": "web1", "primary_mac": mac}},
        {
            "ref": "nbr:nic",
            "class": "Interface",
            "parent": "nbr",
            "identity": {"name": nic},
            "attributes": {"mac": mac},
        },
    ]
    return envelope("snmp", f"collector@{switch}", records, [{"type": "CONNECTED_TO", "from": "port", "to": "nbr:nic"}])


@pytest.fixture
def dual_homed(client: TestClient) -> dict[str, str]:
    uids: dict[str, str] = {}
    summary = post(client, "/api/v1/reports", agent_report())
    uids.update(web1=summary["cis"]["host"], svc=summary["cis"]["svc"])
    for nic in NICS:
        uids[NICS[nic][1]] = post(client, "/api/v1/reports", switch_report(nic))["cis"]["device"]
    shop = post(client, "/api/v1/cis", {"class": "Application", "attributes": {"name": "shop"}})["uid"]
    service = post(client, "/api/v1/cis", {"class": "BusinessService", "attributes": {"name": "web shop"}})["uid"]
    post(client, "/api/v1/relationships", {"type": "DEPENDS_ON", "from_uid": shop, "to_uid": uids["svc"]})
    post(client, "/api/v1/relationships", {"type": "DEPENDS_ON", "from_uid": service, "to_uid": shop})
    return uids


def test_the_graph_holds_one_host_with_two_uplinks(client: TestClient, dual_homed: dict[str, str]) -> None:
    hosts = client.get("/api/v1/cis", params={"class": "Host"}, headers=ADMIN).json()["items"]
    assert [h["name"] for h in hosts] == ["web1"]


def test_one_switch_down_leaves_the_dual_homed_host_degraded(client: TestClient, dual_homed: dict[str, str]) -> None:
    result = impact(client, dual_homed["sw2"])
    assert states(result) == {
        "Interface:Gi0/1": "down",  # sw2's port
        "Interface:eth1": "down",
        "LinuxHost:web1": "degraded",
        "ListeningService:web1:443": "degraded",
        "Application:shop": "degraded",
        "BusinessService:web shop": "degraded",
    }  # eth0 and sw1's port are not troubled: a degraded host does not pass trouble back out
    assert [(s["name"], s["state"]) for s in result["business_services"]] == [("web shop", "degraded")]


def test_both_switches_down_take_the_host_and_the_service_down(client: TestClient, dual_homed: dict[str, str]) -> None:
    response = client.post("/api/v1/impact", json={"uids": [dual_homed["sw1"], dual_homed["sw2"]]}, headers=ADMIN)
    assert response.status_code == 200, response.text
    affected = states(response.json())
    assert affected["LinuxHost:web1"] == "down"
    assert affected["BusinessService:web shop"] == "down"


def test_single_points_of_failure_leave_out_what_redundancy_covers(
    client: TestClient, dual_homed: dict[str, str]
) -> None:
    service = client.get("/api/v1/cis", params={"class": "BusinessService"}, headers=ADMIN).json()["items"][0]["uid"]
    response = client.get(f"/api/v1/services/{service}/single-points-of-failure", headers=ADMIN)
    assert response.status_code == 200, response.text
    answer = response.json()
    assert [(i["class"], i["name"]) for i in answer["items"]] == [
        ("Application", "shop"),
        ("ListeningService", "web1:443"),
        ("LinuxHost", "web1"),
    ]
    assert [s["name"] for s in answer["items"][2]["path"]] == ["web1", "web1:443", "shop", "web shop"]
    assert answer["checked"] == 9  # shop, its listener, web1, eth0, eth1, two switch ports, two switches
    hosts_only = client.get(
        f"/api/v1/services/{service}/single-points-of-failure", params={"classes": ["Host"]}, headers=ADMIN
    ).json()
    assert [i["name"] for i in hosts_only["items"]] == ["web1"]
    unknown = client.get(
        f"/api/v1/services/{service}/single-points-of-failure", params={"classes": ["Nope"]}, headers=ADMIN
    )
    assert unknown.status_code == 422
    assert unknown.json()["error"]["fields"][0]["field"] == "classes"
    not_a_service = client.get(f"/api/v1/services/{dual_homed['web1']}/single-points-of-failure", headers=ADMIN)
    assert not_a_service.status_code == 404


def test_impact_filtered_by_relationship_types_and_classes(client: TestClient, dual_homed: dict[str, str]) -> None:
    path = f"/api/v1/cis/{dual_homed['sw2']}/impact"
    hosts = client.get(path, params={"classes": ["Host"]}, headers=ADMIN).json()
    assert states(hosts) == {"LinuxHost:web1": "degraded"}
    assert [s["name"] for s in hosts["items"][0]["path"]] == ["sw2", "Gi0/1", "eth1", "web1"]  # the way still shown
    network = client.get(path, params={"types": ["HAS_INTERFACE", "CONNECTED_TO"]}, headers=ADMIN).json()
    assert states(network) == {"Interface:Gi0/1": "down", "Interface:eth1": "down", "LinuxHost:web1": "degraded"}
    wrong = client.get(path, params={"types": ["LINKED"]}, headers=ADMIN)
    assert wrong.status_code == 422
    assert (wrong.json()["error"]["fields"][0]["field"], "unknown relationship type") == (
        "types",
        wrong.json()["error"]["message"][:25],
    )
    combined = client.post(
        "/api/v1/impact",
        json={"uids": [dual_homed["sw1"], dual_homed["sw2"]], "classes": ["BusinessService"]},
        headers=ADMIN,
    ).json()
    assert states(combined) == {"BusinessService:web shop": "down"}
