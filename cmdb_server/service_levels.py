"""Service levels of business services: declared (target, service hours, incident targets)
and measured (availability computed from the incidents whose impact reaches the service).

A service level is agreed by hand (PUT /services/{uid}/service-level) and kept with the
service, each change in its history. Availability is never typed: the incidents of the
period on the service or on any CI whose trouble reaches it (the impact rules of
schema/relationships.toml, read upstream from the service) are laid on the time line, and
the service's state while each set of CIs is troubled together comes from impact.analyse,
the walk the impact API answers with. cmdb_server/availability.py does the counting.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from neo4j import AsyncDriver

from cmdb_server.auth import Principal
from cmdb_server.availability import IncidentSpan, describe, measure
from cmdb_server.ci_curation import manual_source
from cmdb_server.errors import NotFound, Unprocessable
from cmdb_server.impact import analyse, upstream
from cmdb_server.impact_service import DEFAULT_DEPTH, upstream_graph
from cmdb_server.incident_compliance import IncidentTimes, incident_counts
from cmdb_server.models.service_levels import ServiceIncidentTarget, ServiceLevelPublic, ServiceLevelUpdate
from cmdb_server.models.service_report import (
    PriorityTarget,
    ReportPeriod,
    ServiceAvailability,
    ServiceIncidentFigures,
)
from cmdb_server.repositories import service_levels as repository
from schema import ImpactState, Schema
from schema.itsm import INCIDENT_OPEN, IncidentPriority, IncidentStatus
from schema.service_desk import IncidentTarget, load_service_desk_rules
from schema.service_levels import (
    ServiceHours,
    ServiceHoursError,
    check_holidays,
    check_time_zone,
    load_service_hours_presets,
    preset_hours,
    weekly_windows,
    window_groups,
)
from schema.values import quoted

DEFAULT_HOURS = "24x7"
"""What a service without a service level is measured against (in UTC: 24x7 without
holidays counts the same minutes in any time zone)."""


@dataclass(frozen=True)
class ServiceLevel:
    """What is agreed for a service; ``incident_targets`` holds the agreed priorities only."""

    target_percent: float | None
    hours: ServiceHours
    incident_targets: dict[IncidentPriority, IncidentTarget] = field(default_factory=dict)

    def to_json(self) -> str:
        """The stored form: the update's shape, the preset's windows copied in (canonical text,
        so an unchanged level compares equal and makes no history)."""
        return json.dumps(
            {
                "availability_target_percent": self.target_percent,
                "hours": self.hours.preset,
                "windows": window_groups(self.hours.windows),
                "time_zone": self.hours.time_zone,
                "holidays": [h.isoformat() for h in self.hours.holidays],
                "incident_targets": {
                    p.value: {"response_minutes": t.response_minutes, "resolution_minutes": t.resolution_minutes}
                    for p, t in self.incident_targets.items()
                },
            },
            sort_keys=True,
        )

    @classmethod
    def from_json(cls, text: str) -> ServiceLevel:
        stored: dict[str, Any] = json.loads(text)
        hours = ServiceHours(
            stored["time_zone"],
            weekly_windows(stored["windows"]),
            tuple(date.fromisoformat(h) for h in stored["holidays"]),
            stored["hours"],
        )
        targets = {IncidentPriority(p): IncidentTarget(**t) for p, t in stored["incident_targets"].items()}
        return cls(stored["availability_target_percent"], hours, targets)


UNAGREED = ServiceLevel(None, preset_hours(DEFAULT_HOURS))


def checked(body: ServiceLevelUpdate) -> ServiceLevel:
    """The service level of a PUT; 422 naming the field (an unknown preset or time zone,
    25:00, an end before its start, overlapping windows, a holiday given twice)."""
    try:
        check_time_zone(body.time_zone)
        if isinstance(body.hours, str):
            presets = load_service_hours_presets()
            if body.hours not in presets:
                raise ServiceHoursError(
                    f"{quoted(body.hours)} is no preset of schema/service_levels.toml; use one of "
                    f"{', '.join(sorted(presets))} or give the windows",
                    "hours",
                )
            windows, preset = presets[body.hours].windows, body.hours
        else:
            windows, preset = weekly_windows([w.model_dump() for w in body.hours]), None
            if not windows:
                raise ServiceHoursError("give at least one window, or a preset such as 24x7", "hours")
        holidays = check_holidays(body.holidays)
    except ServiceHoursError as exc:
        raise Unprocessable(exc.message, field=exc.field) from None
    targets = {p: IncidentTarget(t.response_minutes, t.resolution_minutes) for p, t in body.incident_targets.items()}
    for priority, target in targets.items():
        if target.resolution_minutes < target.response_minutes:
            raise Unprocessable(
                f"resolution within {target.resolution_minutes:g} minutes comes before the response "
                f"({target.response_minutes:g} minutes): an incident is answered before it is resolved",
                field=f"incident_targets.{priority.value}.resolution_minutes",
            )
    hours = ServiceHours(body.time_zone, windows, holidays, preset)
    return ServiceLevel(body.availability_target_percent, hours, targets)


def targets_of(level: ServiceLevel) -> dict[IncidentPriority, IncidentTarget]:
    """Every priority's response and resolution targets: agreed, or the service desk's default."""
    defaults = load_service_desk_rules().incident_targets
    return {priority: level.incident_targets.get(priority) or defaults[priority] for priority in IncidentPriority}


def incident_targets(level: ServiceLevel) -> list[ServiceIncidentTarget]:
    """Every priority's targets as the API answers them, each saying whether it was agreed."""
    answer = []
    for priority, target in targets_of(level).items():
        answer.append(
            ServiceIncidentTarget(
                priority=priority,
                response_minutes=target.response_minutes,
                resolution_minutes=target.resolution_minutes,
                agreed=priority in level.incident_targets,
            )
        )
    return answer


