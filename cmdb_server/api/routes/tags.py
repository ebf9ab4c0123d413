"""Tags on CIs: free labels engineers put on CIs to find them together (``?tag=`` in a search)."""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import APIRouter, Path

from cmdb_server.api.deps import CIUid, DriverDep, SettingsDep
from cmdb_server.api.routes.curation import manual_source
from cmdb_server.auth import Curator, Reader
from cmdb_server.errors import NotFound, Unprocessable
from cmdb_server.models.ci import TagChange, TagList
from cmdb_server.repositories import curation
from schema.values import quoted

router = APIRouter(tags=["tags"])

TAG = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:/-]{0,63}")


def _checked(tag: str) -> str:
    if not TAG.fullmatch(tag):
        raise Unprocessable(
            "a tag is 1-64 letters, digits and . _ : / - (starting with a letter or digit)",
            field="tag",
            location="path",
        )
    return tag


async def _set(driver: DriverDep, database: str, uid: str, tag: str, present: bool, source: str) -> bool:
    changed = await curation.set_tag(driver, database, uid, _checked(tag), present, source)
    if changed is None:
        raise NotFound(f"no CI with uid {quoted(uid)}", field="uid", location="path")
    return changed


@router.put("/cis/{uid}/tags/{tag}", summary="Tag a CI", response_model=TagChange, response_model_exclude_none=True)
async def add_tag(
    uid: CIUid,
    tag: Annotated[str, Path(min_length=1, max_length=100)],
    principal: Curator,
    driver: DriverDep,
    settings: SettingsDep,
) -> dict[str, Any]:
    added = await _set(driver, settings.neo4j_database, uid, tag, True, manual_source(principal))
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
    if not await _set(driver, settings.neo4j_database, uid, tag, False, manual_source(principal)):
        raise NotFound(f"CI {uid} has no tag {quoted(tag)}", field="tag", location="path")
    return {"uid": uid, "tag": tag, "removed": True}


@router.get("/tags", summary="Tags in use, with how many CIs carry each", response_model=TagList)
async def list_tags(_: Reader, driver: DriverDep, settings: SettingsDep) -> dict[str, Any]:
    return {"items": await curation.tag_counts(driver, settings.neo4j_database)}
