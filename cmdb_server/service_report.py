"""The monthly service report: service levels measured, processes in numbers, the record's
accuracy over the month (ISO/IEC 20000-1 8.3.3 and 9.1), put together from its three parts.

Each part reads the graph on its own (service_levels, process_figures, accuracy_series);
this module only asks them for the same period, at once, and dates the answer. The current
month is a report so far: problems are counted as they stand now, accuracy up to today.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from neo4j import AsyncDriver

from cmdb_server.accuracy_series import accuracy_series
from cmdb_server.models.service_report import ReportPeriod, ServiceReport
from cmdb_server.process_figures import change_figures, incident_figures, problem_figures
from cmdb_server.service_levels import services_availability
from schema import Schema


async def build_service_report(
    driver: AsyncDriver, database: str, schema: Schema, period: ReportPeriod, now: datetime | None = None
) -> ServiceReport:
    """The report of ``period`` as the graph holds it at ``now`` (default: this instant)."""
    now = now or datetime.now(UTC)
    until = min(period.end, now)
    zone = ZoneInfo(period.time_zone)
    first_day = period.start.astimezone(zone).date()
    last_day = (until - timedelta(microseconds=1)).astimezone(zone).date()
    services, changes, (incidents, trend), problems, accuracy = await asyncio.gather(
        services_availability(driver, database, schema, period),
        change_figures(driver, database, period),
        incident_figures(driver, database, period),
        problem_figures(driver, database, until),
        accuracy_series(driver, database, first_day, last_day),
    )
    return ServiceReport(
        period=period,
        generated_at=now,
        services=services,
        changes=changes,
        incidents=incidents,
        incident_trend=trend,
        problems=problems,
        accuracy=accuracy,
    )
