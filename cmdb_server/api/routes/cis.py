"""Configuration items: list with filters and pagination, and one by uid."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query

from cmdb_server.api.deps import DriverDep, SchemaDep, SettingsDep
from cmdb_server.auth import Reader
from cmdb_server.errors import NotFound, Unprocessable
from cmdb_server.models.ci import CIList, CIPublic
from cmdb_server.reconcile import decode_event
from cmdb_server.repositories import cis
from schema import CIStatus

router = APIRouter(prefix="/cis", tags=["configuration items"])

MAX_PAGE_SIZE = 500


@router.get("", summary="List CIs", response_model=CIList)
async def list_cis(
    _: Reader,
    driver: DriverDep,
    settings: SettingsDep,
    schema: SchemaDep,
    class_name: Annotated[
        str | None, Query(alias="class", description="A CI class; its subclasses are included.")
    ] = None,
    status: Annotated[CIStatus | None, Query(description="Only CIs with this status.")] = None,
    name: Annotated[
        str | None, Query(min_length=1, max_length=200, description="Case-insensitive substring of the name.")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE, description="Page size.")] = 50,
    offset: Annotated[int, Query(ge=0, description="How many CIs to skip.")] = 0,
) -> CIList:
    if class_name is not None and class_name not in schema.classes:
        known = ", ".join(sorted(schema.classes))
        raise Unprocessable(f"unknown CI class {class_name!r}; known classes: {known}", field="class", location="query")
    page = await cis.list_cis(
        driver,
        settings.neo4j_database,
        schema,
        class_name=class_name,
        status=status,
        name_contains=name,
        limit=limit,
        offset=offset,
    )
    next_offset = offset + limit if offset + limit < page.total else None
    return CIList(
        items=[CIPublic.from_record(r) for r in page.items],
        total=page.total,
        limit=limit,
        offset=offset,
        next_offset=next_offset,
    )


@router.get("/{uid}", summary="One CI by uid", response_model=CIPublic)
async def get_ci(
    _: Reader,
    driver: DriverDep,
    settings: SettingsDep,
    schema: SchemaDep,
    uid: Annotated[str, Path(min_length=1, max_length=100)],
) -> CIPublic:
    record = await cis.get_ci(driver, settings.neo4j_database, schema, uid)
    if record is None:
        raise NotFound(f"no CI with uid {uid!r}", field="uid", location="path")
    return CIPublic.from_record(record)


@router.get("/{uid}/relationships", summary="Relationships of a CI, both directions")
async def get_relationships(
    _: Reader,
    driver: DriverDep,
    settings: SettingsDep,
    schema: SchemaDep,
    uid: Annotated[str, Path(min_length=1, max_length=100)],
    rel_type: Annotated[str | None, Query(alias="type", description="Only this relationship type.")] = None,
    direction: Annotated[Literal["out", "in", "both"], Query(description="Edges from, to, or both.")] = "both",
    include_ended: Annotated[bool, Query(description="Also the relations sources stopped reporting.")] = False,
) -> dict[str, Any]:
    if rel_type is not None and rel_type not in schema.relationships:
        known = ", ".join(sorted(schema.relationships))
        raise Unprocessable(f"unknown relationship type {rel_type!r}; known: {known}", field="type", location="query")
    await _existing(driver, settings.neo4j_database, schema, uid)
    items = await cis.relationships_of(
        driver,
        settings.neo4j_database,
        uid,
        rel_type=rel_type,
        direction=direction,
        include_ended=include_ended,
    )
    return {"uid": uid, "items": items}


@router.get("/{uid}/history", summary="History of a CI, newest first")
async def get_history(
    _: Reader,
    driver: DriverDep,
    settings: SettingsDep,
    schema: SchemaDep,
    uid: Annotated[str, Path(min_length=1, max_length=100)],
    since: Annotated[datetime | None, Query(description="Events at or after this time (ISO 8601).")] = None,
    until: Annotated[datetime | None, Query(description="Events before this time (ISO 8601).")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> dict[str, Any]:
    for name, value in (("since", since), ("until", until)):
        if value is not None and value.tzinfo is None:
            raise Unprocessable("a time needs a time zone (e.g. Z or +00:00)", field=name, location="query")
    await _existing(driver, settings.neo4j_database, schema, uid)
    events, total = await cis.history_of(
        driver, settings.neo4j_database, uid, since=since, until=until, limit=limit, offset=offset
    )
    events = [decode_event(e) for e in events]
    next_offset = offset + limit if offset + limit < total else None
    return {
        "uid": uid,
        "items": events,
        "total": total,
        "limit": limit,
        "offset": offset,
        "next_offset": next_offset,
    }


async def _existing(driver: DriverDep, database: str, schema: SchemaDep, uid: str) -> None:
    if await cis.get_ci(driver, database, schema, uid) is None:
        raise NotFound(f"no CI with uid {uid!r}", field="uid", location="path")