def _level(row: repository.ServiceRow) -> ServiceLevel:
    return UNAGREED if row.service_level is None else ServiceLevel.from_json(row.service_level)


def _public(row: repository.ServiceRow) -> ServiceLevelPublic:
    level = _level(row)
    return ServiceLevelPublic.model_validate(
        {
            "service_uid": row.uid,
            "service_name": row.name,
            "declared": row.service_level is not None,
            "availability_target_percent": level.target_percent,
            "hours": level.hours.preset,
            "windows": window_groups(level.hours.windows),
            "time_zone": level.hours.time_zone,
            "holidays": list(level.hours.holidays),
            "service_hours": describe(level.hours),
            "incident_targets": incident_targets(level),
        }
    )


async def _service(driver: AsyncDriver, database: str, uid: str) -> repository.ServiceRow:
    row = await repository.service(driver, database, uid)
    if row is None:
        raise NotFound(f"no business service with uid {quoted(uid)}", field="uid", location="path")
    return row


async def get_service_level(driver: AsyncDriver, database: str, uid: str) -> ServiceLevelPublic:
    return _public(await _service(driver, database, uid))


async def put_service_level(
    driver: AsyncDriver, database: str, uid: str, body: ServiceLevelUpdate, principal: Principal
) -> ServiceLevelPublic:
    """Replace the service level; the change (the whole old and new level) is in the service's history."""
    level = checked(body)
    await _service(driver, database, uid)
    await repository.save(driver, database, uid, level.to_json(), manual_source(principal), datetime.now(UTC))
    return _public(await _service(driver, database, uid))


async def _availability(
    driver: AsyncDriver, database: str, schema: Schema, row: repository.ServiceRow, period: ReportPeriod
) -> ServiceAvailability:
    level = _level(row)
    graph = await upstream_graph([row.uid], DEFAULT_DEPTH, driver, database, schema)
    reaching = {row.uid, *upstream(schema, graph, [row.uid], DEFAULT_DEPTH)}
    # A period not over yet is measured as far as it has gone: its service hours until now (the
    # rest of the month is no uptime yet), an incident still open until now.
    until = max(period.start, min(period.end, datetime.now(UTC)))
    # Instants go to Neo4j in UTC: a ZoneInfo datetime parameter crashed the driver (a segfault) in a test.
    start, end = period.start.astimezone(UTC), period.end.astimezone(UTC)
    open_statuses = sorted(s.value for s in INCIDENT_OPEN)
    incidents = await repository.incidents_between(driver, database, sorted(reaching), start, end, open_statuses)
    spans = [
        IncidentSpan(
            i.id,
            i.cis,
            i.opened_at,
            until if i.status in INCIDENT_OPEN or i.resolved_at is None else i.resolved_at,
        )
        for i in incidents
    ]

    def state_of(troubled: frozenset[str]) -> ImpactState | None:
        if row.uid in troubled:
            return ImpactState.DOWN
        reached = analyse(schema, graph, sorted(troubled), DEFAULT_DEPTH).get(row.uid)
        return None if reached is None else reached.state

    targets = [PriorityTarget.model_validate(t.model_dump(exclude={"agreed"})) for t in incident_targets(level)]
    so_far = period if until >= period.end else period.model_copy(update={"end": until})
    measured = measure(row.uid, row.name, level.target_percent, level.hours, so_far, spans, state_of, targets)
    for window in measured.windows:  # a manager reads names; the graph walked above holds them
        window.ci_names = [(graph.nodes[uid].name if uid in graph.nodes else None) or uid for uid in window.cis]
    measured.incident_compliance = compliance(incidents, start, end, level)
    return measured


def compliance(
    incidents: list[repository.IncidentRow], start: datetime, end: datetime, level: ServiceLevel
) -> list[ServiceIncidentFigures]:
    """The incidents counted for a service's availability against its own targets (every
    priority, in order): the service desk's definitions (incident_compliance.py), this
    service's incidents and targets."""
    times = [
        IncidentTimes(IncidentPriority(i.priority), IncidentStatus(i.status), i.opened_at, i.answered_at, i.resolved_at)
        for i in incidents
    ]
    return [
        ServiceIncidentFigures(**figures.model_dump(), agreed=figures.priority in level.incident_targets)
        for figures in incident_counts(times, start, end, targets_of(level))
    ]


async def service_availability(
    driver: AsyncDriver, database: str, schema: Schema, service_uid: str, period: ReportPeriod
) -> ServiceAvailability:
    """One business service's availability over the period (404 for no such business service)."""
    return await _availability(driver, database, schema, await _service(driver, database, service_uid), period)


async def services_availability(
    driver: AsyncDriver, database: str, schema: Schema, period: ReportPeriod
) -> list[ServiceAvailability]:
    """Every business service's availability over the period, by name."""
    rows = await repository.services(driver, database)
    return [await _availability(driver, database, schema, row, period) for row in rows]
