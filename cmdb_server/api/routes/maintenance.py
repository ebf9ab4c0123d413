"""Operator jobs that the server also runs on its own schedule."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from cmdb_server import accuracy_series
from cmdb_server.api.deps import DriverDep, SchemaDep, SettingsDep
from cmdb_server.api.params import Hours
from cmdb_server.auth import Principal, require
from cmdb_server.models.ci import StaleMarked
from cmdb_server.models.service_report import AccuracyPoint
from cmdb_server.repositories import cis
from schema import Capability

router = APIRouter(prefix="/maintenance", tags=["maintenance"])

Admin = Annotated[Principal, Depends(require(Capability.ADMINISTER))]


@router.post(
    "/mark-stale", summary="Mark CIs no source has seen within the window as stale", response_model=StaleMarked
)
async def mark_stale(
    _: Admin,
    driver: DriverDep,
    settings: SettingsDep,
    schema: SchemaDep,
    older_than_hours: Annotated[Hours | None, Query(description="Window; default CMDB_STALE_AFTER_HOURS.")] = None,
) -> dict[str, object]:
    hours = older_than_hours if older_than_hours is not None else settings.stale_after_hours
    now = datetime.now(UTC)
    cutoff = now - timedelta(hours=hours)
    marked = await cis.mark_stale(driver, settings.neo4j_database, cutoff, now, schema.shared_labels())
    return {"marked_stale": marked, "older_than_hours": hours}


@router.post(
    "/record-accuracy",
    summary="Count the configuration audit's findings now and keep them as today's accuracy point",
    response_model=AccuracyPoint,
)
async def record_accuracy(_: Admin, driver: DriverDep, settings: SettingsDep) -> AccuracyPoint:
    """What the daily job does (CMDB_ACCURACY_INTERVAL_SECONDS), at once: today's (UTC) point,
    replacing one recorded earlier today."""
    now = datetime.now(UTC)
    return await accuracy_series.record_accuracy(driver, settings.neo4j_database, now.date(), now)
