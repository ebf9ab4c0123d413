"""Listing and reading CIs through the API, against the real graph."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.integration.conftest import BOOTSTRAP_TOKEN, SeedCI, bearer

AUTH = bearer(BOOTSTRAP_TOKEN)


def _list(client: TestClient, **params: Any) -> Any:
    response = client.get("/api/v1/cis", params=params, headers=AUTH)
    assert response.status_code == 200, response.text
    return response.json()


@pytest.fixture
def seven_hosts(seed_ci: SeedCI) -> list[str]:
    return [seed_ci("LinuxHost", name=f"host-{i:02d}", machine_id=f"m-{i}").uid for i in range(7)]


def test_pages_cover_every_ci_once_in_name_order(client: TestClient, seven_hosts: list[str]) -> None:
    seen: list[str] = []
    offset: int | None = 0
    pages = 0
    while offset is not None:
        page = _list(client, limit=3, offset=offset)
        assert page["total"] == 7
        assert page["limit"] == 3
        assert page["offset"] == offset
        seen += [ci["name"] for ci in page["items"]]
        offset = page["next_offset"]
        pages += 1
    assert pages == 3
    assert seen == [f"host-{i:02d}" for i in range(7)]


def test_an_offset_past_the_end_is_an_empty_last_page(client: TestClient, seven_hosts: list[str]) -> None:
    page = _list(client, limit=5, offset=10)
    assert page["items"] == []
    assert page["total"] == 7
    assert page["next_offset"] is None


def test_filter_by_class_includes_subclasses(client: TestClient, seed_ci: SeedCI) -> None:
    linux = seed_ci("LinuxHost", name="web1", machine_id="m-1")
    seed_ci("Switch", name="core-sw1", serial="FOC123", vendor="Cisco")
    seed_ci("Application", name="payroll")
    hosts = _list(client, **{"class": "Host"})
    assert [ci["uid"] for ci in hosts["items"]] == [linux.uid]
    assert hosts["items"][0]["class"] == "LinuxHost"
    assert hosts["items"][0]["labels"] == ["CI", "Host", "LinuxHost"]
    assert [ci["name"] for ci in _list(client, **{"class": "NetworkDevice"})["items"]] == ["core-sw1"]
    assert _list(client, **{"class": "Router"})["total"] == 0
    assert _list(client)["total"] == 3


def test_filter_by_name_substring_ignores_case(client: TestClient, seed_ci: SeedCI) -> None:
    seed_ci("Application", name="Payroll")
    seed_ci("Application", name="payroll-reports")
    seed_ci("Application", name="web shop")
    assert [ci["name"] for ci in _list(client, name="PAYROLL")["items"]] == ["Payroll", "payroll-reports"]


def test_filter_by_status(client: TestClient, seed_ci: SeedCI) -> None:
    seed_ci("Application", name="payroll")
    assert _list(client, status="active")["total"] == 1
    assert _list(client, status="retired")["total"] == 0


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"class": "Mainframe"}, "class"),
        ({"status": "broken"}, "status"),
        ({"limit": 0}, "limit"),
        ({"limit": 501}, "limit"),
        ({"offset": -1}, "offset"),
        ({"limit": "ten"}, "limit"),
    ],
)
def test_bad_query_parameters_are_422_naming_the_field(client: TestClient, params: dict[str, Any], field: str) -> None:
    response = client.get("/api/v1/cis", params=params, headers=AUTH)
    assert response.status_code == 422
    error = response.json()["error"]
    assert [f["field"] for f in error["fields"]] == [field]
    assert field in error["message"]


def test_one_ci_by_uid_with_its_attributes(client: TestClient, seed_ci: SeedCI) -> None:
    host = seed_ci("LinuxHost", name="web1", machine_id="m-1", cpu_cores=4, boot_time="2026-11-27T03:00:00Z")
    eth0 = seed_ci("Interface", parent_uid=host.uid, name="eth0", mtu=1500, oper_status="up")
    response = client.get(f"/api/v1/cis/{eth0.uid}", headers=AUTH)
    assert response.status_code == 200
    body = response.json()
    assert body["class"] == "Interface"
    assert body["parent_uid"] == host.uid
    assert body["status"] == "active"
    assert body["attributes"] == {"name": "eth0", "mtu": 1500, "oper_status": "up"}
    host_body = client.get(f"/api/v1/cis/{host.uid}", headers=AUTH).json()
    assert host_body["attributes"]["cpu_cores"] == 4
    assert host_body["attributes"]["boot_time"].startswith("2026-11-27T03:00:00")


def test_an_unknown_uid_is_404_with_a_message(client: TestClient) -> None:
    response = client.get("/api/v1/cis/does-not-exist", headers=AUTH)
    assert response.status_code == 404
    assert response.json()["error"]["message"] == "no CI with uid 'does-not-exist'"


def test_an_unknown_path_is_a_json_404(client: TestClient) -> None:
    response = client.get("/api/v1/nothing-here", headers=AUTH)
    assert response.status_code == 404
    assert response.json()["error"]["status"] == 404
