"""Freeze windows protect business services: kept, edited and deleted; a release in one is not ready."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient

from tests.integration.test_changes import ADMIN, MONDAY, change, move


def freeze(client: TestClient, services: list[str], **extra: Any) -> Any:
    body = {
        "name": extra.pop("name", "year end"),
        "start": (MONDAY - timedelta(days=1)).isoformat(),
        "end": (MONDAY + timedelta(days=1)).isoformat(),
        "services": services,
        **extra,
    }
    return client.post("/api/v1/freeze-windows", json=body, headers=ADMIN)


def release(client: TestClient, targets: list[str], changes: list[str], hours: int = 4) -> dict[str, Any]:
    body = {
        "name": "shop",
        "version": "2.0",
        "targets": targets,
        "changes": changes,
        "window_start": MONDAY.isoformat(),
        "window_end": (MONDAY + timedelta(hours=hours)).isoformat(),
    }
    response = client.post("/api/v1/releases", json=body, headers=ADMIN)
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


def test_a_freeze_applies_to_business_services_and_is_listed_edited_and_deleted(
    client: TestClient, estate: dict[str, str]
) -> None:
    on_a_host = freeze(client, [estate["db1"]])
    assert on_a_host.status_code == 422
    assert on_a_host.json()["error"]["fields"][0]["field"] == "services"
    assert "LinuxHost" in on_a_host.json()["error"]["message"]
    created = freeze(client, [estate["service"]]).json()
    assert client.get("/api/v1/freeze-windows", headers=ADMIN).json()["items"][0]["id"] == created["id"]
    path = f"/api/v1/freeze-windows/{created['id']}"
    edited = client.patch(path, json={"name": "year-end freeze", "services": []}, headers=ADMIN).json()
    assert (edited["name"], [c for c in edited["cis"] if c["type"] == "APPLIES_TO"]) == ("year-end freeze", [])
    backwards = client.patch(path, json={"end": (MONDAY - timedelta(days=2)).isoformat()}, headers=ADMIN)
    assert (backwards.status_code, backwards.json()["error"]["fields"][0]["field"]) == (422, "end")
    assert client.delete(path, headers=ADMIN).json() == {"id": created["id"], "deleted": True}
    assert client.get(path, headers=ADMIN).status_code == 404
    assert client.delete(path, headers=ADMIN).status_code == 404
    history = client.get(f"{path}/history", headers=ADMIN).json()["items"]
    assert history[0]["kind"] == "deleted"


def test_a_release_in_a_freeze_or_beyond_its_changes_windows_is_not_ready(
    client: TestClient, estate: dict[str, str]
) -> None:
    inside = change(client, [estate["db1"]], MONDAY + timedelta(hours=1), type="standard")
    outside = change(client, [estate["db1"]], MONDAY + timedelta(hours=6), type="standard", title="late")
    for item in (inside, outside):
        move(client, item["id"], "submitted")
        move(client, item["id"], "approved")
    planned = release(client, [estate["db1"]], [inside["id"]])
    ready = client.get(f"/api/v1/releases/{planned['id']}/affected", headers=ADMIN).json()
    assert (ready["ready"], ready["readiness_problems"]) == (True, [])

    assert freeze(client, [estate["service"]]).status_code == 201
    both = release(client, [estate["db1"]], [inside["id"], outside["id"]])
    answer = client.get(f"/api/v1/releases/{both['id']}/affected", headers=ADMIN).json()
    assert answer["ready"] is False
    problems = answer["readiness_problems"]
    assert any(
        p.startswith(f"change {outside['id']} is planned") and "outside the release window" in p for p in problems
    )
    assert any("falls in freeze window year end" in p and "covering web shop" in p for p in problems)
