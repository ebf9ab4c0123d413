"""Changes on the impact estate: assessment, collisions, freezes, approval rules, history."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient

from schema import Role
from tests.integration.conftest import BOOTSTRAP_TOKEN, bearer

ADMIN = bearer(BOOTSTRAP_TOKEN)
MONDAY = datetime(2026, 12, 7, 20, 0, tzinfo=UTC)


def change(client: TestClient, targets: list[str], start: datetime, hours: int = 2, **extra: Any) -> dict[str, Any]:
    body = {
        "title": extra.pop("title", "patch"),
        "planned_start": start.isoformat(),
        "planned_end": (start + timedelta(hours=hours)).isoformat(),
        "targets": targets,
        **extra,
    }
    response = client.post("/api/v1/changes", json=body, headers=ADMIN)
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


def move(client: TestClient, change_id: str, to: str, headers: dict[str, str] = ADMIN) -> Any:
    return client.post(f"/api/v1/changes/{change_id}/transition", json={"to": to}, headers=headers)


def assess(client: TestClient, change_id: str) -> dict[str, Any]:
    response = client.post(f"/api/v1/changes/{change_id}/assessment", headers=ADMIN)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def test_two_overlapping_changes_behind_the_switch_collide_until_one_moves(
    client: TestClient,
    estate: dict[str, str],
) -> None:
    first = change(client, [estate["app1"]], MONDAY, title="kernel update app1")
    second = change(client, [estate["app2"]], MONDAY + timedelta(hours=1), title="kernel update app2")
    for item in (first, second):
        assert move(client, item["id"], "submitted").status_code == 200
    snapshot = assess(client, first["id"])
    assert [c["id"] for c in snapshot["collisions"]] == [second["id"]]
    shared = {s["name"] for s in snapshot["collisions"][0]["shared"]}
    assert {"shop", "web shop"} <= shared  # both degrade the same service
    assert snapshot["business_services"][0]["name"] == "web shop"
    assert any("collides with" in reason for reason in snapshot["risk"]["reasons"])
    stored = client.get(f"/api/v1/changes/{first['id']}", headers=ADMIN).json()
    assert stored["state"] == "assessed"
    assert stored["assessment"]["collisions"][0]["id"] == second["id"]

    moved = client.patch(
        f"/api/v1/changes/{second['id']}",
        json={
            "planned_start": (MONDAY + timedelta(days=2)).isoformat(),
            "planned_end": (MONDAY + timedelta(days=2, hours=2)).isoformat(),
        },
        headers=ADMIN,
    )
    assert moved.status_code == 200, moved.text
    assert assess(client, first["id"])["collisions"] == []


def test_a_change_inside_a_freeze_window_is_flagged(client: TestClient, estate: dict[str, str]) -> None:
    freeze = client.post(
        "/api/v1/freeze-windows",
        json={
            "name": "year end",
            "start": (MONDAY - timedelta(days=1)).isoformat(),
            "end": (MONDAY + timedelta(days=1)).isoformat(),
            "services": [estate["service"]],
        },
        headers=ADMIN,
    )
    assert freeze.status_code == 201, freeze.text
    inside = change(client, [estate["db1"]], MONDAY)
    outside = change(client, [estate["db1"]], MONDAY + timedelta(days=3))
    for item in (inside, outside):
        move(client, item["id"], "submitted")
    assert [f["name"] for f in assess(client, inside["id"])["freeze_conflicts"]] == ["year end"]
    assert assess(client, outside["id"])["freeze_conflicts"] == []


def test_a_normal_change_needs_a_current_assessment_and_a_change_manager(
    client: TestClient,
    estate: dict[str, str],
    make_token: Callable[[Role], str],
) -> None:
    item = change(client, [estate["db1"]], MONDAY)
    engineer = bearer(make_token(Role.ENGINEER))
    manager = bearer(make_token(Role.CHANGE_MANAGER))
    assert move(client, item["id"], "submitted", engineer).status_code == 200
    early = move(client, item["id"], "approved", manager)
    assert early.status_code == 409
    assert "needs a current assessment" in early.json()["error"]["message"]
    assess(client, item["id"])
    denied = move(client, item["id"], "approved", engineer)
    assert denied.status_code == 403
    client.patch(f"/api/v1/changes/{item['id']}", json={"title": "patch, reworded"}, headers=ADMIN)
    stale = move(client, item["id"], "approved", manager)
    assert stale.status_code == 409  # edited after its assessment
    assess(client, item["id"])
    assert move(client, item["id"], "approved", manager).json()["state"] == "approved"
    illegal = move(client, item["id"], "closed", manager)
    assert illegal.status_code == 409
    assert illegal.json()["error"]["fields"][0]["allowed"] == ["implementing", "cancelled"]
    for state in ("implementing", "implemented"):
        assert move(client, item["id"], state, engineer).status_code == 200
    done = client.post(
        f"/api/v1/changes/{item['id']}/transition",
        json={"to": "closed", "note": "patched, no reboot"},
        headers=engineer,
    )
    assert done.json()["result"] == "patched, no reboot"
    history = client.get(f"/api/v1/changes/{item['id']}/history", headers=ADMIN).json()
    states = [e["new"] for e in history["items"] if e.get("field") == "state"]
    assert states == ["closed", "implemented", "implementing", "approved", "assessed", "submitted"]
    approval = next(e for e in history["items"] if e.get("field") == "state" and e["new"] == "approved")
    assert approval["source"] == "user:test change_manager"


def test_a_standard_change_is_approved_without_assessment(client: TestClient, estate: dict[str, str]) -> None:
    item = change(client, [estate["app1"]], MONDAY, type="standard")
    move(client, item["id"], "submitted")
    assert move(client, item["id"], "approved").json()["state"] == "approved"


def test_the_change_list_sorts_by_a_field_of_changes_and_refuses_another(
    client: TestClient, estate: dict[str, str]
) -> None:
    later = change(client, [estate["app1"]], MONDAY + timedelta(days=1), title="b later")
    earlier = change(client, [estate["app2"]], MONDAY, title="c earlier")
    first = change(client, [estate["db1"]], MONDAY + timedelta(days=2), title="a first")

    def ids(sort: str) -> list[str]:
        response = client.get("/api/v1/changes", params={"sort": sort}, headers=ADMIN)
        assert response.status_code == 200, response.text
        return [c["id"] for c in response.json()["items"]]

    assert ids("title") == [first["id"], later["id"], earlier["id"]]
    assert ids("-planned_start") == [first["id"], later["id"], earlier["id"]]
    assert ids("planned_start") == [earlier["id"], later["id"], first["id"]]
    assert ids("-id")[0] == first["id"]
    refused = client.get("/api/v1/changes", params={"sort": "approvals"}, headers=ADMIN)
    assert refused.status_code == 422
    assert refused.json()["error"]["fields"][0]["field"] == "sort"


def test_bad_change_input_is_refused_by_field(client: TestClient, estate: dict[str, str]) -> None:
    cases = [
        (
            {
                "title": "x",
                "planned_start": MONDAY.isoformat(),
                "planned_end": MONDAY.isoformat(),
                "targets": [estate["db1"]],
            },
            "planned_end must be after planned_start",
        ),
        (
            {
                "title": "x",
                "planned_start": MONDAY.isoformat(),
                "planned_end": (MONDAY + timedelta(hours=1)).isoformat(),
                "targets": ["no-such-ci"],
            },
            "no CI with uid 'no-such-ci'",
        ),
        (
            {
                "title": "x",
                "planned_start": "2026-12-07T20:00:00",
                "planned_end": "2026-12-07T21:00:00",
                "targets": [estate["db1"]],
            },
            "time zone",
        ),
        (
            {
                "title": "x",
                "type": "urgent",
                "planned_start": MONDAY.isoformat(),
                "planned_end": (MONDAY + timedelta(hours=1)).isoformat(),
                "targets": [estate["db1"]],
            },
            "type",
        ),
    ]
    for body, fragment in cases:
        response = client.post("/api/v1/changes", json=body, headers=ADMIN)
        assert response.status_code == 422, body
        assert fragment in response.json()["error"]["message"]
    assert client.get("/api/v1/changes/CHG9999", headers=ADMIN).status_code == 404


def test_approval_pushes_back_on_a_risky_change_and_needs_the_approvers_the_rules_ask(
    client: TestClient, estate: dict[str, str], make_token: Callable[[Role], str]
) -> None:
    """The web shop made critical: a change taking its only database down is HIGH risk (a
    floor of schema/risk.toml), so approving needs an override reason and two approvers."""
    client.patch(f"/api/v1/cis/{estate['service']}", json={"attributes": {"criticality": "critical"}}, headers=ADMIN)
    plans: dict[str, Any] = {
        "implementation_plan": "1. stop\n2. upgrade",
        "backout_plan": "restore the snapshot",
        "test_plan": "login",
    }
    item = change(client, [estate["db1"]], MONDAY, **plans)
    assert {k: item[k] for k in plans} == plans
    move(client, item["id"], "submitted")
    snapshot = assess(client, item["id"])
    assert snapshot["risk"]["level"] == "high"
    assert "takes the critical business service web shop down: at least high" in snapshot["risk"]["reasons"]
    first, second = bearer(make_token(Role.CHANGE_MANAGER)), bearer(make_token(Role.CHANGE_MANAGER))
    path = f"/api/v1/changes/{item['id']}/approvals"

    refused = client.post(path, json={"decision": "approve"}, headers=first)
    assert refused.status_code == 409
    error = refused.json()["error"]
    assert error["fields"][0]["field"] == "override_reason"
    assert error["fields"][0]["reasons"][0].startswith("risk HIGH")
    reason = {"decision": "approve", "comment": "fine", "override_reason": "vendor fix for an outage"}
    once = client.post(path, json=reason, headers=first).json()
    assert (once["state"], once["approvals_needed"], once["approved_by"]) == ("assessed", 2, [])
    again = client.post(path, json=reason, headers=first).json()  # the same approver twice is one approver
    assert again["state"] == "assessed"
    done = client.post(path, json=reason, headers=second).json()
    assert done["state"] == "approved"
    assert len(done["approved_by"]) == 2
    assert [a["override_reason"] for a in done["approvals"]] == ["vendor fix for an outage"] * 3
    history = client.get(f"/api/v1/changes/{item['id']}/history", headers=ADMIN).json()["items"]
    decisions = [e["new"] for e in history if e.get("field") == "last_decision"]
    assert len(decisions) == 3
    assert "vendor fix for an outage" in str(decisions[0])


def test_targets_change_until_approval_and_make_the_assessment_and_approvals_stale(
    client: TestClient, estate: dict[str, str], make_token: Callable[[Role], str]
) -> None:
    item = change(client, [estate["app1"]], MONDAY)
    move(client, item["id"], "submitted")
    assess(client, item["id"])
    edited = client.patch(
        f"/api/v1/changes/{item['id']}", json={"targets": [estate["app1"], estate["app2"]]}, headers=ADMIN
    ).json()
    assert sorted(c["uid"] for c in edited["cis"] if c["type"] == "TARGETS") == sorted([estate["app1"], estate["app2"]])
    assert edited["assessment_current"] is False
    manager = bearer(make_token(Role.CHANGE_MANAGER))
    stale = client.post(f"/api/v1/changes/{item['id']}/approvals", json={"decision": "approve"}, headers=manager)
    assert stale.status_code == 409
    assert assess(client, item["id"])["affected"]["total"] > 0
    approved = client.post(f"/api/v1/changes/{item['id']}/approvals", json={"decision": "approve"}, headers=manager)
    assert approved.json()["state"] == "approved"
    late = client.patch(f"/api/v1/changes/{item['id']}", json={"targets": [estate["db1"]]}, headers=ADMIN)
    assert late.status_code == 409
    history = client.get(f"/api/v1/changes/{item['id']}/history", headers=ADMIN).json()["items"]
    assert any(e.get("field") == "targets" for e in history)


def test_one_rejection_rejects_a_change(client: TestClient, estate: dict[str, str]) -> None:
    item = change(client, [estate["app1"]], MONDAY)
    move(client, item["id"], "submitted")
    rejected = client.post(
        f"/api/v1/changes/{item['id']}/approvals", json={"decision": "reject", "comment": "no window"}, headers=ADMIN
    ).json()
    assert (rejected["state"], rejected["note"], rejected["approvals"][0]["decision"]) == (
        "rejected",
        "no window",
        "reject",
    )
