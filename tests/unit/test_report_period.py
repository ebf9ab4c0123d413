"""The month a service report covers: YYYY-MM in the report's time zone, refused by name."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from cmdb_server.config import Settings
from cmdb_server.errors import Unprocessable
from cmdb_server.report_period import parse_period, previous_month

NOW = datetime(2026, 12, 1, 5, 0, tzinfo=UTC)


def test_a_month_in_utc_runs_from_its_first_instant_to_the_next_months() -> None:
    period = parse_period("2026-11", "UTC", now=NOW)
    assert (period.label, period.time_zone) == ("2026-11", "UTC")
    assert period.start == datetime(2026, 11, 1, tzinfo=UTC)
    assert period.end == datetime(2026, 12, 1, tzinfo=UTC)


def test_a_month_is_counted_in_the_report_time_zone() -> None:
    period = parse_period("2026-11", "Europe/Paris", now=NOW)
    assert period.start.astimezone(UTC) == datetime(2026, 10, 31, 23, 0, tzinfo=UTC)
    assert period.end.astimezone(UTC) == datetime(2026, 11, 30, 23, 0, tzinfo=UTC)
    december = parse_period("2025-12", "Europe/Paris", now=NOW)
    assert december.end.astimezone(UTC) == datetime(2025, 12, 31, 23, 0, tzinfo=UTC)


def test_the_current_month_is_a_report_so_far_and_the_next_one_is_refused() -> None:
    assert parse_period("2026-12", "UTC", now=NOW).label == "2026-12"
    with pytest.raises(Unprocessable, match="not begun") as refused:
        parse_period("2027-01", "UTC", now=NOW)
    assert refused.value.field == "period"
    # 05:00 UTC on 1 December is still 30 November in Los Angeles: December has not begun there.
    with pytest.raises(Unprocessable, match="not begun"):
        parse_period("2026-12", "America/Los_Angeles", now=NOW)


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("2026-13", "01 to 12"),
        ("2026-00", "01 to 12"),
        ("1969-01", "before 1970"),
        ("november", "not a month"),
        ("2026-1", "not a month"),
        ("2026-11\n", "not a month"),
        ("\uff12\uff10\uff12\uff16-11", "not a month"),  # digits, but not ASCII
        ("", "not a month"),
    ],
)
def test_what_is_not_a_month_is_422_naming_period(text: str, why: str) -> None:
    with pytest.raises(Unprocessable, match=why) as refused:
        parse_period(text, "UTC", now=NOW)
    assert (refused.value.field, refused.value.location) == ("period", "query")


def test_without_a_period_the_report_is_of_the_last_whole_month() -> None:
    assert previous_month(NOW, "UTC") == "2026-11"
    assert previous_month(datetime(2026, 1, 15, tzinfo=UTC), "UTC") == "2025-12"
    assert previous_month(NOW, "America/Los_Angeles") == "2026-10"


def test_the_report_time_zone_setting_must_be_an_iana_zone() -> None:
    assert Settings(report_time_zone="Europe/Paris").report_time_zone == "Europe/Paris"
    with pytest.raises(ValueError, match="not an IANA time zone"):
        Settings(report_time_zone="Mars/Olympus")
