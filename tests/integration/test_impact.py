"""Impact analysis on a realistic estate built through the real ingest path and the API.

A business service on two load-balanced application instances on two hosts, a database
on a third host, all three behind one switch discovered over SNMP.
"""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from tests.integration.conftest import BOOTSTRAP_TOKEN, bearer
from tests.integration.estate import post

ADMIN = bearer(BOOTSTRAP_TOKEN)


def impact(client: TestClient, uid: str) -> dict[str, Any]:
    response = client.get(f"/api/v1/cis/{uid}/impact", headers=ADMIN)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def states(result: dict[str, Any]) -> dict[str, str]:
    return {f"{i['class']}:{i['name']}": i["state"] for i in result["items"]}


def path_of(result: dict[str, Any], name: str) -> list[tuple[str | None, str | None, str | None]]:
    item = next(i for i in result["items"] if i["name"] == name)
    return [(step["name"], step["via"], step["direction"]) for step in item["path"]]


def test_the_estate_has_one_host_per_machine(client: TestClient, estate: dict[str, str]) -> None:
    hosts = client.get("/api/v1/cis", params={"class": "Host"}, headers=ADMIN).json()
    assert sorted(h["name"] for h in hosts["items"]) == ["app1", "app2", "db1"]  # switch neighbours joined


def test_the_switch_going_down_takes_everything_down(client: TestClient, estate: dict[str, str]) -> None:
    result = impact(client, estate["sw1"])
    assert states(result) == {
        "Interface:Gi0/1": "down",
        "Interface:Gi0/2": "down",
        "Interface:Gi0/3": "down",
        "Interface:eth0": "down",
        "LinuxHost:app1": "down",
        "LinuxHost:app2": "down",
        "LinuxHost:db1": "down",
        "IPAddress:10.50.0.11": "down",
        "IPAddress:10.50.0.12": "down",
        "IPAddress:10.50.0.21": "down",
        "ListeningService:app1:8080": "down",
        "ListeningService:app2:8080": "down",
        "ListeningService:db1:5432": "down",
        "Application:shop": "down",
        "BusinessService:web shop": "down",
    }
    assert [(s["name"], s["state"], s["criticality"]) for s in result["business_services"]] == [
        ("web shop", "down", "high")
    ]
    assert path_of(result, "app1") == [
        ("sw1", None, None),
        ("Gi0/1", "HAS_INTERFACE", "out"),
        ("eth0", "CONNECTED_TO", "out"),
        ("app1", "HAS_INTERFACE", "in"),
    ]
    assert result["by_class"]["LinuxHost"] == 3


def test_one_app_host_down_degrades_the_service(client: TestClient, estate: dict[str, str]) -> None:
    result = impact(client, estate["app1"])
    assert states(result) == {
        "Interface:eth0": "down",
        "Interface:Gi0/1": "down",  # the switch port loses its link; the switch itself does not go down
        "IPAddress:10.50.0.11": "down",
        "ListeningService:app1:8080": "down",
        "Application:shop": "degraded",
        "BusinessService:web shop": "degraded",
    }
    assert path_of(result, "web shop") == [
        ("app1", None, None),
        ("app1:8080", "RUNS_ON", "in"),
        ("shop", "MEMBER_OF", "out"),
        ("web shop", "DEPENDS_ON", "in"),
    ]


def test_both_app_hosts_down_together_take_the_service_down(client: TestClient, estate: dict[str, str]) -> None:
    result = post(client, "/api/v1/impact", {"uids": [estate["app1"], estate["app2"]]})
    assert states(result)["Application:shop"] == "down"
    assert states(result)["BusinessService:web shop"] == "down"
    assert "LinuxHost:db1" not in states(result)


def test_the_database_host_down_takes_the_service_down(client: TestClient, estate: dict[str, str]) -> None:
    result = impact(client, estate["db1"])
    assert states(result)["BusinessService:web shop"] == "down"
    assert path_of(result, "web shop") == [
        ("db1", None, None),
        ("db1:5432", "RUNS_ON", "in"),
        ("shop", "DEPENDS_ON", "in"),
        ("web shop", "DEPENDS_ON", "in"),
    ]
    assert "LinuxHost:app1" not in states(result)


def test_depth_bounds_the_walk_and_unknown_cis_are_404(client: TestClient, estate: dict[str, str]) -> None:
    shallow = client.get(f"/api/v1/cis/{estate['sw1']}/impact", params={"depth": 2}, headers=ADMIN).json()
    assert {i["depth"] for i in shallow["items"]} == {1, 2}
    assert "BusinessService:web shop" not in states(shallow)
    missing = client.get("/api/v1/cis/nope/impact", headers=ADMIN)
    assert missing.status_code == 404
    assert client.get(f"/api/v1/cis/{estate['sw1']}/impact", params={"depth": 0}, headers=ADMIN).status_code == 422


def test_curation_refuses_bad_input_by_field(client: TestClient, estate: dict[str, str]) -> None:
    cases = [
        ({"class": "Mainframe", "attributes": {"name": "x"}}, "class"),
        (
            {"class": "BusinessService", "attributes": {"criticality": "extreme", "name": "x"}},
            "attributes.criticality",
        ),
        ({"class": "BusinessService", "attributes": {"owner": "me"}}, "attributes"),
        ({"class": "Interface", "attributes": {"name": "eth9"}}, "parent_uid"),
    ]
    for body, field in cases:
        response = client.post("/api/v1/cis", json=body, headers=ADMIN)
        assert response.status_code == 422, body
        assert response.json()["error"]["fields"][0]["field"] == field
    duplicate = client.post("/api/v1/cis", json={"class": "Application", "attributes": {"name": "shop"}}, headers=ADMIN)
    assert duplicate.status_code == 409
    wrong_end = client.post(
        "/api/v1/relationships",
        json={"type": "RUNS_ON", "from_uid": estate["service"], "to_uid": estate["sw1"]},
        headers=ADMIN,
    )
    assert wrong_end.status_code == 422
    assert wrong_end.json()["error"]["fields"][0]["field"] == "from_uid"


def test_upstream_lists_what_a_service_depends_on(client: TestClient, estate: dict[str, str]) -> None:
    response = client.get(f"/api/v1/cis/{estate['service']}/impact", params={"direction": "up"}, headers=ADMIN)
    assert response.status_code == 200, response.text
    result = response.json()
    names = {i["name"] for i in result["items"]}
    assert {"shop", "app1", "app2", "db1", "db1:5432", "sw1"} <= names
    switch = next(i for i in result["items"] if i["name"] == "sw1")
    assert switch["path"][0]["name"] == "sw1"
    assert switch["path"][-1]["name"] == "web shop"
    assert result["direction"] == "up"
