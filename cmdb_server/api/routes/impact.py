"""Impact analysis: what a CI (or several) going down touches, up to the business services."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from cmdb_server.api.deps import CIUid, DriverDep, SchemaDep, SettingsDep
from cmdb_server.auth import Reader
from cmdb_server.impact_service import DEFAULT_DEPTH, MAX_DEPTH, dependencies_of, impact_of
from cmdb_server.models.impact import ImpactResult

router = APIRouter(tags=["impact"])


class ImpactRequest(BaseModel):
    uids: list[str] = Field(min_length=1, max_length=500, description="The CIs that fail together.")
    depth: int = Field(DEFAULT_DEPTH, ge=1, le=MAX_DEPTH)


@router.get(
    "/cis/{uid}/impact",
    summary="What this CI failing or changing affects, with the paths why",
    response_model=ImpactResult,
)
async def ci_impact(
    _: Reader,
    driver: DriverDep,
    settings: SettingsDep,
    schema: SchemaDep,
    uid: CIUid,
    depth: Annotated[int, Query(ge=1, le=MAX_DEPTH, description="How many relationships to follow.")] = DEFAULT_DEPTH,
    direction: Annotated[
        Literal["down", "up"],
        Query(description="down: what this CI failing affects; up: what this CI depends on."),
    ] = "down",
) -> dict[str, Any]:
    walk = impact_of if direction == "down" else dependencies_of
    return await walk([uid], depth, driver, settings.neo4j_database, schema)


@router.post(
    "/impact", summary="What several CIs failing together affect (a rack, a switch stack)", response_model=ImpactResult
)
async def combined_impact(
    body: ImpactRequest, _: Reader, driver: DriverDep, settings: SettingsDep, schema: SchemaDep
) -> dict[str, Any]:
    return await impact_of(list(dict.fromkeys(body.uids)), body.depth, driver, settings.neo4j_database, schema)
