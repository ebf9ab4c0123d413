"""A business service's service level through the API: agreed, validated, kept in its history."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from schema import Role
from tests.integration.conftest import BOOTSTRAP_TOKEN, bearer
from tests.integration.estate import post

ADMIN = bearer(BOOTSTRAP_TOKEN)
LEVEL: dict[str, Any] = {
    "availability_target_percent": 99.9,
    "hours": "business_hours",
    "time_zone": "Europe/Paris",
    "holidays": ["2026-12-25", "2026-05-01"],
    "incident_targets": {"critical": {"response_minutes": 10, "resolution_minutes": 120}},
}


@pytest.fixture
def service(client: TestClient) -> str:
    uid: str = post(client, "/api/v1/cis", {"class": "BusinessService", "attributes": {"name": "web shop"}})["uid"]
    return uid


def put(client: TestClient, uid: str, body: dict[str, Any], headers: dict[str, str] = ADMIN) -> Any:
    return client.put(f"/api/v1/services/{uid}/service-level", json=body, headers=headers)


def test_without_a_service_level_a_service_is_measured_24x7_against_the_desks_targets(
    client: TestClient, service: str
) -> None:
    answer = client.get(f"/api/v1/services/{service}/service-level", headers=ADMIN).json()
    assert (answer["declared"], answer["availability_target_percent"], answer["service_hours"]) == (False, None, "24x7")
    assert answer["windows"] == [
        {"days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"], "start": "00:00", "end": "24:00"}
    ]
    targets = {
        t["priority"]: (t["response_minutes"], t["resolution_minutes"], t["agreed"]) for t in answer["incident_targets"]
    }
    assert targets == {  # schema/service_desk.toml [incident_targets]
        "critical": (15, 240, False),
        "high": (30, 480, False),
        "medium": (240, 2880, False),
        "low": (480, 7200, False),
    }


def test_a_service_level_is_agreed_and_its_changes_are_in_the_services_history(
    client: TestClient, service: str
) -> None:
    response = put(client, service, LEVEL)
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["declared"] is True
    assert answer["hours"] == "business_hours"
    assert answer["windows"] == [{"days": ["mon", "tue", "wed", "thu", "fri"], "start": "08:00", "end": "18:00"}]
    assert answer["holidays"] == ["2026-05-01", "2026-12-25"]
    assert answer["service_hours"] == "Mon-Fri 08:00-18:00 Europe/Paris, 2 holidays"
    critical, high = answer["incident_targets"][:2]
    assert (critical["response_minutes"], critical["resolution_minutes"], critical["agreed"]) == (10, 120, True)
    assert (high["response_minutes"], high["agreed"]) == (30, False)
    assert client.get(f"/api/v1/services/{service}/service-level", headers=ADMIN).json() == answer

    assert put(client, service, LEVEL).status_code == 200  # the same again: no new event
    own = {**LEVEL, "hours": [{"days": ["sat"], "start": "09:00", "end": "12:00"}], "holidays": []}
    assert put(client, service, own).json()["service_hours"] == "Sat 09:00-12:00 Europe/Paris"
    history = client.get(f"/api/v1/cis/{service}/history", headers=ADMIN).json()["items"]
    events = [e for e in history if e["kind"] == "service_level"]
    assert len(events) == 2
    newest, first = events
    assert first["old"] is None
    assert first["new"]["availability_target_percent"] == 99.9
    assert newest["old"] == first["new"]
    assert (newest["new"]["hours"], newest["new"]["windows"][0]["days"]) == (None, ["sat"])
    assert newest["source"].startswith("manual:")  # who agreed it
    # the level is no attribute of the CI
    assert "service_level" not in client.get(f"/api/v1/cis/{service}", headers=ADMIN).json()["attributes"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"time_zone": "Mars/Olympus"}, "time_zone"),
        ({"time_zone": "America"}, "time_zone"),  # a folder of the time zone database
        ({"time_zone": "../../etc/passwd"}, "time_zone"),
        ({"hours": "office"}, "hours"),
        ({"hours": [{"days": ["mon"], "start": "25:00", "end": "26:00"}]}, "hours.0.start"),
        ({"hours": [{"days": ["mon"], "start": "08:00", "end": "24:01"}]}, "hours.0.end"),
        ({"hours": [{"days": ["mon"], "start": "18:00", "end": "08:00"}]}, "hours.0.end"),
        ({"hours": [{"days": ["monday"], "start": "08:00", "end": "18:00"}]}, "hours.0.days"),
        (
            {
                "hours": [
                    {"days": ["mon"], "start": "08:00", "end": "12:00"},
                    {"days": ["mon"], "start": "11:00", "end": "13:00"},
                ]
            },
            "hours",
        ),
        ({"hours": []}, "hours"),
        ({"availability_target_percent": 100.5}, "availability_target_percent"),
        ({"availability_target_percent": -1}, "availability_target_percent"),
        ({"holidays": ["2026-12-25", "2026-12-25"]}, "holidays.1"),
        ({"incident_targets": {"p1": {"response_minutes": 1, "resolution_minutes": 2}}}, "incident_targets.p1.[key]"),
        (
            {"incident_targets": {"high": {"response_minutes": 0, "resolution_minutes": 2}}},
            "incident_targets.high.response_minutes",
        ),
        (
            {"incident_targets": {"critical": {"response_minutes": 100, "resolution_minutes": 20}}},
            "incident_targets.critical.resolution_minutes",
        ),
        ({"sla": 1}, "sla"),
    ],
)
def test_a_bad_service_level_is_422_naming_the_field(
    client: TestClient, service: str, change: dict[str, Any], field: str
) -> None:
    response = put(client, service, {**LEVEL, **change})
    assert response.status_code == 422, response.text
    assert response.json()["error"]["fields"][0]["field"] == field
    assert client.get(f"/api/v1/services/{service}/service-level", headers=ADMIN).json()["declared"] is False


def test_change_managers_agree_service_levels_engineers_and_viewers_read_them(
    client: TestClient, service: str, make_token: Callable[..., str]
) -> None:
    assert put(client, service, LEVEL, bearer(make_token(Role.ENGINEER))).status_code == 403
    assert put(client, service, LEVEL, bearer(make_token(Role.VIEWER))).status_code == 403
    assert put(client, service, LEVEL, bearer(make_token(Role.CHANGE_MANAGER))).status_code == 200
    viewer = client.get(f"/api/v1/services/{service}/service-level", headers=bearer(make_token(Role.VIEWER)))
    assert viewer.json()["availability_target_percent"] == 99.9


def test_only_a_business_service_has_a_service_level(client: TestClient) -> None:
    app = post(client, "/api/v1/cis", {"class": "Application", "attributes": {"name": "shop"}})["uid"]
    assert client.get(f"/api/v1/services/{app}/service-level", headers=ADMIN).status_code == 404
    response = put(client, app, LEVEL)
    assert response.status_code == 404
    assert response.json()["error"]["fields"][0]["field"] == "uid"
    assert client.get("/api/v1/services/nope/service-level", headers=ADMIN).status_code == 404
