"""Incidents against their response and resolution targets (cmdb_server/incident_compliance.py):
the one definition the service desk's figures and each service's figures share."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from cmdb_server.incident_compliance import IncidentTimes, incident_counts
from schema.itsm import IncidentPriority, IncidentStatus
from schema.service_desk import IncidentTarget

START = datetime(2026, 3, 1, tzinfo=UTC)
END = datetime(2026, 4, 1, tzinfo=UTC)
TARGETS = {IncidentPriority.CRITICAL: IncidentTarget(10, 120), IncidentPriority.HIGH: IncidentTarget(30, 480)}


def times(
    priority: IncidentPriority,
    status: IncidentStatus,
    opened: datetime,
    answered_after: float | None,
    resolved_after: float | None,
) -> IncidentTimes:
    def later(minutes: float | None) -> datetime | None:
        return None if minutes is None else opened + timedelta(minutes=minutes)

    return IncidentTimes(priority, status, opened, later(answered_after), later(resolved_after))


def test_response_over_the_opened_resolution_over_the_resolved_and_at_the_target_is_within() -> None:
    march = START + timedelta(days=3)
    rows = [
        times(IncidentPriority.CRITICAL, IncidentStatus.RESOLVED, march, 10, 120),  # both exactly at the target
        times(IncidentPriority.CRITICAL, IncidentStatus.CLOSED, march, 10.5, 121),  # both just over
        times(IncidentPriority.CRITICAL, IncidentStatus.IN_PROGRESS, march, 2, None),  # answered, not resolved
        times(IncidentPriority.CRITICAL, IncidentStatus.NEW, march, None, None),  # opened, not answered yet
        # opened in February, resolved in March after 3 days: its resolution counts, not its response
        times(IncidentPriority.CRITICAL, IncidentStatus.RESOLVED, START - timedelta(days=2), 5, 3 * 1440),
        # resolved in March, then reopened: no longer resolved, so not counted as resolved
        times(IncidentPriority.CRITICAL, IncidentStatus.IN_PROGRESS, march, 1, 60),
        # opened and resolved in April: outside the period
        times(IncidentPriority.CRITICAL, IncidentStatus.RESOLVED, END, 1, 2),
    ]
    critical, high, medium, low = incident_counts(rows, START, END, TARGETS)
    assert [f.priority for f in (critical, high, medium, low)] == list(IncidentPriority)
    # opened in March: the first four and the reopened one; responses 10, 10.5, 2, 1 (one not answered)
    assert (critical.opened, critical.within_response_target, critical.response_target_minutes) == (5, 3, 10)
    assert critical.mean_response_minutes == 5.9  # (10 + 10.5 + 2 + 1) / 4 = 5.875
    # resolved in March and resolved still: 120, 121, 4,320
    assert (critical.resolved, critical.within_resolution_target, critical.resolution_target_minutes) == (3, 1, 120)
    assert critical.mean_resolution_minutes == round((120 + 121 + 4320) / 3, 1)
    assert (high.opened, high.resolved, high.mean_response_minutes, high.mean_resolution_minutes) == (0, 0, None, None)


def test_a_priority_without_a_target_counts_none_within() -> None:
    row = times(IncidentPriority.LOW, IncidentStatus.RESOLVED, START, 1, 2)
    low = incident_counts([row], START, END, TARGETS)[-1]
    assert (low.opened, low.resolved) == (1, 1)
    assert (low.response_target_minutes, low.resolution_target_minutes) == (None, None)
    assert (low.within_response_target, low.within_resolution_target) == (0, 0)
