"""Availability measured, not typed (pure): a service's outage windows from its incidents,
clipped to its service hours, and the figures of a period.

The caller (service_levels.py) gives each incident of the period as a span (its CIs whose
impact reaches the service, opened .. resolved) and a function that tells the service's
state while a set of CIs is in trouble (the impact rules of impact.py). The time line is
cut wherever an incident starts or ends; in each piece the CIs of every incident then open
are in trouble together, so two redundant web hosts down at the same time take the service
down for exactly their overlap, while either alone leaves it degraded. Contiguous pieces of
one state make one window: overlapping incidents are counted once, and degraded time where
the service is also down counts as down only.

Service hours are the weekly windows in the service's time zone, day by day, so a day is
not 24 h on a daylight-saving transition; holidays (local dates) are removed. All instants
are handled in UTC: aware datetimes of one ZoneInfo compare by their wall clock.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from cmdb_server.models.service_report import (
    OutageKind,
    OutageWindow,
    PriorityTarget,
    ReportPeriod,
    ServiceAvailability,
    SlaVerdict,
)
from schema import ImpactState
from schema.service_levels import DAY_MINUTES, ServiceHours, Weekday, clock_text

Interval = tuple[datetime, datetime]
StateOf = Callable[[frozenset[str]], ImpactState | None]
"""The service's state while these CIs are in trouble together: down, degraded or None."""

EPSILON_MINUTES = 1e-6
"""Float slack when downtime is compared with the allowed downtime."""


@dataclass(frozen=True)
class IncidentSpan:
    """An incident as availability sees it: from its opening to its resolution (or the end
    of what is measured), and its affected CIs whose trouble reaches the service."""

    number: str
    cis: tuple[str, ...]
    start: datetime
    end: datetime


@dataclass
class Stretch:
    """A window of one state of the service, the incidents open during it, and their CIs."""

    start: datetime
    end: datetime
    kind: OutageKind
    incidents: set[str] = field(default_factory=set)
    cis: set[str] = field(default_factory=set)


def _utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("instants must carry their time zone")
    return value.astimezone(UTC)


def union(intervals: Iterable[Interval]) -> list[Interval]:
    """Intervals merged where they overlap or touch, sorted; empty ones dropped."""
    merged: list[Interval] = []
    for start, end in sorted((_utc(s), _utc(e)) for s, e in intervals if e > s):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def minutes(start: datetime, end: datetime) -> float:
    return max(0.0, (end - start).total_seconds() / 60)


def overlap_minutes(window: Interval, intervals: Iterable[Interval]) -> float:
    """Minutes of ``window`` within the (disjoint) intervals."""
    start, end = window
    return sum(minutes(max(start, s), min(end, e)) for s, e in intervals)


