"""Sources of reports: what the CMDB keeps of each, and an admin's way to unblock one."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter

from cmdb_server.api.deps import DriverDep, SettingsDep
from cmdb_server.auth import Admin, Reader
from cmdb_server.errors import NotFound
from cmdb_server.models.sources import SourceList, SourcePublic, SourceReset, SourceResetResult
from cmdb_server.repositories import sources

router = APIRouter(prefix="/sources", tags=["ingest"])


@router.get("", response_model=SourceList, summary="Every source that has reported, with its last times")
async def list_sources(_: Reader, driver: DriverDep, settings: SettingsDep) -> SourceList:
    rows = await sources.list_sources(driver, settings.neo4j_database)
    return SourceList(sources=[SourcePublic(**row) for row in rows])


@router.post("/reset", response_model=SourceResetResult, summary="Reset a source's state (admin)")
async def reset_source(body: SourceReset, _: Admin, driver: DriverDep, settings: SettingsDep) -> SourceResetResult:
    """The source's next report applies whatever its date, and in full (a clock that ran
    ahead left a last report time in the future). With ``unbind``, the agent token that
    speaks for it lets go of it and of its host, so that a new token may take them. The CIs
    and relations the source reported are kept."""
    known, unbound = await sources.reset_source(
        driver, settings.neo4j_database, body.source, body.unbind, datetime.now(UTC)
    )
    if not known and not unbound:
        raise NotFound(f"no source {body.source[:100]!r} has reported", field="source")
    return SourceResetResult(source=body.source, unbound_tokens=unbound)
