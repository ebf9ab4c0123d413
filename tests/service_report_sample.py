"""A service report built by hand with the figures of a plausible month: four business
services (one breached, one without a target), thirty days of incidents and accuracy.
The charts, the document and its PDF are tested on it apart from the graph's figures."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from cmdb_server.models.service_report import (
    AccuracyPoint,
    ChangeFigures,
    IncidentFigures,
    IncidentTrendPoint,
    OutageKind,
    OutageWindow,
    PriorityTarget,
    ProblemFigures,
    ReportPeriod,
    ServiceAvailability,
    ServiceIncidentFigures,
    ServiceReport,
    SlaVerdict,
)
from schema.itsm import IncidentPriority

MONTH_MINUTES = 30 * 24 * 60
TARGETS = [
    PriorityTarget(priority=IncidentPriority.CRITICAL, response_minutes=15, resolution_minutes=240),
    PriorityTarget(priority=IncidentPriority.HIGH, response_minutes=60, resolution_minutes=480),
    PriorityTarget(priority=IncidentPriority.MEDIUM, response_minutes=240, resolution_minutes=1440),
    PriorityTarget(priority=IncidentPriority.LOW, response_minutes=480, resolution_minutes=4320),
]


def _compliance(
    counted: dict[IncidentPriority, tuple[int, int, int, int]], agreed: set[IncidentPriority]
) -> list[ServiceIncidentFigures]:
    """Every priority: (opened, within response, resolved, within resolution) as given, none otherwise;
    the agreed priorities' targets are tighter than the defaults (TARGETS)."""
    figures = []
    for target in TARGETS:
        opened, answered, resolved, restored = counted.get(target.priority, (0, 0, 0, 0))
        tighter = 0.5 if target.priority in agreed else 1.0
        response, resolution = (target.response_minutes or 0) * tighter, (target.resolution_minutes or 0) * tighter
        figures.append(
            ServiceIncidentFigures(
                priority=target.priority,
                opened=opened,
                resolved=resolved,
                mean_resolution_minutes=resolution * 0.9 if resolved else None,
                resolution_target_minutes=resolution,
                within_resolution_target=restored,
                mean_response_minutes=response * 0.8 if opened else None,
                response_target_minutes=response,
                within_response_target=answered,
                agreed=target.priority in agreed,
            )
        )
    return figures


def _service(
    uid: str,
    name: str,
    target: float | None,
    downtime: float,
    outages: int,
    windows: list[OutageWindow],
    compliance: list[ServiceIncidentFigures] | None = None,
) -> ServiceAvailability:
    availability = 100 * (MONTH_MINUTES - downtime) / MONTH_MINUTES
    allowed = None if target is None else MONTH_MINUTES * (100 - target) / 100
    verdict = (
        SlaVerdict.NO_TARGET if target is None else SlaVerdict.MET if availability >= target else SlaVerdict.BREACHED
    )
    return ServiceAvailability(
        service_uid=uid,
        service_name=name,
        target_percent=target,
        service_hours="24x7",
        scheduled_minutes=MONTH_MINUTES,
        downtime_minutes=downtime,
        degraded_minutes=35.0,
        availability_percent=availability,
        outages=outages,
        mttr_minutes=downtime / outages if outages else None,
        mtbf_hours=(MONTH_MINUTES - downtime) / 60 / outages if outages else None,
        verdict=verdict,
        margin_percent=None if target is None else availability - target,
        margin_minutes=None if allowed is None else allowed - downtime,
        windows=windows,
        incident_targets=TARGETS,
        incident_compliance=compliance or _compliance({}, set()),
    )


def sample_report() -> ServiceReport:
    start = datetime(2026, 11, 1, tzinfo=UTC)
    outage = OutageWindow(
        start=start + timedelta(days=11, hours=9),
        end=start + timedelta(days=11, hours=12, minutes=36),
        kind=OutageKind.DOWN,
        minutes_in_service_hours=216.0,
        incidents=["INC0042", "INC0043"],
        cis=["host-db-01", "ci-<lb> & co"],
    )
    second = OutageWindow(
        start=start + timedelta(days=20, hours=2),
        end=start + timedelta(days=20, hours=2, minutes=44),
        kind=OutageKind.DOWN,
        minutes_in_service_hours=44.0,
        incidents=["INC0077"],
        cis=["host-db-01"],
    )
    critical, high, medium, low = list(IncidentPriority)
    services = [
        _service("svc-shop", "Web shop", 99.9, 18.0, 1, [], _compliance({medium: (1, 1, 1, 1)}, set())),
        _service(
            "svc-pay",
            "Payments <EU> & cards",
            99.5,
            260.0,
            2,
            [outage, second],
            _compliance({critical: (2, 1, 2, 1), high: (3, 3, 3, 2)}, {critical, high}),
        ),
        _service("svc-mail", "Mail", 99.0, 0.0, 0, []),  # no incident reached it: no row
        _service("svc-wiki", "Intranet wiki", None, 95.0, 2, [], _compliance({low: (2, 2, 1, 1)}, set())),
    ]
    trend = []
    for index in range(30):
        opened = {
            IncidentPriority.CRITICAL: 1 if index in (11, 23) else 0,
            IncidentPriority.HIGH: (index * 7) % 3 // 2,
            IncidentPriority.MEDIUM: 1 + (index * 5) % 3,
            IncidentPriority.LOW: (index * 3) % 4,
        }
        trend.append(IncidentTrendPoint(day=date(2026, 11, 1) + timedelta(days=index), opened=opened))
    accuracy = [
        AccuracyPoint(
            day=date(2026, 11, 1) + timedelta(days=index),
            cis=1200 + index * 3,
            not_verified=40 - index if index < 20 else 25,
            single_source=18,
            suspected_duplicates=4 if index < 15 else 2,
            unauthorised_changes=index % 5,
            accurate_percent=None if index == 7 else 93.0 + index * 0.15,
        )
        for index in range(30)
    ]
    incidents = [
        IncidentFigures(
            priority=target.priority,
            opened=sum(p.opened[target.priority] for p in trend),
            resolved=sum(p.opened[target.priority] for p in trend) - 1,
            mean_resolution_minutes=(target.resolution_minutes or 0) * 0.8,
            resolution_target_minutes=target.resolution_minutes,
            within_resolution_target=sum(p.opened[target.priority] for p in trend) - 2,
            mean_response_minutes=(target.response_minutes or 0) * 0.5,
            response_target_minutes=target.response_minutes,
            within_response_target=sum(p.opened[target.priority] for p in trend) - 1,
        )
        for target in TARGETS
    ]
    return ServiceReport(
        period=ReportPeriod(label="2026-11", start=start, end=datetime(2026, 12, 1, tzinfo=UTC), time_zone="UTC"),
        generated_at=datetime(2026, 12, 1, 6, 0, tzinfo=UTC),
        services=services,
        changes=ChangeFigures(
            closed=26,
            successful=24,
            failed=2,
            success_rate_percent=100 * 24 / 26,
            emergency=3,
            emergency_share_percent=100 * 3 / 26,
            caused_incidents=["CHG0017"],
        ),
        incidents=incidents,
        incident_trend=trend,
        problems=ProblemFigures(open=3, oldest_open_days=41.5, median_open_age_days=12.0),
        accuracy=accuracy,
    )
