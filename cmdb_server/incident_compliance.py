"""Incidents against their response and resolution targets, by priority (pure).

One definition for both readers: the service desk's figures over every incident
(process_figures.py, against the default targets of schema/service_desk.toml) and each
business service's figures over the incidents counted for its availability
(service_levels.py, against the targets its service level agrees):

- an incident's *response* is from its opening until it first left ``new`` (taken in
  progress, or resolved at once), counted over the incidents *opened* in the period;
- its *resolution* is from its opening until its (latest) resolution, counted over the
  incidents *resolved* in the period and resolved still (or closed) now;
- clock minutes; *within* a target means at most the target's minutes.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from cmdb_server.models.service_report import IncidentFigures
from schema.itsm import IncidentPriority, IncidentStatus
from schema.service_desk import IncidentTarget

RESOLVED = frozenset({IncidentStatus.RESOLVED, IncidentStatus.CLOSED})


@dataclass(frozen=True)
class IncidentTimes:
    """What the figures read of an incident: its priority, status now, and its times
    (``answered_at``: its first move out of ``new`` in its history; None: still new)."""

    priority: IncidentPriority
    status: IncidentStatus
    opened_at: datetime
    answered_at: datetime | None
    resolved_at: datetime | None


def minutes(start: datetime, end: datetime) -> float:
    return (end - start).total_seconds() / 60.0


def mean_minutes(values: list[float]) -> float | None:
    return round(statistics.fmean(values), 1) if values else None


def within(start: datetime, end: datetime, at: datetime | None) -> bool:
    """Whether ``at`` is in [start, end)."""
    return at is not None and start <= at < end


def incident_counts(
    incidents: Iterable[IncidentTimes],
    start: datetime,
    end: datetime,
    targets: dict[IncidentPriority, IncidentTarget],
) -> list[IncidentFigures]:
    """One IncidentFigures per priority (in IncidentPriority order) over [start, end); a
    priority without a target counts none within it."""
    rows = list(incidents)
    figures = []
    for priority in IncidentPriority:
        target = targets.get(priority)
        mine = [r for r in rows if r.priority is priority]
        opened = [r for r in mine if within(start, end, r.opened_at)]
        responses = [minutes(r.opened_at, r.answered_at) for r in opened if r.answered_at is not None]
        resolved = [r for r in mine if r.status in RESOLVED and within(start, end, r.resolved_at)]
        resolutions = [minutes(r.opened_at, r.resolved_at) for r in resolved if r.resolved_at is not None]
        figures.append(
            IncidentFigures(
                priority=priority,
                opened=len(opened),
                resolved=len(resolved),
                mean_resolution_minutes=mean_minutes(resolutions),
                resolution_target_minutes=target.resolution_minutes if target else None,
                within_resolution_target=sum(1 for m in resolutions if target and m <= target.resolution_minutes),
                mean_response_minutes=mean_minutes(responses),
                response_target_minutes=target.response_minutes if target else None,
                within_response_target=sum(1 for m in responses if target and m <= target.response_minutes),
            )
        )
    return figures
