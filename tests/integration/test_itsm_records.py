"""Incidents, problems, releases and the ISO/IEC 20000 evidence reports on the impact estate."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient

from tests.integration.conftest import BOOTSTRAP_TOKEN, bearer
from tests.integration.estate import agent_report, post

ADMIN = bearer(BOOTSTRAP_TOKEN)


def drift(client: TestClient, hostname: str, **attributes: Any) -> None:
    """The host's agent reports again with some attributes changed."""
    report = agent_report(hostname)
    report["records"][0]["attributes"].update(attributes)
    post(client, "/api/v1/reports", report)


def unauthorised(client: TestClient, since: datetime) -> list[dict[str, Any]]:
    response = client.get("/api/v1/reports/unauthorised-changes", params={"since": since.isoformat()}, headers=ADMIN)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def test_a_change_no_approved_change_covers_is_unauthorised(client: TestClient, estate: dict[str, str]) -> None:
    since = datetime.now(UTC)
    drift(client, "app1", kernel="6.1.0-27")
    found = unauthorised(client, since)
    assert [(i["ci"]["name"], i["field"], i["new"], i["source"]) for i in found] == [
        ("app1", "kernel", "6.1.0-27", "agent:app1")
    ]
    now = datetime.now(UTC)
    change = post(
        client,
        "/api/v1/changes",
        {
            "title": "kernel update",
            "type": "standard",
            "targets": [estate["app1"]],
            "planned_start": now.isoformat(),  # after the first drift: it does not cover it
            "planned_end": (now + timedelta(hours=1)).isoformat(),
        },
    )
    for state in ("submitted", "approved", "implementing"):
        post(client, f"/api/v1/changes/{change['id']}/transition", {"to": state})
    drift(client, "app1", kernel="6.1.0-28")
    found = unauthorised(client, since)
    assert [i["new"] for i in found] == ["6.1.0-27"]  # the second one is covered by the change


def test_incident_suspects_are_upstream_changes_before_it_opened(client: TestClient, estate: dict[str, str]) -> None:
    built = datetime.now(UTC)  # before this, the estate was being built: not the incident's cause
    drift(client, "db1", kernel="6.1.0-99")
    change = post(
        client,
        "/api/v1/changes",
        {
            "title": "app2 config",
            "targets": [estate["app2"]],
            "planned_start": built.isoformat(),
            "planned_end": (built + timedelta(hours=1)).isoformat(),
        },
    )
    incident = post(
        client, "/api/v1/incidents", {"title": "shop is slow", "priority": "high", "affected": [estate["service"]]}
    )
    window = (datetime.fromisoformat(incident["opened_at"]) - built).total_seconds() / 3600
    response = client.get(f"/api/v1/incidents/{incident['id']}/suspects", params={"hours": window}, headers=ADMIN)
    assert response.status_code == 200, response.text
    suspects = response.json()["suspects"]
    by_name = {s["name"]: s for s in suspects}
    assert set(by_name) == {"db1", "app2"}
    db1 = by_name["db1"]
    assert [e["field"] for e in db1["events"]] == ["kernel"]
    assert [step["name"] for step in db1["path"]] == ["db1", "db1:5432", "shop", "web shop"]
    assert [c["id"] for c in by_name["app2"]["changes"]] == [change["id"]]


def test_incident_suspects_show_the_values_as_the_history_does(client: TestClient, estate: dict[str, str]) -> None:
    drift(client, "db1", kernel="6.1.0-27-amd64")
    built = datetime.now(UTC)
    drift(client, "db1", kernel="6.1.0-28-amd64")
    incident = post(client, "/api/v1/incidents", {"title": "db is slow", "affected": [estate["db1"]]})
    window = (datetime.fromisoformat(incident["opened_at"]) - built).total_seconds() / 3600
    response = client.get(f"/api/v1/incidents/{incident['id']}/suspects", params={"hours": window}, headers=ADMIN)
    assert response.status_code == 200, response.text
    (db1,) = response.json()["suspects"]
    assert [(e["field"], e["old"], e["new"]) for e in db1["events"]] == [("kernel", "6.1.0-27-amd64", "6.1.0-28-amd64")]
    history = client.get(f"/api/v1/cis/{estate['db1']}/history", headers=ADMIN).json()["items"]
    assert db1["events"][0]["new"] == next(e["new"] for e in history if e["field"] == "kernel")


def test_problems_gather_incidents_and_become_known_errors(client: TestClient, estate: dict[str, str]) -> None:
    problem = post(client, "/api/v1/problems", {"title": "db connections exhausted", "suspects": [estate["db1"]]})
    incident = post(
        client,
        "/api/v1/incidents",
        {"title": "checkout fails", "affected": [estate["service"]], "problem": problem["id"]},
    )
    fetched = client.get(f"/api/v1/problems/{problem['id']}", headers=ADMIN).json()
    assert [i["id"] for i in fetched["incidents"]] == [incident["id"]]
    assert [c["name"] for c in fetched["cis"]] == ["db1"]
    known = post(client, f"/api/v1/problems/{problem['id']}/transition", {"to": "known_error"})
    assert known["known_error"] is True
    illegal = client.post(f"/api/v1/problems/{problem['id']}/transition", json={"to": "open"}, headers=ADMIN)
    assert illegal.status_code == 409
    assert illegal.json()["error"]["fields"][0]["allowed"] == ["resolved"]
    resolved = post(
        client, f"/api/v1/incidents/{incident['id']}/transition", {"to": "resolved", "note": "pool size raised"}
    )
    assert resolved["note"] == "pool size raised"
    assert resolved["status"] == "resolved"
    assert resolved["resolved_at"] is not None
    bad = client.post("/api/v1/incidents", json={"title": "x", "affected": ["nope"]}, headers=ADMIN)
    assert bad.status_code == 422
    assert bad.json()["error"]["fields"][0]["field"] == "affected"


