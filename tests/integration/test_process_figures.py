"""The process figures of the service report: changes, incidents by priority against their
targets, problems open and their ages, from records made through the API (and, for the times
an API sets to now, through the same repository the API writes with, at a given time)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import pytest
from fastapi.testclient import TestClient
from neo4j import AsyncDriver, AsyncGraphDatabase

from cmdb_server import process_figures
from cmdb_server.config import Settings
from cmdb_server.models.service_report import ReportPeriod
from cmdb_server.repositories import records
from schema.itsm import IncidentPriority, ProblemStatus
from tests.integration.conftest import BOOTSTRAP_TOKEN, SeedCI, bearer

ADMIN = bearer(BOOTSTRAP_TOKEN)
T = TypeVar("T")


def run(settings: Settings, work: Callable[[AsyncDriver], Awaitable[T]]) -> T:
    async def go() -> T:
        async with AsyncGraphDatabase.driver(settings.neo4j_uri, auth=settings.neo4j_auth()) as driver:
            return await work(driver)

    return asyncio.run(go())


def this_period(now: datetime) -> ReportPeriod:
    """Three whole UTC days, the day before yesterday to today: no test run straddles its edges."""
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    start, end = midnight - timedelta(days=2), midnight + timedelta(days=1)
    return ReportPeriod(label="test", start=start, end=end, time_zone="UTC")


def post(client: TestClient, path: str, body: dict[str, Any], status: int = 200) -> dict[str, Any]:
    response = client.post(path, json=body, headers=ADMIN)
    assert response.status_code == status, response.text
    result: dict[str, Any] = response.json()
    return result


def change(client: TestClient, target: str, kind: str, start: datetime, states: list[str]) -> str:
    """A change of ``kind`` on one CI, its window an hour from ``start``, moved through ``states``."""
    body = {
        "title": f"{kind} {states[-1] if states else 'draft'}",
        "type": kind,
        "planned_start": start.isoformat(),
        "planned_end": (start + timedelta(hours=1)).isoformat(),
        "targets": [target],
    }
    change_id = str(post(client, "/api/v1/changes", body, 201)["id"])
    for state in states:
        post(client, f"/api/v1/changes/{change_id}/transition", {"to": state})
    return change_id


CARRIED = ["submitted", "approved", "implementing"]


def test_change_figures_count_the_changes_that_ended_and_the_carried_out_suspects(
    client: TestClient, settings: Settings, seed_ci: SeedCI
) -> None:
    now = datetime.now(UTC)
    web, db, spare = (seed_ci("LinuxHost", name=n, machine_id=f"m-{n}").uid for n in ("web", "db", "spare"))
    later = now + timedelta(days=3)  # windows that no incident of today looks back on
    change(client, spare, "standard", later, [*CARRIED, "implemented"])
    change(client, spare, "standard", later + timedelta(hours=2), [*CARRIED, "implemented", "closed"])
    change(client, spare, "standard", later + timedelta(hours=4), [*CARRIED, "failed", "closed"])
    emergency = change(client, web, "emergency", now - timedelta(hours=3), [*CARRIED, "implemented"])
    change(client, spare, "standard", later + timedelta(hours=6), ["submitted", "approved"])  # not ended
    change(client, spare, "standard", later + timedelta(hours=8), [])  # a draft
    cancelled = change(client, web, "standard", now - timedelta(hours=2), ["submitted", "cancelled"])
    # The emergency change and the cancelled one both touched "web" in the 72 hours before
    # the incident: triage suspects both; only the emergency change was carried out.
    post(client, "/api/v1/incidents", {"title": "web slow", "affected": [web]}, 201)
    post(client, "/api/v1/incidents", {"title": "db slow", "affected": [db]}, 201)

    figures = run(settings, lambda d: process_figures.change_figures(d, settings.neo4j_database, this_period(now)))

    # Ended: implemented, closed (after implemented), failed (then closed), emergency = 4.
    # Successful: 3 of 4 = 75 %; emergency: 1 of 4 = 25 %.
    assert figures.closed == 4
    assert (figures.successful, figures.failed) == (3, 1)
    assert figures.success_rate_percent == 75.0
    assert (figures.emergency, figures.emergency_share_percent) == (1, 25.0)
    assert figures.caused_incidents == [emergency]
    assert cancelled not in figures.caused_incidents  # suspected by triage, but never carried out

    before = ReportPeriod(
        label="before", start=now - timedelta(days=30), end=now - timedelta(days=29), time_zone="Europe/Paris"
    )
    empty = run(settings, lambda d: process_figures.change_figures(d, settings.neo4j_database, before))
    assert (empty.closed, empty.success_rate_percent, empty.emergency_share_percent) == (0, None, None)
    assert empty.caused_incidents == []


def test_incident_figures_measure_response_and_resolution_by_priority_against_the_targets(
    client: TestClient, settings: Settings, seed_ci: SeedCI
) -> None:
    now = datetime.now(UTC)
    host = seed_ci("LinuxHost", name="web", machine_id="m-web").uid

    def incident(priority: str, opened_minutes_ago: float, moves: list[str]) -> dict[str, Any]:
        opened = now - timedelta(minutes=opened_minutes_ago)
        body = {"title": f"{priority} {opened_minutes_ago}", "priority": priority, "affected": [host]}
        created = post(client, "/api/v1/incidents", body | {"opened_at": opened.isoformat()}, 201)
        for to in moves:
            post(client, f"/api/v1/incidents/{created['id']}/transition", {"to": to})
        return created

    # critical A: opened 10 min ago, taken and resolved now: response 10 (target 15), resolution 10 (target 240).
    a = incident("critical", 10, ["in_progress", "resolved"])
    # critical B: opened 20 min ago, taken now: response 20, over the 15 target; not resolved.
    b = incident("critical", 20, ["in_progress"])
    # high C: opened 3 days ago (before the period), resolved from new now: its resolution,
    # 4,320 min, is over the 480 target and counts (resolved in the period); its response does not.
    incident("high", 3 * 24 * 60, ["resolved"])
    # medium D: opened an hour ago, not answered yet.
    d = incident("medium", 60, [])
    period = this_period(now)

    figures, trend = run(settings, lambda drv: process_figures.incident_figures(drv, settings.neo4j_database, period))

    assert [f.priority for f in figures] == list(IncidentPriority)
    critical, high, medium, low = figures
    assert (critical.opened, critical.resolved) == (2, 1)
    assert critical.mean_response_minutes == pytest.approx((10 + 20) / 2, abs=0.5)
    assert (critical.response_target_minutes, critical.within_response_target) == (15, 1)
    assert critical.mean_resolution_minutes == pytest.approx(10, abs=0.5)
    assert (critical.resolution_target_minutes, critical.within_resolution_target) == (240, 1)
    assert (high.opened, high.resolved, high.mean_response_minutes, high.within_response_target) == (0, 1, None, 0)
    assert high.mean_resolution_minutes == pytest.approx(3 * 24 * 60, abs=0.5)
    assert (high.resolution_target_minutes, high.within_resolution_target) == (480, 0)
    assert (medium.opened, medium.resolved, medium.mean_response_minutes, medium.within_response_target) == (
        1,
        0,
        None,
        0,
    )
    assert (low.opened, low.resolved, low.mean_resolution_minutes) == (0, 0, None)

    # One point per day of the period (3 UTC days), every priority present; A, B, D on their days.
    assert [p.day for p in trend] == [(period.start + timedelta(days=n)).date() for n in range(3)]
    expected: dict[Any, dict[IncidentPriority, int]] = {p.day: dict.fromkeys(IncidentPriority, 0) for p in trend}
    for item in (a, b, d):
        expected[datetime.fromisoformat(item["opened_at"]).date()][IncidentPriority(item["priority"])] += 1
    assert {p.day: p.opened for p in trend} == expected
    assert sum(sum(p.opened.values()) for p in trend) == 3

    # The period's days are those of its time zone: a month of Paris time has its 30 days.
    paris = ReportPeriod(
        label="2026-11",
        start=datetime(2026, 10, 31, 23, 0, tzinfo=UTC),
        end=datetime(2026, 11, 30, 23, 0, tzinfo=UTC),
        time_zone="Europe/Paris",
    )
    assert [d.isoformat() for d in process_figures.days_of(paris)][::29] == ["2026-11-01", "2026-11-30"]
    assert len(process_figures.days_of(paris)) == 30


def test_problem_figures_count_the_problems_open_at_a_time_and_their_ages(
    client: TestClient, settings: Settings
) -> None:
    now = datetime.now(UTC)
    database = settings.neo4j_database

    def problem(title: str, days_ago: float) -> str:
        """Opened ``days_ago``, written through the repository the API writes with, at that time."""
        opened = now - timedelta(days=days_ago)
        props = {"title": title, "status": ProblemStatus.OPEN.value, "known_error": False, "opened_at": opened}
        return run(
            settings,
            lambda d: records.create_record(d, database, records.PROBLEM, props, {}, {}, "user:test", opened),
        )

    problem("ten days", 10)
    known = problem("four days", 4)
    resolved = problem("two days", 2)
    post(client, f"/api/v1/problems/{known}/transition", {"to": "known_error"})  # still open: a known error
    post(client, f"/api/v1/problems/{resolved}/transition", {"to": "resolved"})

    # Now: the 10- and 4-day-old are open: oldest 10, median (10 + 4) / 2 = 7.
    at_now = run(settings, lambda d: process_figures.problem_figures(d, database, datetime.now(UTC)))
    assert at_now.open == 2
    assert at_now.oldest_open_days == pytest.approx(10, abs=0.01)
    assert at_now.median_open_age_days == pytest.approx(7, abs=0.01)

    # An hour ago the third was not resolved yet: three open, ages 10, 4, 2 less an hour; median 4 - 1/24.
    hour_ago = now - timedelta(hours=1)
    then = run(settings, lambda d: process_figures.problem_figures(d, database, hour_ago))
    assert then.open == 3
    assert then.oldest_open_days == pytest.approx(10 - 1 / 24, abs=0.01)
    assert then.median_open_age_days == pytest.approx(4 - 1 / 24, abs=0.01)

    # Before any opened: none, and no ages.
    early = run(settings, lambda d: process_figures.problem_figures(d, database, now - timedelta(days=11)))
    assert (early.open, early.oldest_open_days, early.median_open_age_days) == (0, None, None)
