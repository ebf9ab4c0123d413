"""Availability computed from outage spans and service hours (cmdb_server/availability.py).

Every expected figure is worked out by hand in the comments. March 2026 starts on a Sunday;
Europe/Paris moves to summer time on Sunday 29 March (02:00 -> 03:00) and back on Sunday
25 October (03:00 -> 02:00).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from cmdb_server.availability import (
    IncidentSpan,
    clip,
    describe,
    measure,
    minutes,
    overlap_minutes,
    service_intervals,
    stretches,
    union,
)
from cmdb_server.models.service_report import OutageKind, PriorityTarget, ReportPeriod, SlaVerdict
from schema import ImpactState
from schema.service_levels import DailyWindow, ServiceHours, preset_hours

PARIS = ZoneInfo("Europe/Paris")


def paris(day: int, hour: int = 0, minute: int = 0, month: int = 3) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=PARIS)


def month(number: int, zone: str = "Europe/Paris") -> ReportPeriod:
    tz = ZoneInfo(zone)
    start = datetime(2026, number, 1, tzinfo=tz)
    end = datetime(2026 + number // 12, number % 12 + 1, 1, tzinfo=tz)
    return ReportPeriod(label=f"2026-{number:02d}", start=start, end=end, time_zone=zone)


def total(intervals: list[tuple[datetime, datetime]]) -> float:
    return sum(minutes(s, e) for s, e in intervals)


def test_a_month_of_24x7_is_one_hour_short_in_march_and_one_long_in_october_in_paris() -> None:
    march, october = month(3), month(10)
    always = preset_hours("24x7", "Europe/Paris")
    assert total(service_intervals(always, march.start, march.end)) == 31 * 1440 - 60  # 44,580
    assert total(service_intervals(always, october.start, october.end)) == 31 * 1440 + 60  # 44,700
    assert service_intervals(always, march.start, march.end) == [(march.start, march.end)]  # one merged interval
    utc = month(3, "UTC")
    assert total(service_intervals(always, utc.start, utc.end)) == 31 * 1440  # instants: no transition in UTC


def test_the_transition_day_itself_counts_its_own_length() -> None:
    always = preset_hours("24x7", "Europe/Paris")
    assert total(service_intervals(always, paris(29), paris(30))) == 23 * 60
    assert total(service_intervals(always, paris(25, month=10), paris(26, month=10))) == 25 * 60
    # business hours on a transition day are still 10 h of the local clock
    sunday = ServiceHours("Europe/Paris", (DailyWindow(6, 8 * 60, 18 * 60),))
    assert total(service_intervals(sunday, paris(29), paris(30))) == 600
    assert service_intervals(sunday, paris(29), paris(30)) == [(paris(29, 8).astimezone(UTC), paris(29, 18))]


def test_business_hours_of_march_are_22_weekdays_of_ten_hours_minus_holidays() -> None:
    # March 2026: Sundays 1, 8, 15, 22, 29 and Saturdays 7, 14, 21, 28: 31 - 9 = 22 weekdays
    period = month(3)
    hours = preset_hours("business_hours", "Europe/Paris")
    assert total(service_intervals(hours, period.start, period.end)) == 22 * 600  # 13,200
    # a weekday holiday takes its 600 minutes away; a Saturday holiday takes nothing
    holidays = preset_hours("business_hours", "Europe/Paris", (date(2026, 3, 2), date(2026, 3, 7)))
    assert total(service_intervals(holidays, period.start, period.end)) == 21 * 600
    # a period that starts mid-window is cut there: Monday 2 March from 10:00
    assert total(service_intervals(hours, paris(2, 10), paris(3))) == 8 * 60


def test_holidays_are_local_dates_of_the_services_time_zone() -> None:
    # Tokyo is 9 h ahead: its 1 January 24x7 is 31 December 15:00 .. 1 January 15:00 UTC
    hours = preset_hours("24x7", "Asia/Tokyo", (date(2026, 1, 1),))
    start, end = datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 1, 2, tzinfo=UTC)
    assert service_intervals(hours, start, end) == [(datetime(2026, 1, 1, 15, tzinfo=UTC), end)]


def test_union_merges_overlapping_and_touching_intervals() -> None:
    a, b, c, d = paris(2, 8), paris(2, 10), paris(2, 12), paris(2, 14)
    assert union([(c, d), (a, c), (b, c)]) == [(a.astimezone(UTC), d.astimezone(UTC))]
    assert union([(a, b), (c, d), (b, b)]) == [(a, b), (c, d)]
    assert overlap_minutes((paris(2, 9), paris(2, 13)), [(a, b), (c, d)]) == 60 + 60


def test_clip_keeps_the_part_of_each_span_within_the_period() -> None:
    spans = [
        IncidentSpan("INC1", ("db",), paris(28, 22, month=2), paris(1, 2)),  # from February into March
        IncidentSpan("INC2", ("db",), paris(31, 23), paris(1, 1, month=4)),  # into April
        IncidentSpan("INC3", ("db",), paris(1, 1, month=4), paris(1, 2, month=4)),  # April only
    ]
    period = month(3)
    assert [(s.number, minutes(s.start, s.end)) for s in clip(spans, period.start, period.end)] == [
        ("INC1", 120),
        ("INC2", 60),
    ]


# web1 or web2 alone leaves the service degraded (two redundant hosts); both, or db, take it down
def shop_state(troubled: frozenset[str]) -> ImpactState | None:
    if "db" in troubled or {"web1", "web2"} <= troubled:
        return ImpactState.DOWN
    return ImpactState.DEGRADED if troubled & {"web1", "web2"} else None


def test_overlapping_incidents_make_one_window_and_redundancy_is_down_only_for_the_overlap() -> None:
    spans = [
        IncidentSpan("INC1", ("db",), paris(2, 9), paris(2, 11)),
        IncidentSpan("INC2", ("db",), paris(2, 10), paris(2, 12)),  # overlaps INC1: one window 09:00-12:00
        IncidentSpan("INC3", ("web1",), paris(3, 9), paris(3, 12)),
        IncidentSpan("INC4", ("web2",), paris(3, 10), paris(3, 11)),  # with web1: down 10-11 only
    ]
    found = [(s.kind, s.start, s.end, sorted(s.incidents)) for s in stretches(spans, shop_state)]
    assert found == [
        (OutageKind.DOWN, paris(2, 9), paris(2, 12), ["INC1", "INC2"]),
        (OutageKind.DEGRADED, paris(3, 9), paris(3, 10), ["INC3"]),
        (OutageKind.DOWN, paris(3, 10), paris(3, 11), ["INC3", "INC4"]),
        (OutageKind.DEGRADED, paris(3, 11), paris(3, 12), ["INC3"]),
    ]


def test_a_span_whose_cis_do_not_trouble_the_service_makes_no_window() -> None:
    assert stretches([IncidentSpan("INC1", ("printer",), paris(2, 9), paris(2, 10))], shop_state) == []


TARGETS = [PriorityTarget(priority="critical", response_minutes=15, resolution_minutes=240)]


def test_figures_under_business_hours() -> None:
    period = month(3)
    hours = preset_hours("business_hours", "Europe/Paris", (date(2026, 3, 20),))  # a Friday
    spans = [
        IncidentSpan("INC1", ("db",), paris(2, 9), paris(2, 11)),  # db down 09-11 ...
        IncidentSpan("INC2", ("db",), paris(2, 10), paris(2, 12)),  # ... and 10-12: one outage of 180
        IncidentSpan("INC3", ("web1",), paris(3, 9), paris(3, 12)),  # degraded 9-10 and 11-12: 120
        IncidentSpan("INC4", ("web2",), paris(3, 10), paris(3, 11)),  # down 10-11: 60
        IncidentSpan("INC5", ("db",), paris(4, 19), paris(4, 23)),  # after hours: no downtime
        IncidentSpan("INC6", ("db",), paris(20, 9), paris(20, 10)),  # the holiday: no downtime
        IncidentSpan("INC7", ("db",), paris(31, 17), paris(1, 9, month=4)),  # to the period's end: 17-18 = 60
    ]
    result = measure("s1", "shop", 99.0, hours, period, spans, shop_state, TARGETS)
    # scheduled: 22 weekdays - 1 holiday = 21 x 600 = 12,600
    assert result.scheduled_minutes == 12_600
    assert result.service_hours == "Mon-Fri 08:00-18:00 Europe/Paris, 1 holiday"
    assert result.downtime_minutes == 180 + 60 + 60  # 300
    assert result.degraded_minutes == 120
    assert result.outages == 3  # INC5 and INC6 touch no service hours
    assert [w.minutes_in_service_hours for w in result.windows] == [180, 60, 60, 60, 0, 0, 60]
    assert result.windows[4].kind is OutageKind.DOWN
    assert result.windows[4].incidents == ["INC5"]
    assert result.windows[-1].end == period.end
    assert result.availability_percent == round((12_600 - 300) / 12_600 * 100, 4)  # 97.619
    assert result.mttr_minutes == 100  # 300 / 3
    assert result.mtbf_hours == round((12_600 - 300) / 3 / 60, 2)  # 68.33
    # 99 %: 1 % of 12,600 = 126 minutes allowed, 300 used: breached by 174
    assert result.verdict is SlaVerdict.BREACHED
    assert result.margin_minutes == -174
    assert result.margin_percent == round(97.619047619 - 99, 4)  # -1.381
    assert result.incident_targets == TARGETS


def test_the_same_incidents_under_24x7() -> None:
    period = month(3)
    spans = [
        IncidentSpan("INC1", ("db",), paris(2, 9), paris(2, 11)),
        IncidentSpan("INC2", ("db",), paris(2, 10), paris(2, 12)),
        IncidentSpan("INC5", ("db",), paris(4, 19), paris(4, 23)),
    ]
    result = measure("s1", "shop", 99.5, preset_hours("24x7", "Europe/Paris"), period, spans, shop_state, [])
    assert result.service_hours == "24x7"
    assert result.scheduled_minutes == 44_580  # the summer-time month
    assert result.downtime_minutes == 180 + 240
    assert result.outages == 2
    assert result.mttr_minutes == 210
    # 0.5 % of 44,580 = 222.9 minutes allowed, 420 used
    assert result.margin_minutes == round(222.9 - 420, 2)
    assert result.verdict is SlaVerdict.BREACHED


def test_met_exactly_at_the_target_and_without_one() -> None:
    period = month(3, "UTC")  # 44,640 minutes
    hours = preset_hours("24x7")
    # 99.9 %: 44.64 minutes allowed; an outage of exactly 44 min 38.4 s uses all of it
    spans = [IncidentSpan("INC1", ("db",), period.start, period.start + timedelta(minutes=44.64))]
    met = measure("s1", "shop", 99.9, hours, period, spans, shop_state, [])
    assert (met.verdict, met.margin_minutes, met.margin_percent) == (SlaVerdict.MET, 0, 0)
    none = measure("s1", "shop", None, hours, period, spans, shop_state, [])
    assert (none.verdict, none.margin_minutes, none.margin_percent) == (SlaVerdict.NO_TARGET, None, None)
    quiet = measure("s1", "shop", 99.9, hours, period, [], shop_state, [])
    assert (quiet.availability_percent, quiet.outages, quiet.mttr_minutes, quiet.mtbf_hours) == (100, 0, None, None)
    assert quiet.margin_minutes == 44.64
    assert quiet.verdict is SlaVerdict.MET


def test_no_service_hours_in_the_period_leaves_availability_undefined() -> None:
    period = month(3)
    hours = preset_hours("business_hours", "Europe/Paris", tuple(date(2026, 3, d) for d in range(1, 32)))
    result = measure("s1", "shop", 99.9, hours, period, [], shop_state, [])
    assert result.scheduled_minutes == 0
    assert result.availability_percent is None
    assert (result.verdict, result.margin_percent, result.margin_minutes) == (SlaVerdict.MET, None, 0)
    assert result.service_hours == "Mon-Fri 08:00-18:00 Europe/Paris, 31 holidays"


@pytest.mark.parametrize(
    ("windows", "text"),
    [
        ((DailyWindow(0, 480, 1080), DailyWindow(2, 480, 1080)), "Mon,Wed 08:00-18:00 UTC"),
        (
            (*(DailyWindow(d, 480, 1080) for d in range(5)), DailyWindow(5, 540, 720)),
            "Mon-Fri 08:00-18:00, Sat 09:00-12:00 UTC",
        ),
        (tuple(DailyWindow(d, 0, 1440) for d in range(7)), "24x7"),
    ],
)
def test_service_hours_in_words(windows: tuple[DailyWindow, ...], text: str) -> None:
    assert describe(ServiceHours("UTC", windows)) == text
