"""Releases: a named version bundling changes, deployed to CIs in a window."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query

from cmdb_server.api.deps import DriverDep, SchemaDep, SettingsDep
from cmdb_server.api.params import LinkedTo, PageLimit, PageOffset
from cmdb_server.api.records import actor, apply_transition, checked_cis, load_record, record_history, record_page
from cmdb_server.auth import Principal, Reader, require
from cmdb_server.errors import Unprocessable
from cmdb_server.impact_service import DEFAULT_DEPTH, impact_of
from cmdb_server.models.impact import ReleaseAffected
from cmdb_server.models.records import RecordHistory, ReleaseCreate, ReleaseList, ReleasePublic, Transition
from cmdb_server.repositories import records
from schema import Capability
from schema.itsm import CHANGE_AUTHORISED, INCIDENT_OPEN, RELEASE_TRANSITIONS, ReleaseState

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


@router.get("/releases", summary="List releases, filtered and paged", response_model=ReleaseList)
async def list_releases(
    _: Reader,
    driver: DriverDep,
    settings: SettingsDep,
    state: Annotated[ReleaseState | None, Query(description="Only releases in this state.")] = None,
    ci: LinkedTo = None,
    limit: PageLimit = 50,
    offset: PageOffset = 0,
) -> Any:
    return await record_page(driver, settings.neo4j_database, records.RELEASE, {"state": state}, ci, limit, offset)


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
    release = await _release(driver, db, release_id)
    targets = await records.linked_ci_uids(driver, db, records.RELEASE, release_id)
    impact = await impact_of(targets, DEFAULT_DEPTH, driver, db, schema) if targets else None
    problems = []
    start, end = release["window_start"], release["window_end"]
    bundled = [r["id"] for r in release["records"] if r["type"] == "BUNDLES"]
    for change_id in bundled:
        change = await records.get_record(driver, db, records.CHANGE, change_id)
        if change is None:
            continue
        if change["state"] not in CHANGE_AUTHORISED:
            problems.append(f"change {change_id} is {change['state']}, not approved")
        if change["planned_start"] < start or change["planned_end"] > end:
            problems.append(
                f"change {change_id} is planned {change['planned_start'].isoformat()} - "
                f"{change['planned_end'].isoformat()}, outside the release window"
            )
    services = {s["uid"]: s["name"] for s in impact["business_services"]} if impact else {}
    for freeze in await records.freezes_in_window(driver, db, start, end):
        covered = sorted(services[uid] or uid for uid in set(freeze["services"]) & set(services))
        if not freeze["services"] and services:
            covered = sorted(name or uid for uid, name in services.items())
        if covered:
            problems.append(
                f"the window falls in freeze window {freeze['name']} ({freeze['start'].isoformat()} - "
                f"{freeze['end'].isoformat()}) covering {', '.join(covered)}"
            )
    incidents = (
        await records.records_on_cis(driver, db, records.INCIDENT, "status", sorted(INCIDENT_OPEN), targets)
        if targets
        else []
    )
    problems += [f"open incident {i['id']} ({i['title']}) on a target" for i in incidents]
    if not targets:
        problems.append("the release deploys to no CI")
    return {
        "release": release_id,
        "targets": impact["roots"] if impact else [],
        "affected": {k: impact[k] for k in ("total", "by_class", "items")} if impact else {"total": 0},
        "business_services": impact["business_services"] if impact else [],
        "ready": not problems,
        "readiness_problems": problems,
    }


@router.get(
    "/releases/{release_id}/history", summary="Who did what to a release, newest first", response_model=RecordHistory
)
async def release_history(release_id: ReleaseId, _: Reader, driver: DriverDep, settings: SettingsDep) -> Any:
    await _release(driver, settings.neo4j_database, release_id)
    return await record_history(driver, settings.neo4j_database, release_id)
