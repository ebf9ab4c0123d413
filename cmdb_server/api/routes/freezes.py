"""Change freezes: windows in which changes (and releases) to some or all business services wait."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path

from cmdb_server.api.deps import DriverDep, SchemaDep, SettingsDep
from cmdb_server.api.records import actor, checked_cis, load_record, record_history, requested_edits, save_edits
from cmdb_server.auth import Principal, Reader, require
from cmdb_server.errors import NotFound, Unprocessable
from cmdb_server.models.records import (
    FreezeCreate,
    FreezeDeleted,
    FreezeList,
    FreezePublic,
    FreezeUpdate,
    RecordHistory,
    Window,
)
from cmdb_server.repositories import cis, records
from schema import Capability, Schema
from schema.values import quoted

router = APIRouter(tags=["changes"])

Manager = Annotated[Principal, Depends(require(Capability.MANAGE_CHANGE))]
FreezeId = Annotated[str, Path(min_length=1, max_length=40)]


async def _services(driver: DriverDep, database: str, schema: Schema, uids: list[str]) -> list[str]:
    """The uids, each once, when every one is a business service; else 422 naming the others.

    A freeze protects services; the changes it holds back are found by their impact on them
    (a freeze on a host would not say which service it keeps safe)."""
    unique = await checked_cis(driver, database, uids, "services")
    found = await cis.get_many(driver, database, unique)
    others = [uid for uid in unique if not schema.classes[found[uid][0]].is_a("BusinessService")]
    if others:
        shown = ", ".join(f"{quoted(uid)} ({found[uid][0]})" for uid in others[:10])
        raise Unprocessable(
            f"a freeze applies to business services, and these are not: {shown}; freeze the services they serve",
            field="services",
        )
    return unique


@router.post(
    "/freeze-windows",
    status_code=201,
    summary="Declare a change freeze (optionally for some business services)",
    response_model=FreezePublic,
)
async def create_freeze(
    body: FreezeCreate, principal: Manager, driver: DriverDep, settings: SettingsDep, schema: SchemaDep
) -> Any:
    db = settings.neo4j_database
    services = await _services(driver, db, schema, body.services)
    props = {"name": body.name, "start": body.start, "end": body.end}
    freeze_id = await records.create_record(
        driver, db, records.FREEZE, props, {"APPLIES_TO": services}, {}, actor(principal), datetime.now(UTC)
    )
    return await load_record(driver, db, records.FREEZE, freeze_id)


@router.get("/freeze-windows", summary="List freeze windows", response_model=FreezeList)
async def list_freezes(_: Reader, driver: DriverDep, settings: SettingsDep) -> Any:
    return {"items": await records.list_records(driver, settings.neo4j_database, records.FREEZE, "name", None)}


@router.get("/freeze-windows/{freeze_id}", summary="One freeze window", response_model=FreezePublic)
async def get_freeze(freeze_id: FreezeId, _: Reader, driver: DriverDep, settings: SettingsDep) -> Any:
    return await load_record(driver, settings.neo4j_database, records.FREEZE, freeze_id)


@router.patch("/freeze-windows/{freeze_id}", summary="Edit a freeze window", response_model=FreezePublic)
async def update_freeze(
    freeze_id: FreezeId,
    body: FreezeUpdate,
    principal: Manager,
    driver: DriverDep,
    settings: SettingsDep,
    schema: SchemaDep,
) -> Any:
    db = settings.neo4j_database
    freeze = await load_record(driver, db, records.FREEZE, freeze_id)
    updates = requested_edits(body)
    links = None
    if "services" in updates:
        new = await _services(driver, db, schema, updates.pop("services"))
        links = ("APPLIES_TO", sorted(c["uid"] for c in freeze["cis"] if c["type"] == "APPLIES_TO"), new)
    try:
        Window.check(updates.get("start", freeze["start"]), updates.get("end", freeze["end"]), ("start", "end"))
    except ValueError as exc:
        raise Unprocessable(str(exc), field="end") from None
    await save_edits(driver, db, records.FREEZE, freeze, updates, principal, links)
    return await load_record(driver, db, records.FREEZE, freeze_id)


@router.delete("/freeze-windows/{freeze_id}", summary="Delete a freeze window", response_model=FreezeDeleted)
async def delete_freeze(freeze_id: FreezeId, principal: Manager, driver: DriverDep, settings: SettingsDep) -> Any:
    """Changes in its window no longer conflict with it; its history stays."""
    db = settings.neo4j_database
    if not await records.delete_record(driver, db, records.FREEZE, freeze_id, actor(principal), datetime.now(UTC)):
        raise NotFound(f"no freeze window {quoted(freeze_id)}", field="id", location="path")
    return {"id": freeze_id, "deleted": True}


@router.get(
    "/freeze-windows/{freeze_id}/history", summary="Who did what to a freeze window", response_model=RecordHistory
)
async def freeze_history(freeze_id: FreezeId, _: Reader, driver: DriverDep, settings: SettingsDep) -> Any:
    return await record_history(driver, settings.neo4j_database, freeze_id)
