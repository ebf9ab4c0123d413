"""Availability of a business service computed from incidents, on the impact estate.

The estate (tests/integration/estate.py): the business service "web shop" depends on the
application shop, a group of two load-balanced instances on the hosts app1 and app2 (the
two redundant web hosts), and shop depends on the database on db1. So db1 down takes the
service down; app1 or app2 down alone leaves it degraded; both down take it down.

The period is March 2026 in Europe/Paris (summer time from Sunday 29 March, 02:00 -> 03:00).
Times below are Paris time. Every figure is worked out by hand beside its assertion.

| incident | CI  | from              | to                 | business hours (Mon-Fri 08-18, 20 March a holiday) | 24x7 |
|----------|-----|-------------------|--------------------|----------------------------------------------|------|
| db-a     | db1 | Mon 2 Mar 09:00   | 2 Mar 11:00        | } one outage 09:00-12:00: 180                | 180  |
| db-b     | db1 | Mon 2 Mar 10:00   | 2 Mar 12:00        | }                                            |      |
| web1     | app1| Tue 3 Mar 14:00   | 3 Mar 15:00        | degraded 60, no outage                       |  0   |
| web1-b   | app1| Wed 4 Mar 09:00   | 4 Mar 12:00        | } degraded 09-10 and 11-12: 120;             |  60  |
| web2     | app2| Wed 4 Mar 10:00   | 4 Mar 11:00        | } down 10-11 (both web hosts): 60            |      |
| night    | db1 | Thu 5 Mar 19:00   | 5 Mar 23:00        | 0: outside service hours, no outage          | 240  |
| holiday  | db1 | Thu 19 Mar 17:00  | Sat 21 Mar 10:00   | Thu 17-18: 60 (Fri 20 a holiday, Sat none)   | 41 h = 2460 |
| open     | db1 | Tue 31 Mar 17:30  | still open         | 17:30-18:00: 30 (to the period's end)        | 6.5 h = 390 |
| elsewhere| an IP address | Mon 2 Mar 14:00 | 2 Mar 16:00 | its trouble reaches no service: ignored | 0 |
| february | db1 | 27 Feb            | 28 Feb             | before the period: ignored                   | 0    |

Their priorities and when each was first taken in progress (its first move out of ``new``),
for the service's incident targets; response = answered - opened, resolution = resolved -
opened, clock minutes:

| incident | priority | answered            | response | resolution |
|----------|----------|---------------------|----------|------------|
| db-a     | critical | 09:05               | 5        | 120        |
| db-b     | critical | 10:12               | 12       | 120        |
| web1     | high     | 14:20               | 20       | 60         |
| web1-b   | high     | 09:25               | 25       | 180        |
| web2     | medium   | resolved at once    | 60       | 60         |
| night    | high     | 20:00               | 60       | 240        |
| holiday  | critical | 17:08               | 8        | 2460       |
| open     | low      | never (still new)   | -        | -          |
| elsewhere| critical | 14:01               | (not the service's)  |  |
| february | medium   | resolved at once    | (not in March)       |  |
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from neo4j import AsyncGraphDatabase, Driver

from cmdb_server.config import Settings
from cmdb_server.models.service_report import OutageKind, ReportPeriod, ServiceAvailability, SlaVerdict
from cmdb_server.service_levels import service_availability, services_availability
from schema import load_schema
from schema.itsm import IncidentPriority
from tests.integration.conftest import BOOTSTRAP_TOKEN, bearer
from tests.integration.estate import post

ADMIN = bearer(BOOTSTRAP_TOKEN)
PARIS = ZoneInfo("Europe/Paris")
MARCH = ReportPeriod(
    label="2026-03",
    start=datetime(2026, 3, 1, tzinfo=PARIS),
    end=datetime(2026, 4, 1, tzinfo=PARIS),
    time_zone="Europe/Paris",
)


def paris(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=PARIS)


def incident(
    client: TestClient,
    neo4j_driver: Driver,
    title: str,
    ci: str,
    opened: datetime,
    resolved: datetime | None,
    priority: str = "high",
    answered: datetime | None = None,
) -> str:
    """An incident opened through the API at ``opened``; taken in progress through the API
    when ``answered`` is given, resolved through the API when ``resolved`` is; then the times
    the API stamps with the time of the call set to the given ones: its first move out of
    ``new`` (in its history) to ``answered``, or to ``resolved`` when it was resolved at once,
    and its resolution time to ``resolved``."""
    body = {"title": title, "affected": [ci], "priority": priority, "opened_at": opened.isoformat()}
    number: str = post(client, "/api/v1/incidents", body)["id"]
    if answered is not None:
        post(client, f"/api/v1/incidents/{number}/transition", {"to": "in_progress"})
    if resolved is not None:
        post(client, f"/api/v1/incidents/{number}/transition", {"to": "resolved", "note": "restored"})
        neo4j_driver.execute_query(
            "MATCH (i:Incident {id: $id}) SET i.resolved_at = $at", id=number, at=resolved.astimezone(UTC)
        )
    first_move = answered or resolved
    if first_move is not None:
        neo4j_driver.execute_query(
            "MATCH (e:Event {ci_uid: $id}) WHERE e.kind = 'field' AND e.field = 'status' AND e.old = $new "
            "SET e.at = $at",
            id=number,
            new=json.dumps("new"),
            at=first_move.astimezone(UTC),
        )
    return number


@pytest.fixture
def history(client: TestClient, estate: dict[str, str], neo4j_driver: Driver) -> dict[str, str]:
    """The incidents of the tables above: title -> incident number."""
    ip = client.get("/api/v1/cis", params={"class": "IPAddress"}, headers=ADMIN).json()["items"][0]["uid"]
    table: list[tuple[str, str, datetime, datetime | None, str, datetime | None]] = [
        ("db-a", estate["db1"], paris(3, 2, 9), paris(3, 2, 11), "critical", paris(3, 2, 9, 5)),
        ("db-b", estate["db1"], paris(3, 2, 10), paris(3, 2, 12), "critical", paris(3, 2, 10, 12)),
        ("web1", estate["app1"], paris(3, 3, 14), paris(3, 3, 15), "high", paris(3, 3, 14, 20)),
        ("web1-b", estate["app1"], paris(3, 4, 9), paris(3, 4, 12), "high", paris(3, 4, 9, 25)),
        ("web2", estate["app2"], paris(3, 4, 10), paris(3, 4, 11), "medium", None),
        ("night", estate["db1"], paris(3, 5, 19), paris(3, 5, 23), "high", paris(3, 5, 20)),
        ("holiday", estate["db1"], paris(3, 19, 17), paris(3, 21, 10), "critical", paris(3, 19, 17, 8)),
        ("open", estate["db1"], paris(3, 31, 17, 30), None, "low", None),
        ("elsewhere", ip, paris(3, 2, 14), paris(3, 2, 16), "critical", paris(3, 2, 14, 1)),
        ("february", estate["db1"], paris(2, 27, 9), paris(2, 28, 9), "medium", None),
    ]
    return {
        title: incident(client, neo4j_driver, title, ci, opened, resolved, priority, answered)
        for title, ci, opened, resolved, priority, answered in table
    }


def agree(
    client: TestClient,
    service: str,
    target: float | None,
    hours: str,
    holidays: list[str],
    incident_targets: dict[str, dict[str, float]] | None = None,
) -> None:
    body = {
        "availability_target_percent": target,
        "hours": hours,
        "time_zone": "Europe/Paris",
        "holidays": holidays,
        "incident_targets": incident_targets or {},
    }
    response = client.put(f"/api/v1/services/{service}/service-level", json=body, headers=ADMIN)
    assert response.status_code == 200, response.text


def measured(settings: Settings, uid: str | None = None) -> Any:
    async def run() -> ServiceAvailability | list[ServiceAvailability]:
        async with AsyncGraphDatabase.driver(settings.neo4j_uri, auth=settings.neo4j_auth()) as driver:
            if uid is None:
                return await services_availability(driver, settings.neo4j_database, load_schema(), MARCH)
            return await service_availability(driver, settings.neo4j_database, load_schema(), uid, MARCH)

    return asyncio.run(run())


def test_business_hours_with_a_holiday_breach_99_9_and_meet_95(
    client: TestClient, settings: Settings, estate: dict[str, str], history: dict[str, str]
) -> None:
    agree(client, estate["service"], 99.9, "business_hours", ["2026-03-20"])
    result: ServiceAvailability = measured(settings, estate["service"])
    assert result.service_hours == "Mon-Fri 08:00-18:00 Europe/Paris, 1 holiday"
    # March 2026: 31 days - 5 Sundays - 4 Saturdays = 22 weekdays, minus Friday 20 (holiday) = 21 x 600
    assert result.scheduled_minutes == 12_600
    # db-a + db-b 180, both web hosts 60, night 0, holiday 60 (Thursday 17-18), open 30
    assert result.downtime_minutes == 180 + 60 + 0 + 60 + 30  # 330
    assert result.degraded_minutes == 60 + 120  # web1 alone; web1-b either side of web2
    assert result.outages == 4  # the night outage touches no service hours
    assert [(w.kind, w.minutes_in_service_hours, w.incidents) for w in result.windows] == [
        (OutageKind.DOWN, 180, [history["db-a"], history["db-b"]]),
        (OutageKind.DEGRADED, 60, [history["web1"]]),
        (OutageKind.DEGRADED, 60, [history["web1-b"]]),
        (OutageKind.DOWN, 60, [history["web1-b"], history["web2"]]),
        (OutageKind.DEGRADED, 60, [history["web1-b"]]),
        (OutageKind.DOWN, 0, [history["night"]]),
        (OutageKind.DOWN, 60, [history["holiday"]]),
        (OutageKind.DOWN, 30, [history["open"]]),
    ]
    both = result.windows[3]
    assert (both.start, both.end) == (paris(3, 4, 10), paris(3, 4, 11))
    assert both.cis == sorted([estate["app1"], estate["app2"]])
    assert both.ci_names == ["app1" if uid == estate["app1"] else "app2" for uid in both.cis]  # what the report shows
    assert result.windows[-1].end == MARCH.end  # still open: counted to the period's end
    # (12,600 - 330) / 12,600 = 97.38095...%
    assert result.availability_percent == 97.381
    assert result.mttr_minutes == 82.5  # 330 / 4
    assert result.mtbf_hours == round(12_270 / 4 / 60, 2)  # 51.125 h between outages
    # 99.9 %: 0.1 % of 12,600 = 12.6 minutes allowed, 330 used: breached by 317.4 minutes
    assert result.verdict is SlaVerdict.BREACHED
    assert result.margin_minutes == -317.4
    assert result.margin_percent == round(97.380952381 - 99.9, 4)  # -2.519 points
    resolution = {t.priority: t.resolution_minutes for t in result.incident_targets}
    assert resolution[IncidentPriority.HIGH] == 480  # the service desk's default

    agree(client, estate["service"], 95, "business_hours", ["2026-03-20"])
    met: ServiceAvailability = measured(settings, estate["service"])
    # 95 %: 5 % of 12,600 = 630 minutes allowed, 330 used: 300 left, 2.381 points above
    assert met.verdict is SlaVerdict.MET
    assert met.margin_minutes == 300
    assert met.margin_percent == round(97.380952381 - 95, 4)


def test_incidents_against_the_service_s_own_targets(
    client: TestClient, settings: Settings, estate: dict[str, str], history: dict[str, str]
) -> None:
    """The incidents counted for its availability, against the targets its service level agrees
    (critical and high here) or the service desk's default (medium 240 / 2,880, low 480 / 7,200)."""
    agreed: dict[str, dict[str, float]] = {
        "critical": {"response_minutes": 10, "resolution_minutes": 120},
        "high": {"response_minutes": 20, "resolution_minutes": 180},
    }
    agree(client, estate["service"], 99.9, "business_hours", ["2026-03-20"], agreed)
    result: ServiceAvailability = measured(settings, estate["service"])
    assert [f.priority for f in result.incident_compliance] == list(IncidentPriority)
    critical, high, medium, low = result.incident_compliance
    # critical: db-a, db-b and holiday, opened and resolved in March (elsewhere is not the service's).
    # Response 5, 12, 8 against 10: db-a and holiday (db-b's 12 is over, though within the default 15).
    # Resolution 120, 120, 2,460 against 120: db-a and db-b (at the target is within it).
    assert (critical.agreed, critical.response_target_minutes, critical.resolution_target_minutes) == (True, 10, 120)
    assert (critical.opened, critical.within_response_target) == (3, 2)
    assert (critical.resolved, critical.within_resolution_target) == (3, 2)
    assert critical.mean_response_minutes == 8.3  # (5 + 12 + 8) / 3 = 8.33
    assert critical.mean_resolution_minutes == 900  # (120 + 120 + 2,460) / 3
    # high: web1, web1-b and night. Response 20, 25, 60 against 20: web1 only (25 is within the
    # default 30). Resolution 60, 180, 240 against 180: web1 and web1-b (240 is within the default 480).
    assert (high.agreed, high.response_target_minutes, high.resolution_target_minutes) == (True, 20, 180)
    assert (high.opened, high.within_response_target, high.resolved, high.within_resolution_target) == (3, 1, 3, 2)
    assert (high.mean_response_minutes, high.mean_resolution_minutes) == (35, 160)  # 105 / 3, 480 / 3
    # medium: web2, resolved at once after 60 minutes (its response is its resolution), within the
    # default 240 and 2,880; february, medium too, was opened and resolved before March.
    assert (medium.agreed, medium.response_target_minutes, medium.resolution_target_minutes) == (False, 240, 2880)
    assert (medium.opened, medium.within_response_target, medium.resolved, medium.within_resolution_target) == (
        1,
        1,
        1,
        1,
    )
    # low: open, still new at the end of March: opened, no response yet, nothing resolved.
    assert (low.agreed, low.opened, low.within_response_target, low.mean_response_minutes) == (False, 1, 0, None)
    assert (low.resolved, low.within_resolution_target) == (0, 0)
    assert [(t.priority, t.response_minutes) for t in result.incident_targets][:2] == [
        (IncidentPriority.CRITICAL, 10),
        (IncidentPriority.HIGH, 20),
    ]  # the targets echoed are the ones measured against

    agree(client, estate["service"], 99.9, "business_hours", ["2026-03-20"])  # back to the default targets
    default = measured(settings, estate["service"])
    critical, high = default.incident_compliance[:2]
    # critical against 15 / 240: all three responses within, resolutions 120 and 120 within (2,460 not).
    assert (critical.agreed, critical.within_response_target, critical.within_resolution_target) == (False, 3, 2)
    # high against 30 / 480: responses 20 and 25 within (60 not), every resolution within.
    assert (high.agreed, high.within_response_target, high.within_resolution_target) == (False, 2, 3)


