"""Impact analysis: what a CI (or several) going down touches, up to the business services."""

from __future__ import annotations

from collections import Counter
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, Field

from cmdb_server.api.deps import DriverDep, SchemaDep, SettingsDep
from cmdb_server.auth import Reader
from cmdb_server.errors import NotFound
from cmdb_server.impact import Affected, Subgraph, analyse, propagation_types
from cmdb_server.repositories.impact import load_neighbourhood
from schema import ImpactPropagation, Schema

router = APIRouter(tags=["impact"])

MAX_DEPTH = 12
DEFAULT_DEPTH = 8


class ImpactRequest(BaseModel):
    uids: list[str] = Field(min_length=1, max_length=500, description="The CIs that fail together.")
    depth: int = Field(DEFAULT_DEPTH, ge=1, le=MAX_DEPTH)


def _step(graph: Subgraph, uid: str, via: str | None, direction: str | None) -> dict[str, Any]:
    node = graph.nodes[uid]
    return {"uid": uid, "name": node.name, "class": node.ci_class, "via": via, "direction": direction}


def _item(graph: Subgraph, affected: Affected) -> dict[str, Any]:
    node = affected.node
    return {
        "uid": node.uid,
        "name": node.name,
        "class": node.ci_class,
        "state": affected.state.value,
        "depth": affected.depth,
        "path": [_step(graph, s.uid, s.via, s.direction) for s in affected.path],
    }


async def impact_of(
    uids: list[str], depth: int, driver: DriverDep, database: str, schema: Schema
) -> dict[str, Any]:
    member_types = [n for n, r in schema.relationships.items() if r.impact is ImpactPropagation.REDUNDANT]
    graph = await load_neighbourhood(driver, database, uids, propagation_types(schema), depth, member_types)
    missing = [uid for uid in uids if uid not in graph.nodes]
    if missing:
        raise NotFound(f"no CI with uid {', '.join(repr(m) for m in missing)}", field="uids")
    result = analyse(schema, graph, uids, depth)
    items = sorted(result.values(), key=lambda a: (a.depth, a.node.ci_class, a.node.name or "", a.node.uid))
    services = [a for a in items if "BusinessService" in a.node.labels]
    return {
        "roots": [_step(graph, uid, None, None) for uid in uids],
        "depth": depth,
        "total": len(items),
        "by_class": dict(sorted(Counter(a.node.ci_class for a in items).items())),
        "by_state": dict(sorted(Counter(a.state.value for a in items).items())),
        "business_services": [
            {**_item(graph, a), "criticality": a.node.properties.get("criticality")} for a in services
        ],
        "items": [_item(graph, a) for a in items],
    }


@router.get("/cis/{uid}/impact", summary="What this CI failing or changing affects, with the paths why")
async def ci_impact(
    _: Reader,
    driver: DriverDep,
    settings: SettingsDep,
    schema: SchemaDep,
    uid: Annotated[str, Path(min_length=1, max_length=100)],
    depth: Annotated[
        int, Query(ge=1, le=MAX_DEPTH, description="How many relationships to follow.")
    ] = DEFAULT_DEPTH,
) -> dict[str, Any]:
    return await impact_of([uid], depth, driver, settings.neo4j_database, schema)


@router.post("/impact", summary="What several CIs failing together affect (a rack, a switch stack)")
async def combined_impact(
    body: ImpactRequest, _: Reader, driver: DriverDep, settings: SettingsDep, schema: SchemaDep
) -> dict[str, Any]:
    return await impact_of(
        list(dict.fromkeys(body.uids)), body.depth, driver, settings.neo4j_database, schema
    )
