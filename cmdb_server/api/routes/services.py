"""Business services: what they hang on, and the service level agreed for them."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from cmdb_server import service_levels
from cmdb_server.api.deps import CIUid, DriverDep, SchemaDep, SettingsDep
from cmdb_server.api.routes.impact import check_filters
from cmdb_server.auth import Principal, Reader, require
from cmdb_server.impact_service import DEFAULT_DEPTH, MAX_DEPTH, single_points_of_failure_of
from cmdb_server.models.service_levels import ServiceLevelPublic, ServiceLevelUpdate
from cmdb_server.models.services import SinglePointsOfFailure
from schema import Capability

router = APIRouter(prefix="/services")

ServiceLevelManager = Annotated[Principal, Depends(require(Capability.MANAGE_CHANGE))]
"""Who agrees service levels: change managers and admins. A target is agreed with the
business and measures the engineers' work: those who curate the graph do not set it."""


@router.get(
    "/{uid}/single-points-of-failure",
    response_model=SinglePointsOfFailure,
    tags=["impact"],
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


@router.get(
    "/{uid}/service-level",
    response_model=ServiceLevelPublic,
    tags=["service levels"],
    summary="The service level agreed for a business service (or what it is measured against)",
)
async def get_service_level(_: Reader, driver: DriverDep, settings: SettingsDep, uid: CIUid) -> ServiceLevelPublic:
    """Without one agreed (``declared`` false): no availability target, 24x7, and the service
    desk's default incident targets."""
    return await service_levels.get_service_level(driver, settings.neo4j_database, uid)


@router.put(
    "/{uid}/service-level",
    response_model=ServiceLevelPublic,
    tags=["service levels"],
    summary="Agree a business service's service level (replaces it; kept in its history)",
)
async def put_service_level(
    body: ServiceLevelUpdate, principal: ServiceLevelManager, driver: DriverDep, settings: SettingsDep, uid: CIUid
) -> ServiceLevelPublic:
    """Availability target, service hours (a preset of schema/service_levels.toml or weekly
    windows) in an IANA time zone with holiday dates, and incident targets by priority.
    422 names the field at fault: an unknown time zone or preset, 25:00, an end before its
    start, windows overlapping on a day, a holiday given twice, a target outside 0-100."""
    return await service_levels.put_service_level(driver, settings.neo4j_database, uid, body, principal)
