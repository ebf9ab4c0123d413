"""Incidents and problems: what is broken, what caused it, and what changed under it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query

from cmdb_server import incident_service
from cmdb_server.api.deps import DriverDep, SchemaDep, SettingsDep
from cmdb_server.api.params import LinkedTo, PageLimit, PageOffset
from cmdb_server.api.records import (
    actor,
    apply_transition,
    checked_cis,
    load_record,
    record_history,
    record_page,
    requested_edits,
    save_edits,
)
from cmdb_server.auth import Principal, Reader, require
from cmdb_server.impact_service import DEFAULT_DEPTH, MAX_DEPTH
from cmdb_server.models.impact import IncidentSuspects
from cmdb_server.models.records import (
    IncidentCreate,
    IncidentList,
    IncidentPublic,
    IncidentUpdate,
    ProblemCreate,
    ProblemList,
    ProblemPublic,
    ProblemUpdate,
    RecordHistory,
    Transition,
)
from cmdb_server.repositories import records
from schema import Capability
from schema.itsm import (
    PROBLEM_TRANSITIONS,
    IncidentPriority,
    IncidentStatus,
    ProblemStatus,
)

router = APIRouter(tags=["incidents and problems"])

Responder = Annotated[Principal, Depends(require(Capability.RESPOND_INCIDENT))]
RecordId = Annotated[str, Path(min_length=1, max_length=40)]


_record = load_record


@router.get("/incidents", summary="List incidents, filtered and paged", response_model=IncidentList)
async def list_incidents(
    _: Reader,
    driver: DriverDep,
    settings: SettingsDep,
    status: Annotated[IncidentStatus | None, Query()] = None,
    priority: Annotated[IncidentPriority | None, Query()] = None,
    assignee: Annotated[str | None, Query(min_length=1, max_length=200)] = None,
    support_group: Annotated[str | None, Query(min_length=1, max_length=200)] = None,
    ci: LinkedTo = None,
    limit: PageLimit = 50,
    offset: PageOffset = 0,
) -> Any:
    filters = {"status": status, "priority": priority, "assignee": assignee, "support_group": support_group}
    return await record_page(driver, settings.neo4j_database, records.INCIDENT, filters, ci, limit, offset)


@router.patch(
    "/incidents/{incident_id}",
    summary="Edit an incident (assign it, link it to a problem)",
    response_model=IncidentPublic,
)
async def update_incident(
    incident_id: RecordId, body: IncidentUpdate, principal: Responder, driver: DriverDep, settings: SettingsDep
) -> Any:
    """Impact and urgency give the priority again; ``problem`` links it to a problem (its
    earlier link replaced). Every change is in its history."""
    return await incident_service.edit_incident(driver, settings.neo4j_database, incident_id, body, principal)


@router.post(
    "/incidents", status_code=201, summary="Open an incident on the CIs it affects", response_model=IncidentPublic
)
async def create_incident(body: IncidentCreate, principal: Responder, driver: DriverDep, settings: SettingsDep) -> Any:
    return await incident_service.open_incident(driver, settings.neo4j_database, body, principal)


@router.get("/incidents/{incident_id}", summary="One incident", response_model=IncidentPublic)
async def get_incident(incident_id: RecordId, _: Reader, driver: DriverDep, settings: SettingsDep) -> Any:
    return await _record(driver, settings.neo4j_database, records.INCIDENT, incident_id)


@router.post(
    "/incidents/{incident_id}/transition",
    summary="new -> in_progress -> resolved -> closed",
    response_model=IncidentPublic,
)
async def move_incident(
    incident_id: RecordId, body: Transition, principal: Responder, driver: DriverDep, settings: SettingsDep
) -> Any:
    return await incident_service.move_incident(
        driver, settings.neo4j_database, incident_id, body.to, body.note, principal
    )


@router.get(
    "/incidents/{incident_id}/suspects",
    summary="What changed upstream of the affected CIs before it opened",
    response_model=IncidentSuspects,
)
async def incident_suspects(
    incident_id: RecordId,
    _: Reader,
    driver: DriverDep,
    settings: SettingsDep,
    schema: SchemaDep,
    hours: Annotated[
        float, Query(gt=0, le=24 * 90, description="How far back before the incident to look.")
    ] = incident_service.SUSPECT_HOURS,
    depth: Annotated[int, Query(ge=1, le=MAX_DEPTH)] = DEFAULT_DEPTH,
) -> Any:
    """CIs upstream of the affected ones (whose trouble would reach them) that changed or
    drifted shortly before the incident opened, ranked nearest and most recent first."""
    return await incident_service.incident_suspects(driver, settings.neo4j_database, schema, incident_id, hours, depth)


@router.post(
    "/problems",
    status_code=201,
    summary="Record a problem and its suspected root-cause CIs",
    response_model=ProblemPublic,
)
async def create_problem(body: ProblemCreate, principal: Responder, driver: DriverDep, settings: SettingsDep) -> Any:
    db = settings.neo4j_database
    suspects = await checked_cis(driver, db, body.suspects, "suspects")
    now = datetime.now(UTC)
    props = {"title": body.title, "status": ProblemStatus.OPEN.value, "known_error": False, "opened_at": now}
    problem_id = await records.create_record(
        driver, db, records.PROBLEM, props, {"SUSPECTS": suspects}, {}, actor(principal), now
    )
    return await _record(driver, db, records.PROBLEM, problem_id)


@router.get("/problems", summary="List problems, filtered and paged", response_model=ProblemList)
async def list_problems(
    _: Reader,
    driver: DriverDep,
    settings: SettingsDep,
    status: Annotated[ProblemStatus | None, Query()] = None,
    assignee: Annotated[str | None, Query(min_length=1, max_length=200)] = None,
    support_group: Annotated[str | None, Query(min_length=1, max_length=200)] = None,
    ci: LinkedTo = None,
    limit: PageLimit = 50,
    offset: PageOffset = 0,
) -> Any:
    filters = {"status": status, "assignee": assignee, "support_group": support_group}
    return await record_page(driver, settings.neo4j_database, records.PROBLEM, filters, ci, limit, offset)


@router.patch(
    "/problems/{problem_id}", summary="Edit a problem: its root cause, workaround, owner", response_model=ProblemPublic
)
async def update_problem(
    problem_id: RecordId, body: ProblemUpdate, principal: Responder, driver: DriverDep, settings: SettingsDep
) -> Any:
    """A known error is a problem whose root cause (and workaround) is recorded: move it to
    ``known_error`` once they are."""
    db = settings.neo4j_database
    problem = await _record(driver, db, records.PROBLEM, problem_id)
    await save_edits(driver, db, records.PROBLEM, problem, requested_edits(body), principal)
    problem = await _record(driver, db, records.PROBLEM, problem_id)
    problem["incidents"] = await records.incidents_of_problem(driver, db, problem_id)
    return problem


@router.get("/problems/{problem_id}", summary="One problem, with its incidents", response_model=ProblemPublic)
async def get_problem(problem_id: RecordId, _: Reader, driver: DriverDep, settings: SettingsDep) -> Any:
    db = settings.neo4j_database
    problem = await _record(driver, db, records.PROBLEM, problem_id)
    problem["incidents"] = await records.incidents_of_problem(driver, db, problem_id)
    return problem


@router.post(
    "/problems/{problem_id}/transition",
    summary="open -> known_error -> resolved -> closed",
    response_model=ProblemPublic,
)
async def move_problem(
    problem_id: RecordId, body: Transition, principal: Responder, driver: DriverDep, settings: SettingsDep
) -> Any:
    db = settings.neo4j_database
    problem = await _record(driver, db, records.PROBLEM, problem_id)

    def flags(target: ProblemStatus) -> dict[str, Any]:
        updates: dict[str, Any] = {}
        if target is ProblemStatus.KNOWN_ERROR:
            updates["known_error"] = True
        return updates

    await apply_transition(
        driver, db, records.PROBLEM, problem, PROBLEM_TRANSITIONS, "status", body.to, principal, flags, note=body.note
    )
    return await _record(driver, db, records.PROBLEM, problem_id)


@router.get(
    "/incidents/{incident_id}/history",
    summary="Who did what to an incident, newest first",
    response_model=RecordHistory,
)
async def incident_history(incident_id: RecordId, _: Reader, driver: DriverDep, settings: SettingsDep) -> Any:
    await _record(driver, settings.neo4j_database, records.INCIDENT, incident_id)
    return await record_history(driver, settings.neo4j_database, incident_id)


@router.get(
    "/problems/{problem_id}/history", summary="Who did what to a problem, newest first", response_model=RecordHistory
)
async def problem_history(problem_id: RecordId, _: Reader, driver: DriverDep, settings: SettingsDep) -> Any:
    await _record(driver, settings.neo4j_database, records.PROBLEM, problem_id)
    return await record_history(driver, settings.neo4j_database, problem_id)
