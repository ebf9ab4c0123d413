"""Impact of CIs as the API answers it: load the neighbourhood, walk it, shape the answer."""

from __future__ import annotations

from collections import Counter
from typing import Any

from neo4j import AsyncDriver

from cmdb_server.errors import NotFound
from cmdb_server.impact import Affected, Node, Step, Subgraph, analyse, single_points_of_failure, upstream
from cmdb_server.repositories.impact import load_neighbourhood
from schema import Schema

MAX_DEPTH = 12
DEFAULT_DEPTH = 8


def _step(graph: Subgraph, uid: str, via: str | None, direction: str | None) -> dict[str, Any]:
    node = graph.nodes[uid]
    return {"uid": uid, "name": node.name, "class": node.ci_class, "via": via, "direction": direction}


def _path_item(graph: Subgraph, uid: str, path: list[Step], state: str | None) -> dict[str, Any]:
    """A CI of an answer with its state and the path that explains it."""
    node = graph.nodes[uid]
    return {
        "uid": uid,
        "name": node.name,
        "class": node.ci_class,
        "state": state,
        "depth": len(path) - 1,
        "path": [_step(graph, s.uid, s.via, s.direction) for s in path],
    }


def _item(graph: Subgraph, affected: Affected) -> dict[str, Any]:
    return _path_item(graph, affected.node.uid, affected.path, affected.state.value)


def _nearest_first(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(items, key=lambda i: (i["depth"], i["class"], i["name"] or "", i["uid"]))


def _of_classes(node: Node, classes: list[str] | None) -> bool:
    """Whether a CI is of one of the classes (subclasses included); any CI without a filter."""
    return not classes or any(name in node.labels for name in classes)


async def _graph(
    uids: list[str],
    depth: int,
    driver: AsyncDriver,
    database: str,
    schema: Schema,
    upstream: bool = False,
    types: list[str] | None = None,
) -> Subgraph:
    """The part of the graph trouble can travel through from (or, upstream, to) these CIs;
    ``types``: along these relationship types only."""
    followed = {n: r for n, r in schema.relationships.items() if types is None or n in types}
    groups_at = {n: r.redundant_at for n, r in followed.items() if r.redundant_at is not None}
    member_properties = tuple(sorted({p for r in followed.values() for p in r.members_exclude}))
    along = [n for n, r in followed.items() if r.propagates(outgoing=True)]
    against = [n for n, r in followed.items() if r.propagates(outgoing=False)]
    if upstream:
        graph = await load_neighbourhood(driver, database, uids, against, along, depth, groups_at, member_properties)
    else:
        stops = {n: r.stops_at for n, r in followed.items() if r.stops_at}
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
    uids: list[str],
    depth: int,
    driver: AsyncDriver,
    database: str,
    schema: Schema,
    types: list[str] | None = None,
    classes: list[str] | None = None,
) -> dict[str, Any]:
    """The other direction: the CIs whose trouble would reach these, each with the path down to one of them."""
    graph = await _graph(uids, depth, driver, database, schema, upstream=True, types=types)
    paths = upstream(schema, graph, uids, depth)
    items = _nearest_first(
        [_path_item(graph, uid, path, None) for uid, path in paths.items() if _of_classes(graph.nodes[uid], classes)]
    )
    return {
        "roots": [_step(graph, uid, None, None) for uid in uids],
        "direction": "up",
        "depth": depth,
        "total": len(items),
        "by_class": dict(sorted(Counter(i["class"] for i in items).items())),
        "items": items,
    }


async def impact_of(
    uids: list[str],
    depth: int,
    driver: AsyncDriver,
    database: str,
    schema: Schema,
    types: list[str] | None = None,
    classes: list[str] | None = None,
) -> dict[str, Any]:
    """What these CIs failing (or changing) affects, with states and paths.

    ``types``: trouble travels along these relationship types only; ``classes``: the answer
    lists the affected CIs of these classes only (subclasses included; the walk still goes
    through the others, and the paths show them).
    """
    graph = await _graph(uids, depth, driver, database, schema, types=types)
    result = analyse(schema, graph, uids, depth)
    shown = [a for a in result.values() if _of_classes(a.node, classes)]
    items = sorted(shown, key=lambda a: (a.depth, a.node.ci_class, a.node.name or "", a.node.uid))
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


async def single_points_of_failure_of(
    uid: str, depth: int, classes: list[str] | None, driver: AsyncDriver, database: str, schema: Schema
) -> dict[str, Any]:
    """The CIs whose failure alone takes the business service down, with the path that explains each.

    ``classes``: only CIs of these classes (subclasses included). Without it, shared CIs (a
    package version many hosts install) are left out: they are a change's risk, not a
    failure point an engineer adds redundancy for.
    """
    graph = await _graph([uid], depth, driver, database, schema, upstream=True)
    if "BusinessService" not in graph.nodes[uid].labels:
        raise NotFound(f"{uid!r} is a {graph.nodes[uid].ci_class}, not a business service", field="uid")

    def wanted(node: Node) -> bool:
        if classes:
            return _of_classes(node, classes)
        return node.ci_class not in schema.classes or not schema.classes[node.ci_class].shared

    candidates = [c for c in upstream(schema, graph, [uid], depth) if wanted(graph.nodes[c])]
    found = single_points_of_failure(schema, graph, uid, candidates, depth)
    items = _nearest_first([_path_item(graph, c, path, "down") for c, path in found.items()])
    return {
        "service": _step(graph, uid, None, None),
        "depth": depth,
        "checked": len(candidates),
        "total": len(items),
        "items": items,
    }
