"""Curation against the real graph: locks against discovery and drift, retire and delete,
the CI as it was at a past time and what changed between two times."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from fastapi.testclient import TestClient

from schema import Role
from tests.integration.conftest import BOOTSTRAP_TOKEN, bearer
from tests.integration.test_ingest import again, host_report, send

ADMIN = bearer(BOOTSTRAP_TOKEN)


def _host(client: TestClient) -> tuple[str, dict[str, Any]]:
    """An agent-reported host: its uid and the report (to send again)."""
    report = host_report(hostname="web1")
    response = send(client, report)
    assert response.status_code == 200, response.text
    return response.json()["cis"]["host"], report


def _ci(client: TestClient, uid: str, **params: Any) -> httpx.Response:
    response: httpx.Response = client.get(f"/api/v1/cis/{uid}", params=params, headers=ADMIN)
    return response


def _history(client: TestClient, uid: str) -> list[dict[str, Any]]:
    response = client.get(f"/api/v1/cis/{uid}/history", params={"limit": 500}, headers=ADMIN)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def _error_field(response: httpx.Response) -> str:
    return str(response.json()["error"]["fields"][0]["field"])


def test_a_hand_edit_locks_the_attribute_and_discovery_records_drift(client: TestClient) -> None:
    uid, report = _host(client)
    edited = client.patch(f"/api/v1/cis/{uid}", json={"attributes": {"name": "payroll-db-1"}}, headers=ADMIN)
    assert edited.status_code == 200, edited.text
    assert set(edited.json()["locks"]) == {"name"}
    # The agent's name differed from the locked one before the edit: drift from the start.
    assert edited.json()["drift"]["name"]["value"] == "web1"
    assert edited.json()["drift"]["name"]["source"] == "agent"

    # The agent reports again, with a new name and a change elsewhere.
    later = again(report)
    later["records"][0]["attributes"] |= {"name": "web1-renamed", "cpu_cores": 8}
    assert send(client, later).status_code == 200
    ci = _ci(client, uid).json()
    assert ci["name"] == "payroll-db-1"
    assert ci["attributes"]["name"] == "payroll-db-1"
    assert ci["attributes"]["cpu_cores"] == 8  # unlocked attributes follow discovery
    assert ci["drift"]["name"]["value"] == "web1-renamed"
    drift_events = [e for e in _history(client, uid) if e["kind"] == "drift"]
    assert [(e["field"], e["old"], e["new"]) for e in drift_events] == [("name", "payroll-db-1", "web1-renamed")]

    # The same disagreement again, in a report that changed elsewhere, is not news.
    same_name = again(later)
    same_name["records"][0]["attributes"]["cpu_cores"] = 12
    assert send(client, same_name).status_code == 200
    assert len([e for e in _history(client, uid) if e["kind"] == "drift"]) == 1

    # Unlocked, the attribute takes what discovery saw.
    unlocked = client.delete(f"/api/v1/cis/{uid}/locks/name", headers=ADMIN)
    assert unlocked.status_code == 200, unlocked.text
    assert unlocked.json()["name"] == "web1-renamed"
    assert unlocked.json()["locks"] == {}
    assert unlocked.json()["drift"] == {}


def test_discovery_agreeing_with_a_locked_value_clears_the_drift(client: TestClient) -> None:
    uid, report = _host(client)
    assert client.put(f"/api/v1/cis/{uid}/locks/description", headers=ADMIN).status_code == 200
    later = again(report)
    later["records"][0]["attributes"]["description"] = "seen by the agent"
    send(client, later)
    assert _ci(client, uid).json()["drift"]["description"]["value"] == "seen by the agent"
    latest = again(later)
    del latest["records"][0]["attributes"]["description"]
    latest["records"][0]["attributes"]["cpu_cores"] = 16
    send(client, latest)
    # Not reporting the attribute says nothing about it: the drift stays.
    assert "description" in _ci(client, uid).json()["drift"]
    client.patch(f"/api/v1/cis/{uid}", json={"attributes": {"description": "seen by the agent"}}, headers=ADMIN)
    agreeing = again(latest)
    agreeing["records"][0]["attributes"] |= {"description": "seen by the agent", "cpu_cores": 2}
    send(client, agreeing)
    assert _ci(client, uid).json()["drift"] == {}


def test_lock_and_unlock_errors(client: TestClient, make_token: Callable[[Role], str]) -> None:
    uid, _ = _host(client)
    missing = client.put("/api/v1/cis/no-such-uid/locks/name", headers=ADMIN)
    assert missing.status_code == 404
    assert _error_field(missing) == "uid"
    not_lockable = client.put(f"/api/v1/cis/{uid}/locks/cpu_cores", headers=ADMIN)
    assert not_lockable.status_code == 422
    assert _error_field(not_lockable) == "attribute"
    assert "lockable" in not_lockable.json()["error"]["message"]
    assert client.put(f"/api/v1/cis/{uid}/locks/name", headers=ADMIN).status_code == 200
    twice = client.put(f"/api/v1/cis/{uid}/locks/name", headers=ADMIN)
    assert twice.status_code == 409
    agent = bearer(make_token(Role.AGENT))
    assert client.put(f"/api/v1/cis/{uid}/locks/description", headers=agent).status_code == 403
    assert client.delete(f"/api/v1/cis/{uid}/locks/name", headers=agent).status_code == 403
    assert client.delete(f"/api/v1/cis/{uid}/locks/description", headers=ADMIN).status_code == 404
    assert client.delete(f"/api/v1/cis/{uid}/locks/name", headers=ADMIN).status_code == 200


def test_delete_retires_with_a_reason_and_only_an_admin_deletes_for_good(
    client: TestClient, make_token: Callable[[Role], str]
) -> None:
    uid, _ = _host(client)
    engineer = bearer(make_token(Role.ENGINEER))
    no_reason = client.delete(f"/api/v1/cis/{uid}", headers=engineer)
    assert no_reason.status_code == 422
    assert _error_field(no_reason) == "reason"
    assert client.delete("/api/v1/cis/nope", params={"reason": "x"}, headers=engineer).status_code == 404
    retired = client.delete(f"/api/v1/cis/{uid}", params={"reason": "decommissioned, CHG-12"}, headers=engineer)
    assert retired.status_code == 200, retired.text
    assert _ci(client, uid).json()["status"] == "retired"
    status_events = [e for e in _history(client, uid) if e["kind"] == "status"]
    assert status_events[0]["new"] == "retired"
    assert status_events[0]["reason"] == "decommissioned, CHG-12"
    again_retired = client.delete(f"/api/v1/cis/{uid}", params={"reason": "again"}, headers=engineer)
    assert again_retired.status_code == 409

    hard = {"reason": "created by mistake", "hard": "true"}
    forbidden = client.delete(f"/api/v1/cis/{uid}", params=hard, headers=engineer)
    assert forbidden.status_code == 403
    assert _error_field(forbidden) == "hard"
    deleted = client.delete(f"/api/v1/cis/{uid}", params=hard, headers=ADMIN)
    assert deleted.status_code == 200, deleted.text
    assert deleted.json()["cis_removed"] == 2  # the host and its interface, identified through it
    assert deleted.json()["edges_removed"] == 3  # to its interface and its two packages
    assert _ci(client, uid).status_code == 404
    packages = client.get("/api/v1/cis", params={"class": "SoftwarePackage"}, headers=ADMIN).json()
    assert packages["total"] == 2  # shared CIs other hosts may use stay
    gone = _ci(client, uid)
    assert _error_field(gone) == "uid"
    assert "deleted" in gone.json()["error"]["message"]
    assert "created by mistake" in gone.json()["error"]["message"]
    history = _history(client, uid)  # the CI is gone; its history stays and answers
    assert [e["kind"] for e in history[:1]] == ["deleted"]
    assert history[0]["new"] == {"reason": "created by mistake"}
    assert history[0]["source"].startswith("manual:")
    assert history[0]["at"][:19] in gone.json()["error"]["message"]  # when, to the second
    assert history[-1]["kind"] == "created"


def _pause() -> datetime:
    """A time strictly between two writes."""
    time.sleep(0.02)
    moment = datetime.now(UTC)
    time.sleep(0.02)
    return moment


def test_a_hard_delete_ends_the_removed_relations_in_the_history_of_the_ci_each_starts_from(
    client: TestClient,
) -> None:
    uid, _ = _host(client)
    apps = {}
    for name in ("payroll", "ledger"):
        app = client.post("/api/v1/cis", json={"class": "Application", "attributes": {"name": name}}, headers=ADMIN)
        apps[name] = app.json()["uid"]
        runs_on = {"type": "RUNS_ON", "from_uid": apps[name], "to_uid": uid}
        assert client.post("/api/v1/relationships", json=runs_on, headers=ADMIN).status_code == 201
    moved = {"type": "RUNS_ON", "from_uid": apps["ledger"], "to_uid": uid}
    assert client.delete("/api/v1/relationships", params=moved, headers=ADMIN).status_code == 200  # ended before

    deleted = client.delete(f"/api/v1/cis/{uid}", params={"reason": "a duplicate", "hard": "true"}, headers=ADMIN)
    assert deleted.status_code == 200, deleted.text
    assert deleted.json()["edges_removed"] == 5  # its interface, two packages, two applications (one ended)

    gone = _history(client, uid)[0]
    payroll = [e for e in _history(client, apps["payroll"]) if e["kind"].startswith("relation_")]
    assert [(e["kind"], e["field"], e["old"]) for e in payroll] == [
        ("relation_ended", "RUNS_ON", {"to": uid}),
        ("relation_started", "RUNS_ON", None),
    ]
    assert (payroll[0]["at"], payroll[0]["source"]) == (gone["at"], gone["source"])
    ledger = [e["kind"] for e in _history(client, apps["ledger"]) if e["kind"].startswith("relation_")]
    assert ledger == ["relation_ended", "relation_started"]  # ended once, by hand, not again
    # The deleted host's own edges end in its history too.
    own = sorted(e["field"] for e in _history(client, uid) if e["kind"] == "relation_ended")
    assert own == ["HAS_INTERFACE", "INSTALLED", "INSTALLED"]


def _payroll_edited_once(client: TestClient) -> tuple[str, datetime, datetime]:
    """An application made by hand (description v1), then edited (v2, owner hr): its uid, a
    time between creation and edit, and a time after the edit."""
    created = client.post(
        "/api/v1/cis",
        json={"class": "Application", "attributes": {"name": "payroll", "description": "v1"}},
        headers=ADMIN,
    )
    assert created.status_code == 201, created.text
    uid = created.json()["uid"]
    t1 = _pause()
    client.patch(f"/api/v1/cis/{uid}", json={"attributes": {"description": "v2", "owner": "hr"}}, headers=ADMIN)
    return uid, t1, _pause()


def test_a_hard_deleted_ci_answers_its_history_its_past_states_and_diffs(client: TestClient) -> None:
    uid, t1, t2 = _payroll_edited_once(client)
    deleted = client.delete(f"/api/v1/cis/{uid}", params={"reason": "a duplicate", "hard": "true"}, headers=ADMIN)
    assert deleted.status_code == 200, deleted.text
    t3 = _pause()

    kinds = [e["kind"] for e in _history(client, uid)]
    assert (kinds[0], kinds.count("attribute"), kinds[-1]) == ("deleted", 2, "created")
    then = _ci(client, uid, at=t1.isoformat())
    assert then.status_code == 200, then.text
    assert (then.json()["class"], then.json()["status"]) == ("Application", "active")
    assert then.json()["attributes"] == {"name": "payroll", "description": "v1"}
    assert _ci(client, uid, at=t2.isoformat()).json()["attributes"] == {
        "name": "payroll",
        "description": "v2",
        "owner": "hr",
    }
    after = _ci(client, uid, at=t3.isoformat())
    assert after.status_code == 404
    assert _error_field(after) == "at"
    assert "deleted" in after.json()["error"]["message"]
    naive = _ci(client, uid, at="2026-01-01T00:00:00")
    assert naive.status_code == 422
    assert _error_field(naive) == "at"

    def diff(**params: str) -> dict[str, Any]:
        response = client.get(f"/api/v1/cis/{uid}/diff", params=params, headers=ADMIN)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    assert diff(**{"from": t1.isoformat(), "to": t2.isoformat()})["changes"] == [
        {"field": "description", "from": "v1", "to": "v2"},
        {"field": "owner", "from": None, "to": "hr"},
    ]
    until_now = diff(**{"from": t2.isoformat()})
    assert until_now["existed"] == {"from": True, "to": False}
    assert {c["field"]: c["to"] for c in until_now["changes"]} == {
        "class": None,
        "status": None,
        "name": None,
        "description": None,
        "owner": None,
    }
    assert diff(**{"from": t3.isoformat()})["changes"] == []
    assert client.get(f"/api/v1/cis/{uid}/relationships", headers=ADMIN).status_code == 404  # its edges are gone
    assert client.get("/api/v1/cis/never-was/history", headers=ADMIN).status_code == 404


def test_the_ci_as_it_was_at_three_times_and_the_diff_between_them(client: TestClient) -> None:
    before_creation = _pause()
    uid, t1, t2 = _payroll_edited_once(client)
    client.patch(f"/api/v1/cis/{uid}", json={"attributes": {"description": "v3", "owner": None}}, headers=ADMIN)
    client.delete(f"/api/v1/cis/{uid}", params={"reason": "replaced"}, headers=ADMIN)
    t3 = _pause()

    def at(moment: datetime) -> dict[str, Any]:
        response = _ci(client, uid, at=moment.isoformat())
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    assert at(t1)["attributes"] == {"name": "payroll", "description": "v1"}
    assert at(t2)["attributes"] == {"name": "payroll", "description": "v2", "owner": "hr"}
    assert at(t3)["attributes"] == {"name": "payroll", "description": "v3"}
    assert (at(t1)["status"], at(t3)["status"]) == ("active", "retired")
    gone = _ci(client, uid, at=before_creation.isoformat())
    assert gone.status_code == 404
    assert _error_field(gone) == "at"

    def diff(since: datetime, until: datetime | None = None) -> list[dict[str, Any]]:
        params = {"from": since.isoformat()} | ({"to": until.isoformat()} if until else {})
        response = client.get(f"/api/v1/cis/{uid}/diff", params=params, headers=ADMIN)
        assert response.status_code == 200, response.text
        changes: list[dict[str, Any]] = response.json()["changes"]
        return changes

    assert diff(t1, t2) == [
        {"field": "description", "from": "v1", "to": "v2"},
        {"field": "owner", "from": None, "to": "hr"},
    ]
    assert diff(t1, t3) == [
        {"field": "status", "from": "active", "to": "retired"},
        {"field": "description", "from": "v1", "to": "v3"},
    ]
    assert diff(t3) == []
    assert [c["field"] for c in diff(before_creation, t1)] == ["class", "status", "description", "name"]

    naive = client.get(f"/api/v1/cis/{uid}", params={"at": "2026-01-01T00:00:00"}, headers=ADMIN)
    assert naive.status_code == 422
    assert _error_field(naive) == "at"
    backwards = client.get(
        f"/api/v1/cis/{uid}/diff", params={"from": t2.isoformat(), "to": t1.isoformat()}, headers=ADMIN
    )
    assert backwards.status_code == 422
    assert _error_field(backwards) == "to"
    assert client.get("/api/v1/cis/nope/diff", params={"from": t1.isoformat()}, headers=ADMIN).status_code == 404
    assert client.get(f"/api/v1/cis/{uid}/diff", headers=ADMIN).status_code == 422
    assert (t3 - before_creation) < timedelta(minutes=1)
