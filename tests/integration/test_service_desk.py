"""The service desk's daily work: priority from a matrix, assignment, problems, lists that filter and page."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient

from tests.integration.conftest import BOOTSTRAP_TOKEN, bearer
from tests.integration.estate import post

ADMIN = bearer(BOOTSTRAP_TOKEN)


def incident(client: TestClient, affected: list[str], **fields: Any) -> dict[str, Any]:
    return post(client, "/api/v1/incidents", {"title": fields.pop("title", "slow"), "affected": affected, **fields})


def test_priority_comes_from_impact_and_urgency_and_follows_their_edits(
    client: TestClient, estate: dict[str, str]
) -> None:
    opened = incident(client, [estate["db1"]], impact="high", urgency="high", support_group="dba")
    assert (opened["priority"], opened["impact"], opened["urgency"], opened["support_group"]) == (
        "critical",
        "high",
        "high",
        "dba",
    )
    path = f"/api/v1/incidents/{opened['id']}"
    eased = client.patch(path, json={"urgency": "low", "assignee": "alice"}, headers=ADMIN).json()
    assert (eased["priority"], eased["assignee"]) == ("medium", "alice")
    history = client.get(f"{path}/history", headers=ADMIN).json()["items"]
    assert {(e["field"], e["new"]) for e in history if e.get("field") in ("priority", "assignee")} == {
        ("priority", "medium"),
        ("assignee", "alice"),
    }
    half = client.post(
        "/api/v1/incidents", json={"title": "x", "affected": [estate["db1"]], "impact": "high"}, headers=ADMIN
    )
    assert half.status_code == 422
    both = {"title": "x", "affected": [estate["db1"]], "impact": "low", "urgency": "low", "priority": "critical"}
    assert client.post("/api/v1/incidents", json=both, headers=ADMIN).status_code == 422


def test_an_incident_cannot_open_in_the_future(client: TestClient, estate: dict[str, str]) -> None:
    later = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    response = client.post(
        "/api/v1/incidents", json={"title": "x", "affected": [estate["db1"]], "opened_at": later}, headers=ADMIN
    )
    assert response.status_code == 422
    assert response.json()["error"]["fields"][0]["field"] == "opened_at"


def test_an_incident_is_linked_to_a_problem_after_it_opened_and_the_problem_lists_it(
    client: TestClient, estate: dict[str, str]
) -> None:
    first = incident(client, [estate["db1"]], title="db slow")
    problem = post(client, "/api/v1/problems", {"title": "disk latency", "suspects": [estate["db1"]]})
    linked = client.patch(f"/api/v1/incidents/{first['id']}", json={"problem": problem["id"]}, headers=ADMIN).json()
    assert [r for r in linked["records"] if r["type"] == "INSTANCE_OF"] == [
        {"type": "INSTANCE_OF", "id": problem["id"]}
    ]
    missing = client.patch(f"/api/v1/incidents/{first['id']}", json={"problem": "PRB9999"}, headers=ADMIN)
    assert (missing.status_code, missing.json()["error"]["fields"][0]["field"]) == (422, "problem")
    known = {"root_cause": "a failing disk in the array", "workaround": "move the hot tables"}
    edited = client.patch(f"/api/v1/problems/{problem['id']}", json=known, headers=ADMIN).json()
    assert {k: edited[k] for k in known} == known
    client.post(f"/api/v1/problems/{problem['id']}/transition", json={"to": "known_error"}, headers=ADMIN)
    shown = client.get(f"/api/v1/problems/{problem['id']}", headers=ADMIN).json()
    assert (shown["known_error"], shown["root_cause"]) == (True, "a failing disk in the array")
    assert [i["id"] for i in shown["incidents"]] == [first["id"]]


def test_lists_of_incidents_problems_releases_and_changes_filter_and_page(
    client: TestClient, estate: dict[str, str]
) -> None:
    for n in range(5):
        incident(client, [estate["app1" if n % 2 else "db1"]], title=f"i{n}", priority="high" if n < 2 else "low")
    page = client.get("/api/v1/incidents", params={"limit": 2}, headers=ADMIN).json()
    assert ([i["title"] for i in page["items"]], page["total"], page["next_offset"]) == (["i0", "i1"], 5, 2)
    last = client.get("/api/v1/incidents", params={"limit": 2, "offset": 4}, headers=ADMIN).json()
    assert ([i["title"] for i in last["items"]], last["next_offset"]) == (["i4"], None)
    high = client.get("/api/v1/incidents", params={"priority": "high"}, headers=ADMIN).json()
    assert [i["title"] for i in high["items"]] == ["i0", "i1"]
    on_db = client.get("/api/v1/incidents", params={"ci": estate["db1"], "status": "new"}, headers=ADMIN).json()
    assert [i["title"] for i in on_db["items"]] == ["i0", "i2", "i4"]
    assert client.get("/api/v1/incidents", params={"status": "open"}, headers=ADMIN).status_code == 422
    post(client, "/api/v1/problems", {"title": "p", "suspects": [estate["db1"]]})
    assert client.get("/api/v1/problems", params={"ci": estate["db1"]}, headers=ADMIN).json()["total"] == 1
    assert client.get("/api/v1/problems", params={"ci": estate["app1"]}, headers=ADMIN).json()["total"] == 0
    start = datetime.now(UTC) + timedelta(days=2)
    window = {"window_start": start.isoformat(), "window_end": (start + timedelta(hours=2)).isoformat()}
    post(client, "/api/v1/releases", {"name": "shop", "version": "2", "targets": [estate["app1"]], **window})
    releases = client.get("/api/v1/releases", params={"state": "planned"}, headers=ADMIN).json()
    assert [r["version"] for r in releases["items"]] == ["2"]
    changes = client.get("/api/v1/changes", params={"type": "normal", "limit": 10}, headers=ADMIN).json()
    assert (changes["total"], changes["items"]) == (0, [])
