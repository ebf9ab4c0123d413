"""Evidence for ISO/IEC 20000: unauthorised changes and the configuration audit."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query

from cmdb_server import audit as audit_service
from cmdb_server.api.deps import DriverDep, SettingsDep
from cmdb_server.api.params import Hours, Instant
from cmdb_server.auth import Reader
from cmdb_server.models.audit import ConfigurationAudit, UnauthorisedChanges

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
