"""Changes (RFCs): raise, assess, decide, implement (the rules: cmdb_server/change_service.py)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query

from cmdb_server import change_service
from cmdb_server.api.deps import DriverDep, SchemaDep, SettingsDep
from cmdb_server.api.params import LinkedTo, PageLimit, PageOffset
from cmdb_server.api.records import record_history, record_page
from cmdb_server.auth import Principal, Reader, require
from cmdb_server.models.impact import Assessment
from cmdb_server.models.records import (
    ApprovalRequest,
    ChangeCreate,
    ChangeList,
    ChangePublic,
    ChangeUpdate,
    RecordHistory,
    Transition,
)
from cmdb_server.repositories import records
from schema import Capability
from schema.itsm import ChangeState, ChangeType, RiskLevel

router = APIRouter(tags=["changes"])

Requester = Annotated[Principal, Depends(require(Capability.REQUEST_CHANGE))]
Manager = Annotated[Principal, Depends(require(Capability.MANAGE_CHANGE))]
ChangeId = Annotated[str, Path(min_length=1, max_length=40)]


@router.post("/changes", status_code=201, summary="Raise a change (draft)", response_model=ChangePublic)
async def create_change(body: ChangeCreate, principal: Requester, driver: DriverDep, settings: SettingsDep) -> Any:
    db = settings.neo4j_database
    change_id = await change_service.create(driver, db, body, principal)
    return change_service.public(await change_service.load(driver, db, change_id))


@router.get("/changes", summary="List changes, filtered, sorted and paged", response_model=ChangeList)
async def list_changes(
    _: Reader,
    driver: DriverDep,
    settings: SettingsDep,
    state: Annotated[ChangeState | None, Query(description="Only changes in this state.")] = None,
    type: Annotated[ChangeType | None, Query(description="Only changes of this type.")] = None,
    risk: Annotated[RiskLevel | None, Query(description="Only changes last assessed at this risk.")] = None,
    ci: LinkedTo = None,
    sort: Annotated[
        str, Query(max_length=40, description=f"{', '.join(records.CHANGE.sortable)}; -x descends.")
    ] = "id",
    limit: PageLimit = 50,
    offset: PageOffset = 0,
) -> Any:
    filters = {"state": state, "type": type, "risk": risk}
    return await record_page(driver, settings.neo4j_database, records.CHANGE, filters, ci, limit, offset, sort)


@router.get(
    "/changes/{change_id}", summary="One change, its targets and its last assessment", response_model=ChangePublic
)
async def get_change(change_id: ChangeId, _: Reader, driver: DriverDep, settings: SettingsDep) -> Any:
    return change_service.public(await change_service.load(driver, settings.neo4j_database, change_id))


@router.patch(
    "/changes/{change_id}",
    summary="Edit a change not yet approved (the assessment goes out of date)",
    response_model=ChangePublic,
)
async def update_change(
    change_id: ChangeId, body: ChangeUpdate, principal: Requester, driver: DriverDep, settings: SettingsDep
) -> Any:
    db = settings.neo4j_database
    await change_service.edit(driver, db, await change_service.load(driver, db, change_id), body, principal)
    return change_service.public(await change_service.load(driver, db, change_id))


@router.post(
    "/changes/{change_id}/approvals",
    summary="Approve or reject a change (change managers): each decision is kept",
    response_model=ChangePublic,
)
async def decide_change(
    change_id: ChangeId, body: ApprovalRequest, principal: Manager, driver: DriverDep, settings: SettingsDep
) -> Any:
    """A change needs as many approvers as ``schema/service_desk.toml`` says for its type and
    the risk of its current assessment; one rejection rejects it. An approval of a change
    whose assessment found high risk, a collision or a freeze conflict is 409 naming them,
    unless it gives ``override_reason``, which the history keeps."""
    db = settings.neo4j_database
    change = await change_service.load(driver, db, change_id)
    await change_service.decide(driver, db, change, body.decision, body.comment, body.override_reason, principal)
    return change_service.public(await change_service.load(driver, db, change_id))


@router.post("/changes/{change_id}/transition", summary="Move a change to its next state", response_model=ChangePublic)
async def transition_change(
    change_id: ChangeId, body: Transition, principal: Requester, driver: DriverDep, settings: SettingsDep
) -> Any:
    db = settings.neo4j_database
    change = await change_service.load(driver, db, change_id)
    await change_service.move(driver, db, change, body.to, body.note, body.override_reason, principal)
    return change_service.public(await change_service.load(driver, db, change_id))


@router.post(
    "/changes/{change_id}/assessment", summary="Assess a change and store the snapshot", response_model=Assessment
)
async def assess(
    change_id: ChangeId, principal: Requester, driver: DriverDep, settings: SettingsDep, schema: SchemaDep
) -> Any:
    db = settings.neo4j_database
    return await change_service.assess(driver, db, schema, await change_service.load(driver, db, change_id), principal)


@router.get(
    "/changes/{change_id}/history", summary="Who did what to a change, newest first", response_model=RecordHistory
)
async def change_history(change_id: ChangeId, _: Reader, driver: DriverDep, settings: SettingsDep) -> Any:
    await change_service.load(driver, settings.neo4j_database, change_id)
    return await record_history(driver, settings.neo4j_database, change_id)
