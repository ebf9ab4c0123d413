"""Releases: a named version bundling changes, deployed to CIs in a window."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query

from cmdb_server import release_service
from cmdb_server.api.deps import DriverDep, SchemaDep, SettingsDep
from cmdb_server.api.params import LinkedTo, PageLimit, PageOffset
from cmdb_server.api.records import actor, apply_transition, checked_cis, load_record, record_history, record_page
from cmdb_server.auth import Principal, Reader, require
from cmdb_server.errors import Unprocessable
from cmdb_server.models.impact import ReleaseAffected
from cmdb_server.models.records import RecordHistory, ReleaseCreate, ReleaseList, ReleasePublic, Transition
from cmdb_server.repositories import records
from schema import Capability
from schema.itsm import RELEASE_TRANSITIONS, ReleaseState

router = APIRouter(tags=["releases"])

ReleaseManager = Annotated[Principal, Depends(require(Capability.MANAGE_RELEASE))]
ReleaseId = Annotated[str, Path(min_length=1, max_length=40)]


async def _release(driver: DriverDep, db: str, release_id: str) -> dict[str, Any]:
    return await load_record(driver, db, records.RELEASE, release_id)


@router.post("/releases", status_code=201, summary="Plan a release", response_model=ReleasePublic)
async def create_release(
    body: ReleaseCreate, principal: ReleaseManager, driver: DriverDep, settings: SettingsDep
) -> Any:
    db = settings.neo4j_database
    targets = await checked_cis(driver, db, body.targets, "targets")
    missing = await records.missing_records(driver, db, "Change", body.changes)
    if missing:
        raise Unprocessable(f"no change {', '.join(repr(m) for m in missing)}", field="changes")
    props = {
        "name": body.name,
        "version": body.version,
        "state": ReleaseState.PLANNED.value,
        "window_start": body.window_start,
        "window_end": body.window_end,
    }
    now = datetime.now(UTC)
    release_id = await records.create_record(
        driver, db, records.RELEASE, props, {"DEPLOYS_TO": targets}, {"BUNDLES": body.changes}, actor(principal), now
    )
    return await _release(driver, db, release_id)


@router.get("/releases", summary="List releases, filtered, sorted and paged", response_model=ReleaseList)
async def list_releases(
    _: Reader,
    driver: DriverDep,
    settings: SettingsDep,
    state: Annotated[ReleaseState | None, Query(description="Only releases in this state.")] = None,
    ci: LinkedTo = None,
    sort: Annotated[
        str, Query(max_length=40, description=f"{', '.join(records.RELEASE.sortable)}; -x descends.")
    ] = "id",
    limit: PageLimit = 50,
    offset: PageOffset = 0,
) -> Any:
    filters = {"state": state}
    return await record_page(driver, settings.neo4j_database, records.RELEASE, filters, ci, limit, offset, sort)


@router.get("/releases/{release_id}", summary="One release", response_model=ReleasePublic)
async def get_release(release_id: ReleaseId, _: Reader, driver: DriverDep, settings: SettingsDep) -> Any:
    return await _release(driver, settings.neo4j_database, release_id)


@router.post(
    "/releases/{release_id}/transition",
    summary="planned -> approved -> deploying -> deployed -> closed",
    response_model=ReleasePublic,
)
async def move_release(
    release_id: ReleaseId, body: Transition, principal: ReleaseManager, driver: DriverDep, settings: SettingsDep
) -> Any:
    db = settings.neo4j_database
    release = await _release(driver, db, release_id)
    await apply_transition(
        driver, db, records.RELEASE, release, RELEASE_TRANSITIONS, "state", body.to, principal, note=body.note
    )
    return await _release(driver, db, release_id)


@router.get(
    "/releases/{release_id}/affected",
    summary="What a release touches, and what keeps it from being ready",
    response_model=ReleaseAffected,
)
async def release_affected(
    release_id: ReleaseId, _: Reader, driver: DriverDep, settings: SettingsDep, schema: SchemaDep
) -> Any:
    db = settings.neo4j_database
    return await release_service.readiness(driver, db, schema, await _release(driver, db, release_id))


@router.get(
    "/releases/{release_id}/history", summary="Who did what to a release, newest first", response_model=RecordHistory
)
async def release_history(release_id: ReleaseId, _: Reader, driver: DriverDep, settings: SettingsDep) -> Any:
    await _release(driver, settings.neo4j_database, release_id)
    return await record_history(driver, settings.neo4j_database, release_id)
