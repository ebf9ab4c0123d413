"""The service management processes in numbers, for a period: changes, incidents, problems.

Read from the records and their history (cmdb_server/repositories/process_figures.py); the
arithmetic is here, in plain functions of what was read, so each definition is in one place
(README, "Process figures, accuracy and metrics"):

- a change *ended* when it first moved to implemented or failed; it *succeeded* unless it
  ever failed; it is an *emergency* by its type. Closing it later does not move its end.
- a change *caused incidents* when incident triage (cmdb_server/incident_service.py, the
  same rule as ``GET /incidents/{id}/suspects``) names it as a suspect of an incident opened
  in the period and it was carried out (implementing, implemented, failed or closed): the
  CMDB records no confirmed cause, so this is the triage's suspicion, not a verdict.
- an incident's *response* and *resolution* are defined once, in incident_compliance.py
  (which each business service's figures share); here every incident is counted, against
  the default targets of schema/service_desk.toml.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from neo4j import AsyncDriver

from cmdb_server.incident_compliance import IncidentTimes, incident_counts, within
from cmdb_server.incident_service import incident_suspects
from cmdb_server.models.service_report import (
    ChangeFigures,
    IncidentFigures,
    IncidentTrendPoint,
    ProblemFigures,
    ReportPeriod,
)
from cmdb_server.repositories import process_figures as repo
from schema import load_schema
from schema.itsm import PROBLEM_OPEN, ChangeState, ChangeType, IncidentPriority, IncidentStatus, ProblemStatus
from schema.service_desk import load_service_desk_rules

CARRIED_OUT = frozenset({ChangeState.IMPLEMENTING, ChangeState.IMPLEMENTED, ChangeState.FAILED, ChangeState.CLOSED})
"""Changes that touched something: only these can have caused an incident."""


def percent(part: int, whole: int) -> float | None:
    """``part`` of ``whole`` in percent (one decimal), None when there is no whole."""
    return round(100.0 * part / whole, 1) if whole else None


def change_counts(ended: Iterable[dict[str, Any]], caused: list[str]) -> ChangeFigures:
    """The change figures of the changes that ended in a period (``id``, ``type``, ``failed``)."""
    rows = list(ended)
    failed = sum(1 for r in rows if r["failed"])
    emergency = sum(1 for r in rows if r["type"] == ChangeType.EMERGENCY.value)
    return ChangeFigures(
        closed=len(rows),
        successful=len(rows) - failed,
        failed=failed,
        success_rate_percent=percent(len(rows) - failed, len(rows)),
        emergency=emergency,
        emergency_share_percent=percent(emergency, len(rows)),
        caused_incidents=sorted(set(caused)),
    )


async def change_figures(driver: AsyncDriver, database: str, period: ReportPeriod) -> ChangeFigures:
    ended = await repo.changes_ended(driver, database, period.start, period.end)
    caused: list[str] = []
    schema = load_schema()
    for incident_id in await repo.incidents_opened(driver, database, period.start, period.end):
        triage = await incident_suspects(driver, database, schema, incident_id)
        caused += [
            change["id"]
            for suspect in triage["suspects"]
            for change in suspect["changes"]
            if ChangeState(change["state"]) in CARRIED_OUT
        ]
    return change_counts(ended, caused)


def days_of(period: ReportPeriod) -> list[date]:
    """The calendar days of the period in its time zone (the end is exclusive)."""
    zone = ZoneInfo(period.time_zone)
    first = period.start.astimezone(zone).date()
    last = (period.end - timedelta(microseconds=1)).astimezone(zone).date()
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def incident_trend(rows: list[dict[str, Any]], period: ReportPeriod) -> list[IncidentTrendPoint]:
    """Incidents opened per day of the period (its time zone's days), by priority, zeros included."""
    zone = ZoneInfo(period.time_zone)
    days = {day: dict.fromkeys(IncidentPriority, 0) for day in days_of(period)}
    for row in rows:
        if within(period.start, period.end, row["opened_at"]):
            day = row["opened_at"].astimezone(zone).date()
            if day in days:
                days[day][IncidentPriority(row["priority"])] += 1
    return [IncidentTrendPoint(day=day, opened=opened) for day, opened in days.items()]


async def incident_figures(
    driver: AsyncDriver, database: str, period: ReportPeriod
) -> tuple[list[IncidentFigures], list[IncidentTrendPoint]]:
    rows = await repo.incident_times(driver, database, period.start, period.end)
    times = [
        IncidentTimes(
            IncidentPriority(r["priority"]),
            IncidentStatus(r["status"]),
            r["opened_at"],
            r["answered_at"],
            r["resolved_at"],
        )
        for r in rows
    ]
    targets = load_service_desk_rules().incident_targets
    return incident_counts(times, period.start, period.end, targets), incident_trend(rows, period)


def problem_counts(rows: list[dict[str, Any]], at: datetime) -> ProblemFigures:
    """Problems open at ``at`` (open or known error then) and their ages in days."""
    ages = [(at - r["opened_at"]).total_seconds() / 86400.0 for r in rows if ProblemStatus(r["status"]) in PROBLEM_OPEN]
    return ProblemFigures(
        open=len(ages),
        oldest_open_days=round(max(ages), 2) if ages else None,
        median_open_age_days=round(statistics.median(ages), 2) if ages else None,
    )


async def problem_figures(driver: AsyncDriver, database: str, at: datetime) -> ProblemFigures:
    at = at if at.tzinfo is not None else at.replace(tzinfo=UTC)
    return problem_counts(await repo.problems_at(driver, database, at), at)
