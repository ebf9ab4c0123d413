"""Impact of CIs as the API answers it: load the neighbourhood, walk it, shape the answer."""

from __future__ import annotations

from collections import Counter
from typing import Any

from neo4j import AsyncDriver

from cmdb_server.errors import NotFound
from cmdb_server.impact import Affected, Subgraph, analyse, upstream
from cmdb_server.repositories.impact import load_neighbourhood
from schema import Schema

MAX_DEPTH = 12
DEFAULT_DEPTH = 8


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


async def _graph(
    uids: list[str], depth: int, driver: AsyncDriver, database: str, schema: Schema, upstream: bool = False
) -> Subgraph:
    """The part of the graph trouble can travel through from (or, upstream, to) these CIs."""
    groups_at = {n: r.redundant_at for n, r in schema.relationships.items() if r.redundant_at is not None}
    member_properties = tuple(sorted({p for r in schema.relationships.values() for p in r.members_exclude}))
    along = [n for n, r in schema.relationships.items() if r.propagates(outgoing=True)]
    against = [n for n, r in schema.relationships.items() if r.propagates(outgoing=False)]
    if upstream:
        graph = await load_neighbourhood(driver, database, uids, against, along, depth, groups_at, member_properties)
    else:
        stops = {n: r.stops_at for n, r in schema.relationships.items() if r.stops_at}
        graph = await load_neighbourhood(
            driver, database, uids, along, against, depth, groups_at, member_properties, stops
        )
    missing = [uid for uid in uids if uid not in graph.nodes]
    if missing:
        raise NotFound(f"no CI with uid {', '.join(repr(m) for m in missing)}", field="uids")
    return graph


async def upstream_graph(uids: list[str], depth: int, driver: AsyncDriver, database: str, schema: Schema) -> Subgraph:
    return await _graph(uids, depth, driver, database, schema, upstream=True)


async def dependencies_of(
    uids: list[str], depth: int, driver: AsyncDriver, database: str, schema: Schema
) -> dict[str, Any]:
    """The other direction: the CIs whose trouble would reach these, each with the path down to one of them."""
    graph = await _graph(uids, depth, driver, database, schema, upstream=True)
    paths = upstream(schema, graph, uids, depth)
    items = [
        {
            "uid": uid,
            "name": graph.nodes[uid].name,
            "class": graph.nodes[uid].ci_class,
            "state": None,
            "depth": len(path) - 1,
            "path": [_step(graph, s.uid, s.via, s.direction) for s in path],
        }
        for uid, path in paths.items()
    ]
    items.sort(key=lambda i: (i["depth"], i["class"], i["name"] or "", i["uid"]))
    return {
        "roots": [_step(graph, uid, None, None) for uid in uids],
        "direction": "up",
        "depth": depth,
        "total": len(items),
        "by_class": dict(sorted(Counter(i["class"] for i in items).items())),
        "items": items,
    }


async def impact_of(uids: list[str], depth: int, driver: AsyncDriver, database: str, schema: Schema) -> dict[str, Any]:
    """What these CIs failing (or changing) affects, with states and paths."""
    graph = await _graph(uids, depth, driver, database, schema)
    result = analyse(schema, graph, uids, depth)
    items = sorted(result.values(), key=lambda a: (a.depth, a.node.ci_class, a.node.name or "", a.node.uid))
    services = [a for a in items if "BusinessService" in a.node.labels]
    return {
        "roots": [_step(graph, uid, None, None) for uid in uids],
        "direction": "down",
        "depth": depth,
        "total": len(items),
        "by_class": dict(sorted(Counter(a.node.ci_class for a in items).items())),
        "by_state": dict(sorted(Counter(a.state.value for a in items).items())),
        "business_services": [
            {**_item(graph, a), "criticality": a.node.properties.get("criticality")} for a in services
        ],
        "items": [_item(graph, a) for a in items],
    }
