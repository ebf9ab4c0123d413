"""The month a service report covers, counted in the report's time zone.

A month is what a manager asks for ("November"), and service levels are agreed per
calendar month where the business is: 2026-11 in Europe/Paris starts at
2026-10-31T23:00Z. The time zone is one setting (``CMDB_REPORT_TIME_ZONE``) so every
reader of a month's report (API, CLI, page, PDF) counts the same instants.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cmdb_server.errors import Unprocessable
from cmdb_server.models.service_report import ReportPeriod
from schema.values import LIMITS

PERIOD_PATTERN = r"^[0-9]{4}-[0-9]{2}$"
PERIOD_DESCRIPTION = "The month, YYYY-MM (2026-11), counted in CMDB_REPORT_TIME_ZONE; at most the current month."
_PERIOD = re.compile(PERIOD_PATTERN)


def report_zone(name: str) -> ZoneInfo:
    """The IANA zone of that name; ValueError naming it when there is none (the setting's check)."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"{name!r} is not an IANA time zone such as UTC or Europe/Paris") from None


def month_of(at: datetime, time_zone: str) -> str:
    """The YYYY-MM that instant falls in, in the report's time zone."""
    return at.astimezone(report_zone(time_zone)).strftime("%Y-%m")


def previous_month(now: datetime, time_zone: str) -> str:
    """The last whole month before ``now``: what a report asked for without a period covers."""
    local = now.astimezone(report_zone(time_zone))
    year, month = (local.year, local.month - 1) if local.month > 1 else (local.year - 1, 12)
    return f"{year:04d}-{month:02d}"


def parse_period(text: str, time_zone: str, now: datetime | None = None) -> ReportPeriod:
    """The month ``text`` names, from its first instant to the next month's first, in
    ``time_zone``. Refused (422 naming ``period``): anything but YYYY-MM, a month before the
    earliest time the record holds (1970), and a month after the current one (nothing to
    report yet). The current month is allowed: a report so far."""
    zone = report_zone(time_zone)
    shown = text[:20]
    if not _PERIOD.fullmatch(text):
        raise Unprocessable(f"{shown!r} is not a month: use YYYY-MM, e.g. 2026-11", field="period", location="query")
    year, month = int(text[:4]), int(text[5:])
    if not 1 <= month <= 12:
        raise Unprocessable(f"{shown!r}: a month is 01 to 12", field="period", location="query")
    if year < LIMITS.earliest.year:
        raise Unprocessable(
            f"{shown!r} is before {LIMITS.earliest.year}: the record holds nothing earlier",
            field="period",
            location="query",
        )
    current = (now or datetime.now(UTC)).astimezone(zone)
    if (year, month) > (current.year, current.month):
        raise Unprocessable(
            f"{shown!r} has not begun yet (this month is {current:%Y-%m} in {time_zone})",
            field="period",
            location="query",
        )
    start = datetime(year, month, 1, tzinfo=zone)
    end = datetime(year + 1, 1, 1, tzinfo=zone) if month == 12 else datetime(year, month + 1, 1, tzinfo=zone)
    return ReportPeriod(label=text, start=start, end=end, time_zone=time_zone)
