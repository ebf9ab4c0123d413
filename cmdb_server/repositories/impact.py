"""Loading the neighbourhood impact analysis walks: current edges only, depth-bounded."""

from __future__ import annotations

from typing import Any

from neo4j import AsyncDriver

from cmdb_server.db import timed
from cmdb_server.impact import Edge, Node, Subgraph
from cmdb_server.reconcile import native
from cmdb_server.repositories.schema_setup import quote
from schema import RelationshipEnd

# What the walk needs of a CI: not its every attribute (an interface or a host has dozens);
# plus the properties that decide a redundancy group's members (schema: members_exclude).
KEPT = ("criticality", "status", "first_seen")


def _types(types: list[str]) -> str:
    """A relationship-type alternation for a pattern, e.g. `DEPENDS_ON`|`RUNS_ON`.

    Types in the pattern let Neo4j follow only those relationships; a ``type(r) IN $types``
    filter reads every relationship of the node first (a host has a thousand INSTALLED).
    """
    return "|".join(quote(t) for t in sorted(types))


def _projection(extra: tuple[str, ...]) -> str:
    return "{" + ", ".join(f".{quote(p)}" for p in ("uid", "name", "class", *KEPT, *extra)) + "}"


def _node(props: dict[str, Any], labels: list[str]) -> Node:
    return Node(
        uid=props["uid"],
        name=props.get("name"),
        ci_class=props.get("class", ""),
        labels=tuple(sorted(labels)),
        properties={k: native(v) for k, v in props.items() if k not in ("uid", "name", "class") and v is not None},
    )


async def load_neighbourhood(
    driver: AsyncDriver,
    database: str,
    roots: list[str],
    out_types: list[str],
    in_types: list[str],
    depth: int,
    groups_at: dict[str, RelationshipEnd],
    member_properties: tuple[str, ...] = (),
    stops_at: dict[str, tuple[str, ...]] | None = None,
) -> Subgraph:
    """The CIs within ``depth`` hops of the roots, and the members of every group met.

    ``groups_at``: the relationship types with redundancy groups, and the end the group is
    at; ``member_properties``: what decides membership (read on every CI loaded).

    Only edges trouble can travel along are followed: ``out_types`` from their source,
    ``in_types`` from their target; a CI of a class an edge type ``stops_at`` is kept but
    not expanded from. Following edges both ways would load everything a shared CI (a
    package installed on every host) touches.
    """
    stops = stops_at or {}
    projection = _projection(member_properties)
    graph = Subgraph()
    branches = []
    if out_types:
        branches.append(f"MATCH (n)-[r:{_types(out_types)}]->(m:CI) WHERE r.ended_at IS NULL RETURN r, m")
    if in_types:
        branches.append(f"MATCH (n)<-[r:{_types(in_types)}]-(m:CI) WHERE r.ended_at IS NULL RETURN r, m")
    expand = (
        "UNWIND $uids AS uid MATCH (n:CI {uid: uid}) "
        f"CALL (n) {{ {' UNION '.join(branches)} }} "
        "RETURN startNode(r).uid AS source, endNode(r).uid AS target, type(r) AS type, "
        f"m {projection} AS p, labels(m) AS l"
    )
    async with driver.session(database=database, default_access_mode="READ") as session:

        async def read(tx: Any) -> None:
            result = await tx.run(
                f"UNWIND $uids AS uid MATCH (n:CI {{uid: uid}}) RETURN n {projection} AS p, labels(n) AS l",
                uids=roots,
            )
            async for row in result:
                graph.nodes[row["p"]["uid"]] = _node(row["p"], row["l"])
            frontier = set(graph.nodes)
            for _ in range(depth if branches else 0):
                if not frontier:
                    break
                result = await tx.run(expand, uids=sorted(frontier))
                found: set[str] = set()
                async for row in result:
                    graph.edges.add(Edge(row["type"], row["source"], row["target"]))
                    uid = row["p"]["uid"]
                    if uid not in graph.nodes:
                        graph.nodes[uid] = _node(row["p"], row["l"])
                        if not set(row["l"]) & set(stops.get(row["type"], ())):
                            found.add(uid)
                frontier = found
            # A group's state depends on all its members, reached or not.
            for end in RelationshipEnd:
                types = sorted(t for t, at in groups_at.items() if at is end)
                groups = sorted(
                    {e.target if end is RelationshipEnd.TARGET else e.source for e in graph.edges if e.type in types}
                )
                if not groups:
                    continue
                pattern = (
                    f"(m:CI)-[r:{_types(types)}]->(g:CI {{uid: uid}})"
                    if end is RelationshipEnd.TARGET
                    else f"(g:CI {{uid: uid}})-[r:{_types(types)}]->(m:CI)"
                )
                result = await tx.run(
                    f"UNWIND $groups AS uid MATCH {pattern} WHERE r.ended_at IS NULL "
                    "RETURN startNode(r).uid AS source, endNode(r).uid AS target, type(r) AS type, "
                    f"m {projection} AS p, labels(m) AS l",
                    groups=groups,
                )
                async for row in result:
                    graph.edges.add(Edge(row["type"], row["source"], row["target"]))
                    if row["p"]["uid"] not in graph.nodes:
                        graph.nodes[row["p"]["uid"]] = _node(row["p"], row["l"])

        await session.execute_read(timed(read))
    return graph
