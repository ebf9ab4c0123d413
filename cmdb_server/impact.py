"""Impact analysis (pure): which CIs trouble on some CIs reaches, how badly, and why.

The graph around the failing CIs is loaded first (repositories/impact.py); this module
walks it. Trouble travels along an edge only as its relationship type's impact rule
allows (schema/relationships.toml) and never into a class the type ``stops_at``. A
normal edge passes the state on (down stays down). Where a type declares a redundancy
group (``redundant_at``: a MEMBER_OF group, a host over its uplinks), trouble from a member
makes the group down only when every member is down, degraded otherwise, and a group that
is only degraded does not pass trouble back out to its members. States only rise,
so the walk ends, cycles included; each affected CI keeps the path that first gave it
its final state.
"""

from __future__ import annotations

from collections import defaultdict, deque
from dataclasses import dataclass, field
from typing import Any

from schema import ImpactState, RelationshipEnd, Schema

RANK = {None: 0, ImpactState.DEGRADED: 1, ImpactState.DOWN: 2}


@dataclass(frozen=True)
class Node:
    uid: str
    name: str | None
    ci_class: str
    labels: tuple[str, ...]
    properties: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)


@dataclass(frozen=True)
class Edge:
    """One relationship as loaded: ``source`` -[type]-> ``target``."""

    type: str
    source: str
    target: str


@dataclass
class Subgraph:
    nodes: dict[str, Node] = field(default_factory=dict)
    edges: set[Edge] = field(default_factory=set)


@dataclass(frozen=True)
class Step:
    uid: str
    via: str | None  # the relationship type that led here
    direction: str | None  # "out": along the edge, "in": against it


@dataclass
class Affected:
    node: Node
    state: ImpactState
    path: list[Step]
    depth: int


@dataclass(frozen=True)
class Flow:
    """Trouble on one CI reaching a neighbour along one edge."""

    neighbour: str
    type: str
    direction: str  # "out": along the edge, "in": against it
    into_group: bool  # the neighbour is the edge type's redundancy group: weigh its members
    from_group: bool  # the CI is the group: only its being down reaches its members


def _propagations(schema: Schema, graph: Subgraph) -> dict[str, list[Flow]]:
    """uid -> the flows along which trouble on uid travels."""
    result: dict[str, list[Flow]] = defaultdict(list)
    for edge in graph.edges:
        rel = schema.relationships.get(edge.type)
        if rel is None:
            continue
        group = (
            None
            if rel.redundant_at is None
            else edge.source
            if rel.redundant_at is RelationshipEnd.SOURCE
            else edge.target
        )
        for start, end, outgoing in ((edge.source, edge.target, True), (edge.target, edge.source, False)):
            if not rel.propagates(outgoing):
                continue
            target = graph.nodes.get(end)
            if target is None or any(label in rel.stops_at for label in target.labels):
                continue
            # A link has no direction (stored from either end): trouble always goes along it.
            direction = "out" if outgoing or rel.symmetric else "in"
            result[start].append(Flow(end, edge.type, direction, end == group, start == group))
    for flows in result.values():
        flows.sort(key=lambda f: (f.neighbour, f.type, f.direction))
    return result


def _members(graph: Subgraph, schema: Schema) -> dict[tuple[str, str], set[str]]:
    """(group uid, relationship type) -> the uids of its members (schema: ``redundant_at``)."""
    members: dict[tuple[str, str], set[str]] = defaultdict(set)
    for edge in graph.edges:
        rel = schema.relationships.get(edge.type)
        if rel is None or rel.redundant_at is None:
            continue
        group, member = (
            (edge.target, edge.source) if rel.redundant_at is RelationshipEnd.TARGET else (edge.source, edge.target)
        )
        node = graph.nodes.get(member)
        if node is not None and rel.is_member(node.properties):
            members[(group, edge.type)].add(member)
    return members


def analyse(schema: Schema, graph: Subgraph, roots: list[str], max_depth: int) -> dict[str, Affected]:
    """Every CI the roots' failure reaches within ``max_depth`` steps, roots excluded."""
    flows = _propagations(schema, graph)
    members = _members(graph, schema)
    state: dict[str, ImpactState] = {}
    path: dict[str, list[Step]] = {}
    queue: deque[str] = deque()
    for root in sorted(set(roots)):
        if root in graph.nodes:
            state[root] = ImpactState.DOWN
            path[root] = [Step(root, None, None)]
            queue.append(root)
    while queue:
        current = queue.popleft()
        depth = len(path[current]) - 1
        if depth >= max_depth:
            continue
        for flow in flows.get(current, []):
            if flow.neighbour in roots:
                continue
            if flow.from_group and state[current] is not ImpactState.DOWN:
                continue  # a group degraded by one member's trouble leaves its other members be
            group = members.get((flow.neighbour, flow.type), set()) if flow.into_group else set()
            if group:
                down = all(state.get(m) is ImpactState.DOWN for m in group)
                new = ImpactState.DOWN if down else ImpactState.DEGRADED
            else:
                new = state[current]
            if RANK[new] > RANK[state.get(flow.neighbour)]:
                state[flow.neighbour] = new
                path[flow.neighbour] = [*path[current], Step(flow.neighbour, flow.type, flow.direction)]
                queue.append(flow.neighbour)
    return {
        uid: Affected(graph.nodes[uid], state[uid], path[uid], len(path[uid]) - 1) for uid in state if uid not in roots
    }


def upstream(schema: Schema, graph: Subgraph, roots: list[str], max_depth: int) -> dict[str, list[Step]]:
    """The CIs whose trouble reaches the roots, each with the path from it down to a root."""
    reverse: dict[str, list[tuple[str, str, str]]] = defaultdict(list)
    for start, flows in _propagations(schema, graph).items():
        for flow in flows:
            reverse[flow.neighbour].append((start, flow.type, flow.direction))
    paths: dict[str, list[Step]] = {root: [Step(root, None, None)] for root in roots if root in graph.nodes}
    queue: deque[str] = deque(sorted(paths))
    while queue:
        current = queue.popleft()
        if len(paths[current]) - 1 >= max_depth:
            continue
        for origin, rel_type, direction in sorted(reverse.get(current, [])):
            if origin not in paths:
                # Read from the origin down to the root it troubles: each step names the
                # relationship by which trouble reaches it from the step before.
                rest = paths[current][1:]
                paths[origin] = [Step(origin, None, None), Step(current, rel_type, direction), *rest]
                queue.append(origin)
    return {uid: path for uid, path in paths.items() if uid not in roots}


def single_points_of_failure(
    schema: Schema, graph: Subgraph, target: str, candidates: list[str], max_depth: int
) -> dict[str, list[Step]]:
    """The candidates whose failure alone takes ``target`` down, each with the path that explains it.

    Each candidate is walked on its own: redundancy (a second uplink, another group member)
    leaves the target degraded at most, and such a candidate is no single point of failure.
    """
    found: dict[str, list[Step]] = {}
    for uid in sorted(set(candidates)):
        reached = analyse(schema, graph, [uid], max_depth).get(target)
        if reached is not None and reached.state is ImpactState.DOWN:
            found[uid] = reached.path
    return found