def _local(day: date, minute: int, zone: ZoneInfo) -> datetime:
    """The instant of a local clock time (24:00: the next day's midnight), in UTC."""
    if minute >= DAY_MINUTES:
        return datetime.combine(day + timedelta(days=1), time(), tzinfo=zone).astimezone(UTC)
    return datetime.combine(day, time(minute // 60, minute % 60), tzinfo=zone).astimezone(UTC)


def service_intervals(hours: ServiceHours, start: datetime, end: datetime) -> list[Interval]:
    """The service hours between two instants, merged: each day's windows at its own local
    clock (23 or 25 hours on a transition day), holidays left out."""
    zone = ZoneInfo(hours.time_zone)
    start, end = _utc(start), _utc(end)
    holidays = set(hours.holidays)
    by_day: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for window in hours.windows:
        by_day[window.day].append((window.start, window.end))
    found: list[Interval] = []
    day = start.astimezone(zone).date() - timedelta(days=1)
    last = end.astimezone(zone).date()
    while day <= last:
        if day not in holidays:
            for first, until in by_day.get(day.weekday(), ()):
                opens, closes = max(_local(day, first, zone), start), min(_local(day, until, zone), end)
                if opens < closes:
                    found.append((opens, closes))
        day += timedelta(days=1)
    return union(found)


def clip(spans: Iterable[IncidentSpan], start: datetime, end: datetime) -> list[IncidentSpan]:
    """The spans within [start, end), cut at its bounds; spans outside it dropped."""
    start, end = _utc(start), _utc(end)
    kept = []
    for span in spans:
        first, last = max(_utc(span.start), start), min(_utc(span.end), end)
        if first < last:
            kept.append(IncidentSpan(span.number, span.cis, first, last))
    return kept


def stretches(spans: list[IncidentSpan], state_of: StateOf) -> list[Stretch]:
    """The service's down and degraded windows over the spans' time line (see the module)."""
    bounds = sorted({s.start for s in spans} | {s.end for s in spans})
    found: list[Stretch] = []
    cache: dict[frozenset[str], ImpactState | None] = {}
    for start, end in itertools.pairwise(bounds):
        active = [s for s in spans if s.start < end and s.end > start]
        troubled = frozenset(ci for s in active for ci in s.cis)
        if not troubled:
            continue
        if troubled not in cache:
            cache[troubled] = state_of(troubled)
        state = cache[troubled]
        if state is None:
            continue
        kind = OutageKind(state.value)
        if found and found[-1].kind is kind and found[-1].end == start:
            found[-1].end = end
        else:
            found.append(Stretch(start, end, kind))
        found[-1].incidents |= {s.number for s in active}
        found[-1].cis |= troubled
    return found


def _days_text(days: list[int]) -> str:
    """Mon-Fri for a run of days, Sat for one; runs joined by commas."""
    names = [list(Weekday)[d].value.capitalize() for d in range(7)]
    runs: list[list[int]] = []
    for day in sorted(days):
        if runs and day == runs[-1][-1] + 1:
            runs[-1].append(day)
        else:
            runs.append([day])
    return ",".join(names[r[0]] if len(r) == 1 else f"{names[r[0]]}-{names[r[-1]]}" for r in runs)


def describe(hours: ServiceHours, start: datetime | None = None, end: datetime | None = None) -> str:
    """Service hours in words: '24x7', 'Mon-Fri 08:00-18:00 Europe/Paris, 2 holidays' (the
    holidays within start .. end when given, all declared otherwise)."""
    zone = ZoneInfo(hours.time_zone)
    if hours.always:
        text = "24x7"
    else:
        days: dict[tuple[int, int], list[int]] = defaultdict(list)
        for window in hours.windows:
            days[(window.start, window.end)].append(window.day)
        parts = sorted(days.items(), key=lambda item: (min(item[1]), item[0]))
        text = ", ".join(f"{_days_text(d)} {clock_text(s)}-{clock_text(e)}" for (s, e), d in parts)
    holidays = hours.holidays
    if start is not None and end is not None:
        first, last = _utc(start).astimezone(zone).date(), (_utc(end) - timedelta(microseconds=1)).astimezone(zone)
        holidays = tuple(h for h in holidays if first <= h <= last.date())
    if hours.always and not holidays:
        return text
    text = f"{text} {hours.time_zone}"
    if holidays:
        text += f", {len(holidays)} holiday{'s' if len(holidays) > 1 else ''}"
    return text


def _round(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)


def measure(
    service_uid: str,
    service_name: str,
    target_percent: float | None,
    hours: ServiceHours,
    period: ReportPeriod,
    spans: Iterable[IncidentSpan],
    state_of: StateOf,
    incident_targets: list[PriorityTarget],
) -> ServiceAvailability:
    """A service's availability over the period (every figure is defined in the README's
    "Service levels and availability"): minutes rounded to 0.01, percentages to 0.0001,
    MTBF to 0.01 h."""
    scheduled_intervals = service_intervals(hours, period.start, period.end)
    scheduled = sum(minutes(s, e) for s, e in scheduled_intervals)
    windows = []
    downtime = degraded = 0.0
    outages = 0
    for stretch in stretches(clip(spans, period.start, period.end), state_of):
        within = overlap_minutes((stretch.start, stretch.end), scheduled_intervals)
        if stretch.kind is OutageKind.DOWN:
            downtime += within
            outages += within > 0
        else:
            degraded += within
        windows.append(
            OutageWindow(
                start=stretch.start,
                end=stretch.end,
                kind=stretch.kind,
                minutes_in_service_hours=round(within, 2),
                incidents=sorted(stretch.incidents),
                cis=sorted(stretch.cis),
            )
        )
    availability = (scheduled - downtime) / scheduled * 100 if scheduled > 0 else None
    verdict, margin_percent, margin_minutes = SlaVerdict.NO_TARGET, None, None
    if target_percent is not None:
        allowed = scheduled * (100 - target_percent) / 100
        margin_minutes = allowed - downtime
        verdict = SlaVerdict.MET if margin_minutes >= -EPSILON_MINUTES else SlaVerdict.BREACHED
        margin_percent = None if availability is None else availability - target_percent
    return ServiceAvailability(
        service_uid=service_uid,
        service_name=service_name,
        target_percent=target_percent,
        service_hours=describe(hours, period.start, period.end),
        scheduled_minutes=round(scheduled, 2),
        downtime_minutes=round(downtime, 2),
        degraded_minutes=round(degraded, 2),
        availability_percent=_round(availability, 4),
        outages=outages,
        mttr_minutes=round(downtime / outages, 2) if outages else None,
        mtbf_hours=round((scheduled - downtime) / outages / 60, 2) if outages else None,
        verdict=verdict,
        margin_percent=_round(margin_percent, 4),
        margin_minutes=_round(margin_minutes, 2),
        windows=windows,
        incident_targets=incident_targets,
    )
