"""Evidence for ISO/IEC 20000: unauthorised changes and the configuration audit."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query

from cmdb_server import accuracy_series
from cmdb_server import audit as audit_service
from cmdb_server.api.deps import DriverDep, SettingsDep
from cmdb_server.api.params import Day, Hours, Instant
from cmdb_server.auth import Reader
from cmdb_server.errors import Unprocessable
from cmdb_server.models.audit import AccuracySeries, ConfigurationAudit, UnauthorisedChanges

router = APIRouter(prefix="/reports", tags=["audit"])


@router.get(
    "/unauthorised-changes",
    summary="Changes discovery recorded that no authorised change covers",
    response_model=UnauthorisedChanges,
)
async def unauthorised_changes(
    _: Reader,
    driver: DriverDep,
    settings: SettingsDep,
    since: Annotated[Instant, Query(description="From this time (ISO 8601 with a time zone).")],
) -> dict[str, Any]:
    """A change to a CI is authorised when an approved (or implementing, implemented,
    closed) change targets the CI or its parent and its planned window covers the time."""
    items = await audit_service.unauthorised_changes(driver, settings.neo4j_database, since)
    return {"since": since, "total": len(items), "items": items}


@router.get(
    "/configuration-audit",
    summary="Records not verified, known to one source only, or duplicated",
    response_model=ConfigurationAudit,
)
async def configuration_audit(
    _: Reader,
    driver: DriverDep,
    settings: SettingsDep,
    interval_hours: Annotated[Hours, Query(description="Verified means seen within this many hours.")] = 24,
) -> dict[str, Any]:
    return await audit_service.configuration_audit(driver, settings.neo4j_database, interval_hours, datetime.now(UTC))


MAX_SERIES_DAYS = 3660
"""The longest accuracy series one request reads: ten years of daily points."""


@router.get(
    "/accuracy", summary="Record accuracy day by day: the audit's findings counted", response_model=AccuracySeries
)
async def accuracy(
    _: Reader,
    driver: DriverDep,
    settings: SettingsDep,
    since: Annotated[Day | None, Query(alias="from", description="First day (YYYY-MM-DD); `to` - 30 days.")] = None,
    until: Annotated[Day | None, Query(alias="to", description="Last day, included; today (UTC) if absent.")] = None,
) -> AccuracySeries:
    """One point per day the server recorded (cmdb_server/accuracy_series.py says what each
    count is); days without a point were not recorded, not made up."""
    last = until or datetime.now(UTC).date()
    first = since or last - timedelta(days=30)
    if last < first:
        raise Unprocessable("`to` must not be before `from`", field="to", location="query")
    if (last - first).days >= MAX_SERIES_DAYS:
        raise Unprocessable(f"at most {MAX_SERIES_DAYS} days at once", field="from", location="query")
    items = await accuracy_series.accuracy_series(driver, settings.neo4j_database, first, last)
    return AccuracySeries(since=first, until=last, items=items)
