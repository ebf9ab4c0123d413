"""Record accuracy over time: the configuration audit's findings counted once a day and kept,
so a manager sees whether the CMDB gets truer (ISO/IEC 20000-1 8.2.6, 9.1).

A day's point counts, over the CIs in service (not retired) when it is recorded, those the
configuration audit (cmdb_server/audit.py, the same Cypher definitions) finds: not verified
within a day, known to one kind of source only, in a group of suspected duplicates; and the
changes discovery recorded that day (UTC) that no authorised change covers (the
unauthorised-changes report's rule). ``accurate_percent``: CIs with none of these findings
(no unauthorised change on them that day either), of the CIs in service. The past cannot be
audited again: a point says what the record was when it was taken; recording a day again
replaces its point.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from neo4j import AsyncDriver

from cmdb_server import audit
from cmdb_server.models.service_report import AccuracyPoint
from cmdb_server.repositories import accuracy as repo
from cmdb_server.repositories import audit as audit_repo

VERIFIED_WITHIN_HOURS = 24.0
"""A CI counts as verified when a source saw it within this many hours of the count."""


def day_bounds(day: date) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time(0), tzinfo=UTC)
    return start, start + timedelta(days=1)


def accurate_percent(cis: int, accurate: int) -> float | None:
    return round(100.0 * accurate / cis, 1) if cis else None


async def record_accuracy(driver: AsyncDriver, database: str, day: date, now: datetime | None = None) -> AccuracyPoint:
    """Count the findings as they are now and keep them as ``day``'s point (replacing one kept
    before); the unauthorised changes counted are those recorded within ``day`` (UTC)."""
    now = now or datetime.now(UTC)
    start, end = day_bounds(day)
    changes = [c for c in await audit.unauthorised_changes(driver, database, start) if c["at"] < end]
    counts = await audit_repo.finding_counts(
        driver, database, now - timedelta(hours=VERIFIED_WITHIN_HOURS), sorted({c["ci"]["uid"] for c in changes})
    )
    point = AccuracyPoint(
        day=day,
        cis=counts["cis"],
        not_verified=counts["not_verified"],
        single_source=counts["single_source"],
        suspected_duplicates=counts["suspected_duplicates"],
        unauthorised_changes=len(changes),
        accurate_percent=accurate_percent(counts["cis"], counts["accurate"]),
    )
    await repo.store_point(driver, database, point.model_dump(), now)
    return point


async def accuracy_series(driver: AsyncDriver, database: str, start: date, end: date) -> list[AccuracyPoint]:
    """The recorded points from ``start`` to ``end`` (both included), oldest first; a day
    nothing was recorded (the server was down) has no point rather than a made-up one."""
    rows = await repo.points_between(driver, database, start, end)
    # A share of no CI is stored as no property (Neo4j keeps no nulls).
    return [AccuracyPoint.model_validate({"accurate_percent": None} | r) for r in rows]


async def record_today_if_missing(driver: AsyncDriver, database: str, now: datetime | None = None) -> bool:
    """The periodic job's turn: record today's point unless one is kept; whether it recorded."""
    now = now or datetime.now(UTC)
    today = now.astimezone(UTC).date()
    if await repo.has_point(driver, database, today):
        return False
    await record_accuracy(driver, database, today, now)
    return True
