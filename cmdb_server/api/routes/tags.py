"""Tags on CIs: free labels engineers put on CIs to find them together (``?tag=`` in a search)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path

from cmdb_server import ci_curation
from cmdb_server.api.deps import CIUid, DriverDep, SettingsDep
from cmdb_server.auth import Curator, Reader
from cmdb_server.errors import NotFound
from cmdb_server.models.ci import TagChange, TagList
from cmdb_server.repositories import curation
from schema.values import quoted

router = APIRouter(tags=["tags"])


@router.put("/cis/{uid}/tags/{tag}", summary="Tag a CI", response_model=TagChange, response_model_exclude_none=True)
async def add_tag(
    uid: CIUid,
    tag: Annotated[str, Path(min_length=1, max_length=100)],
    principal: Curator,
    driver: DriverDep,
    settings: SettingsDep,
) -> dict[str, Any]:
    added = await ci_curation.set_tag(driver, settings.neo4j_database, uid, tag, True, principal)
    return {"uid": uid, "tag": tag, "added": added}


@router.delete(
    "/cis/{uid}/tags/{tag}",
    summary="Remove a tag from a CI",
    response_model=TagChange,
    response_model_exclude_none=True,
)
async def remove_tag(
    uid: CIUid,
    tag: Annotated[str, Path(min_length=1, max_length=100)],
    principal: Curator,
    driver: DriverDep,
    settings: SettingsDep,
) -> dict[str, Any]:
    if not await ci_curation.set_tag(driver, settings.neo4j_database, uid, tag, False, principal):
        raise NotFound(f"CI {uid} has no tag {quoted(tag)}", field="tag", location="path")
    return {"uid": uid, "tag": tag, "removed": True}


@router.get("/tags", summary="Tags in use, with how many CIs carry each", response_model=TagList)
async def list_tags(_: Reader, driver: DriverDep, settings: SettingsDep) -> dict[str, Any]:
    return {"items": await curation.tag_counts(driver, settings.neo4j_database)}
