"""Impact analysis: what a CI (or several) going down touches, up to the business services."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from cmdb_server.api.deps import CIUid, DriverDep, SchemaDep, SettingsDep
from cmdb_server.auth import Reader
from cmdb_server.errors import Unprocessable
from cmdb_server.impact_service import DEFAULT_DEPTH, MAX_DEPTH, dependencies_of, impact_of
from cmdb_server.metrics import IMPACT_SECONDS
from cmdb_server.models.impact import ImpactResult
from schema import Schema
from schema.values import quoted

router = APIRouter(tags=["impact"])


TYPES_DESCRIPTION = "Follow only these relationship types (all by default)."
CLASSES_DESCRIPTION = (
    "List only affected CIs of these classes, subclasses included (the walk still goes through others)."
)


class ImpactRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    uids: list[str] = Field(min_length=1, max_length=500, description="The CIs that fail together.")
    depth: int = Field(DEFAULT_DEPTH, ge=1, le=MAX_DEPTH)
    types: list[str] | None = Field(None, max_length=50, description=TYPES_DESCRIPTION)
    classes: list[str] | None = Field(None, max_length=50, description=CLASSES_DESCRIPTION)


def check_filters(schema: Schema, types: list[str] | None, classes: list[str] | None, location: str) -> None:
    """422 naming the field when a filter names a relationship type or class the schema lacks."""
    filters = (
        ("types", "relationship type", types, schema.relationships),
        ("classes", "class", classes, schema.classes),
    )
    for field, what, given, known in filters:
        unknown = sorted(set(given or ()) - set(known))
        if unknown:
            raise Unprocessable(
                f"unknown {what}: {', '.join(quoted(u) for u in unknown)}; known: {', '.join(sorted(known))}",
                field=field,
                location=location,
            )


TypesQuery = Annotated[list[str] | None, Query(max_length=50, description=TYPES_DESCRIPTION)]
ClassesQuery = Annotated[list[str] | None, Query(max_length=50, description=CLASSES_DESCRIPTION)]


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
    types: TypesQuery = None,
    classes: ClassesQuery = None,
) -> dict[str, Any]:
    check_filters(schema, types, classes, "query")
    walk = impact_of if direction == "down" else dependencies_of
    with IMPACT_SECONDS.labels("ci").time():
        return await walk([uid], depth, driver, settings.neo4j_database, schema, types, classes)


@router.post(
    "/impact", summary="What several CIs failing together affect (a rack, a switch stack)", response_model=ImpactResult
)
async def combined_impact(
    body: ImpactRequest, _: Reader, driver: DriverDep, settings: SettingsDep, schema: SchemaDep
) -> dict[str, Any]:
    check_filters(schema, body.types, body.classes, "body")
    uids = list(dict.fromkeys(body.uids))
    with IMPACT_SECONDS.labels("combined").time():
        return await impact_of(uids, body.depth, driver, settings.neo4j_database, schema, body.types, body.classes)