def test_the_same_incidents_under_24x7(
    client: TestClient, settings: Settings, estate: dict[str, str], history: dict[str, str]
) -> None:
    agree(client, estate["service"], 99.9, "24x7", [])
    result: ServiceAvailability = measured(settings, estate["service"])
    assert result.service_hours == "24x7"
    assert result.scheduled_minutes == 31 * 1440 - 60  # 44,580: the summer-time night has 23 hours
    # 180 + 60 (both web hosts) + 240 (night) + 2,460 (Thu 17:00 - Sat 10:00) + 390 (Tue 17:30 - midnight)
    assert result.downtime_minutes == 3_330
    assert result.degraded_minutes == 180
    assert result.outages == 5
    assert result.availability_percent == round((44_580 - 3_330) / 44_580 * 100, 4)  # 92.5303
    assert result.mttr_minutes == 666  # 3,330 / 5
    assert result.mtbf_hours == round(41_250 / 5 / 60, 2)  # 137.5
    # 0.1 % of 44,580 = 44.58 allowed
    assert result.margin_minutes == round(44.58 - 3_330, 2)  # -3,285.42
    assert result.verdict is SlaVerdict.BREACHED


def test_every_business_service_by_name(
    client: TestClient, settings: Settings, estate: dict[str, str], history: dict[str, str]
) -> None:
    post(client, "/api/v1/cis", {"class": "BusinessService", "attributes": {"name": "intranet"}})
    results: list[ServiceAvailability] = measured(settings)
    assert [r.service_name for r in results] == ["intranet", "web shop"]
    intranet, shop = results
    # no service level: 24x7, no target; nothing it depends on had an incident
    assert (intranet.scheduled_minutes, intranet.downtime_minutes, intranet.availability_percent) == (44_580, 0, 100)
    assert (intranet.verdict, intranet.margin_minutes, intranet.windows) == (SlaVerdict.NO_TARGET, None, [])
    assert [(f.opened, f.resolved) for f in intranet.incident_compliance] == [(0, 0)] * 4
    assert (shop.verdict, shop.downtime_minutes) == (SlaVerdict.NO_TARGET, 3_330)


