"""What the service report answers: service levels measured, processes in numbers, the
record's accuracy over time (ISO/IEC 20000-1 8.3.3 and 9.1).

One model shared by its three parts and its readers: availability (cmdb_server/availability.py
and service_levels.py fill ``ServiceAvailability``), process figures (process_figures.py fills
``ChangeFigures``, ``IncidentFigures``, ``ProblemFigures``), the accuracy series
(accuracy_series.py fills ``AccuracyPoint``); service_report.py puts them together and the
HTML/PDF document and the web page render the same object. Durations are minutes (float)
unless the name says otherwise; percentages are 0-100.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from pydantic import BaseModel, Field

from schema.itsm import IncidentPriority


class SlaVerdict(StrEnum):
    MET = "met"
    BREACHED = "breached"
    NO_TARGET = "no_target"  # the service declares no availability target


class OutageKind(StrEnum):
    DOWN = "down"  # counts against availability
    DEGRADED = "degraded"  # reported apart, not an outage


class ReportPeriod(BaseModel):
    label: str = Field(description="The month, YYYY-MM.")
    start: datetime = Field(description="First instant of the month in the report's time zone.")
    end: datetime = Field(description="First instant of the next month (exclusive).")
    time_zone: str = Field(description="IANA time zone the month is counted in (CMDB_REPORT_TIME_ZONE).")


class OutageWindow(BaseModel):
    start: datetime
    end: datetime = Field(description="Its end, or the period's end for an incident still open then.")
    kind: OutageKind
    minutes_in_service_hours: float = Field(description="Of this window, the minutes within service hours.")
    incidents: list[str] = Field(description="Incident numbers whose impact makes this window (overlaps merged).")
    cis: list[str] = Field(description="uids of the incidents' CIs whose impact reaches the service.")
    ci_names: list[str] = Field(
        default_factory=list, description="Their names (the uid where a CI has none), in the order of ``cis``."
    )


class PriorityTarget(BaseModel):
    priority: IncidentPriority
    response_minutes: float | None = None
    resolution_minutes: float | None = None


class IncidentFigures(BaseModel):
    """Incidents of one priority against its targets (cmdb_server/incident_compliance.py)."""

    priority: IncidentPriority
    opened: int = Field(description="Opened in the period: what the response figures count.")
    resolved: int = Field(description="Resolved in the period and resolved (or closed) still: the resolution figures.")
    mean_resolution_minutes: float | None
    resolution_target_minutes: float | None
    within_resolution_target: int = Field(description="Of the resolved, those resolved within the target.")
    mean_response_minutes: float | None
    response_target_minutes: float | None
    within_response_target: int = Field(description="Of the opened, those first taken in progress within the target.")


class ServiceIncidentFigures(IncidentFigures):
    """A service's incidents of one priority against the targets of its service level."""

    agreed: bool = Field(description="The service agreed these targets; false: the service desk's default.")


class ServiceAvailability(BaseModel):
    service_uid: str
    service_name: str
    target_percent: float | None = Field(description="Agreed availability over the period; null: none agreed.")
    service_hours: str = Field(description="In words: '24x7', 'Mon-Fri 08:00-18:00 Europe/Paris, 2 holidays'.")
    scheduled_minutes: float = Field(description="Service hours in the period: what availability is a share of.")
    downtime_minutes: float = Field(description="Down time within service hours, overlapping incidents counted once.")
    degraded_minutes: float = Field(description="Degraded (not down) time within service hours, apart.")
    availability_percent: float | None = Field(description="(scheduled - downtime) / scheduled; null without hours.")
    outages: int = Field(description="Down windows (merged) touching service hours.")
    mttr_minutes: float | None = Field(description="Mean down time per outage (within service hours).")
    mtbf_hours: float | None = Field(description="Mean service time between outages: (scheduled - down) / outages.")
    verdict: SlaVerdict
    margin_percent: float | None = Field(description="availability - target, in percentage points.")
    margin_minutes: float | None = Field(description="Allowed down time left (negative: over by).")
    windows: list[OutageWindow]
    incident_targets: list[PriorityTarget] = Field(description="Response and resolution targets by priority.")
    incident_compliance: list[ServiceIncidentFigures] = Field(
        default_factory=list,
        description="Every priority: the incidents counted for this availability against the service's own "
        "response and resolution targets (agreed, or the service desk's default).",
    )


class ChangeFigures(BaseModel):
    closed: int = Field(description="Changes that ended in the period: implemented, closed or failed.")
    successful: int
    failed: int
    success_rate_percent: float | None
    emergency: int
    emergency_share_percent: float | None
    caused_incidents: list[str] = Field(description="Changes named as a suspect of an incident opened in the period.")


class ProblemFigures(BaseModel):
    open: int
    oldest_open_days: float | None
    median_open_age_days: float | None


class IncidentTrendPoint(BaseModel):
    day: date
    opened: dict[IncidentPriority, int]


class AccuracyPoint(BaseModel):
    day: date
    cis: int = Field(description="Active CIs that day.")
    not_verified: int
    single_source: int
    suspected_duplicates: int
    unauthorised_changes: int
    accurate_percent: float | None = Field(description="Share of active CIs with no finding.")


class ServiceReport(BaseModel):
    period: ReportPeriod
    generated_at: datetime
    services: list[ServiceAvailability]
    changes: ChangeFigures
    incidents: list[IncidentFigures]
    incident_trend: list[IncidentTrendPoint]
    problems: ProblemFigures
    accuracy: list[AccuracyPoint]
