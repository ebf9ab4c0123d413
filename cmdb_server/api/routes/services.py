"""Business services: what they hang on."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from cmdb_server.api.deps import CIUid, DriverDep, SchemaDep, SettingsDep
from cmdb_server.api.routes.impact import check_filters
from cmdb_server.auth import Reader
from cmdb_server.impact_service import DEFAULT_DEPTH, MAX_DEPTH, single_points_of_failure_of
from cmdb_server.models.services import SinglePointsOfFailure

router = APIRouter(prefix="/services", tags=["impact"])


@router.get(
    "/{uid}/single-points-of-failure",
    response_model=SinglePointsOfFailure,
    response_model_by_alias=True,
    summary="The CIs whose failure alone takes this business service down, with the path why",
)
async def single_points_of_failure(
    _: Reader,
    driver: DriverDep,
    settings: SettingsDep,
    schema: SchemaDep,
    uid: CIUid,
    depth: Annotated[int, Query(ge=1, le=MAX_DEPTH, description="How many relationships to follow.")] = DEFAULT_DEPTH,
    classes: Annotated[
        list[str] | None,
        Query(
            max_length=50,
            description="Only CIs of these classes (subclasses included); by default every class but shared ones "
            "(package versions).",
        ),
    ] = None,
) -> SinglePointsOfFailure:
    """Every CI whose failure reaches the service is walked on its own, with the impact
    rules of schema/relationships.toml: one that leaves the service degraded at most (a
    second uplink, another member of a group) is no single point of failure."""
    check_filters(schema, None, classes, "query")
    found = await single_points_of_failure_of(uid, depth, classes, driver, settings.neo4j_database, schema)
    return SinglePointsOfFailure.model_validate(found)