def test_a_release_shows_what_it_touches_and_why_it_is_not_ready(client: TestClient, estate: dict[str, str]) -> None:
    now = datetime.now(UTC)
    change = post(
        client,
        "/api/v1/changes",
        {
            "title": "deploy shop 2.0 on app1",
            "type": "standard",
            "targets": [estate["app1"]],
            "planned_start": (now + timedelta(days=1)).isoformat(),
            "planned_end": (now + timedelta(days=1, hours=1)).isoformat(),
        },
    )
    release = post(
        client,
        "/api/v1/releases",
        {
            "name": "shop",
            "version": "2.0",
            "changes": [change["id"]],
            "targets": [estate["app1"]],
            "window_start": (now + timedelta(days=1)).isoformat(),
            "window_end": (now + timedelta(days=1, hours=2)).isoformat(),
        },
    )
    affected = client.get(f"/api/v1/releases/{release['id']}/affected", headers=ADMIN).json()
    assert [(s["name"], s["state"]) for s in affected["business_services"]] == [("web shop", "degraded")]
    assert affected["ready"] is False
    assert affected["readiness_problems"] == [f"change {change['id']} is draft, not approved"]
    for state in ("submitted", "approved"):
        post(client, f"/api/v1/changes/{change['id']}/transition", {"to": state})
    assert client.get(f"/api/v1/releases/{release['id']}/affected", headers=ADMIN).json()["ready"] is True
    assert post(client, f"/api/v1/releases/{release['id']}/transition", {"to": "approved"})["state"] == "approved"


def test_the_configuration_audit(client: TestClient, estate: dict[str, str]) -> None:
    for machine_id in ("mid-ghost-1", "mid-ghost-2"):
        post(
            client,
            "/api/v1/reports",
            {
                "version": 1,
                "report_id": machine_id,
                "source": {"kind": "ssh", "name": f"c@{machine_id}"},
                "collected_at": datetime.now(UTC).isoformat(),
                "records": [{"ref": "h", "class": "Host", "identity": {"machine_id": machine_id, "hostname": "ghost"}}],
                "relations": [],
            },
        )
    audit = client.get("/api/v1/reports/configuration-audit", headers=ADMIN).json()
    duplicates = [d for d in audit["suspected_duplicates"] if d["key"] == "hostname"]
    assert [(d["value"], len(d["uids"])) for d in duplicates] == [("ghost", 2)]
    single = {(s["name"], s["source"]) for s in audit["single_source"]}
    assert ("sw1", "snmp") in single  # only SNMP knows the switch
    assert not any(name == "app1" for name, _ in single)  # the agent and the switch's LLDP both know app1
    assert audit["coverage"]["by_class"]["Switch"] == {"snmp": 1}
    assert audit["not_verified"] == []
    stale = client.get("/api/v1/reports/configuration-audit", params={"interval_hours": 0.000001}, headers=ADMIN).json()
    assert {"app1", "sw1"} <= {n["name"] for n in stale["not_verified"]}


def test_services_are_edited_through_the_api_with_history(client: TestClient, estate: dict[str, str]) -> None:
    response = client.patch(
        f"/api/v1/cis/{estate['service']}", json={"attributes": {"criticality": "critical"}}, headers=ADMIN
    )
    assert response.status_code == 200, response.text
    assert response.json()["attributes"]["criticality"] == "critical"
    history = client.get(f"/api/v1/cis/{estate['service']}/history", headers=ADMIN).json()["items"]
    latest = history[0]
    assert (latest["field"], latest["old"], latest["new"]) == ("criticality", "high", "critical")
    assert latest["source"] == "manual:bootstrap admin (environment)"
    renamed = client.patch(f"/api/v1/cis/{estate['shop']}", json={"attributes": {"name": "shop2"}}, headers=ADMIN)
    assert renamed.status_code == 422  # an application is identified by its name
    assert renamed.json()["error"]["fields"][0]["field"] == "attributes.name"
    bad = client.patch(f"/api/v1/cis/{estate['service']}", json={"attributes": {"criticality": "meh"}}, headers=ADMIN)
    assert bad.status_code == 422
    assert bad.json()["error"]["fields"][0]["field"] == "attributes.criticality"


def test_every_record_keeps_its_history(client: TestClient, estate: dict[str, str]) -> None:
    incident = post(client, "/api/v1/incidents", {"title": "down", "affected": [estate["db1"]]})
    post(client, f"/api/v1/incidents/{incident['id']}/transition", {"to": "in_progress"})
    history = client.get(f"/api/v1/incidents/{incident['id']}/history", headers=ADMIN).json()["items"]
    assert [(e["kind"], e.get("field"), e["new"] if e["kind"] == "field" else None) for e in history] == [
        ("field", "status", "in_progress"),
        ("created", None, None),
    ]
    assert all(e["source"] == "user:bootstrap admin (environment)" for e in history)