def test_a_month_not_over_is_measured_as_far_as_it_has_gone(
    client: TestClient, settings: Settings, neo4j_driver: Driver
) -> None:
    """This month: its service hours until now, not the rest of the month counted as uptime."""
    service = post(client, "/api/v1/cis", {"class": "BusinessService", "attributes": {"name": "now"}})["uid"]
    now = datetime.now(UTC)
    month_start = datetime(now.year, now.month, 1, tzinfo=UTC)
    next_month = datetime(now.year + now.month // 12, now.month % 12 + 1, 1, tzinfo=UTC)
    opened = max(month_start, now - (now - month_start) / 2)  # half of the month so far
    incident(client, neo4j_driver, "ongoing", service, opened, None)
    period = ReportPeriod(label=f"{now:%Y-%m}", start=month_start, end=next_month, time_zone="UTC")

    async def run() -> ServiceAvailability:
        async with AsyncGraphDatabase.driver(settings.neo4j_uri, auth=settings.neo4j_auth()) as driver:
            return await service_availability(driver, settings.neo4j_database, load_schema(), service, period)

    result = asyncio.run(run())
    so_far = (datetime.now(UTC) - month_start).total_seconds() / 60
    assert result.scheduled_minutes == pytest.approx(so_far, abs=1)  # not the whole month's minutes
    assert result.downtime_minutes == pytest.approx(so_far / 2, abs=1)
    assert result.availability_percent == pytest.approx(50, abs=1)
    (window,) = result.windows
    assert window.end <= datetime.now(UTC)
