"""Loading the neighbourhood impact analysis walks: current edges only, depth-bounded."""

from __future__ import annotations

from typing import Any

from neo4j import AsyncDriver

from cmdb_server.impact import Edge, Node, Subgraph
from cmdb_server.reconcile import native


def _node(props: dict[str, Any], labels: list[str]) -> Node:
    return Node(
        uid=props["uid"],
        name=props.get("name"),
        ci_class=props.get("class", ""),
        labels=tuple(sorted(labels)),
        properties={k: native(v) for k, v in props.items() if k in ("criticality", "status", "first_seen")},
    )


async def load_neighbourhood(
    driver: AsyncDriver,
    database: str,
    roots: list[str],
    out_types: list[str],
    in_types: list[str],
    depth: int,
    member_types: list[str],
    stops_at: dict[str, tuple[str, ...]] | None = None,
) -> Subgraph:
    """The CIs within ``depth`` hops of the roots, and the members of every group met.

    Only edges trouble can travel along are followed: ``out_types`` from their source,
    ``in_types`` from their target; a CI of a class an edge type ``stops_at`` is kept but
    not expanded from. Following edges both ways would load everything a shared CI (a
    package installed on every host) touches.
    """
    stops = stops_at or {}
    graph = Subgraph()
    async with driver.session(database=database, default_access_mode="READ") as session:

        async def read(tx: Any) -> None:
            result = await tx.run(
                "UNWIND $uids AS uid MATCH (n:CI {uid: uid}) RETURN properties(n) AS p, labels(n) AS l",
                uids=roots,
            )
            async for row in result:
                graph.nodes[row["p"]["uid"]] = _node(row["p"], row["l"])
            frontier = set(graph.nodes)
            for _ in range(depth):
                if not frontier:
                    break
                result = await tx.run(
                    """
                    UNWIND $uids AS uid
                    MATCH (n:CI {uid: uid})
                    CALL (n) {
                      MATCH (n)-[r]->(m:CI) WHERE type(r) IN $out_types AND r.ended_at IS NULL
                      RETURN r, m
                      UNION
                      MATCH (n)<-[r]-(m:CI) WHERE type(r) IN $in_types AND r.ended_at IS NULL
                      RETURN r, m
                    }
                    RETURN startNode(r).uid AS source, endNode(r).uid AS target, type(r) AS type,
                           properties(m) AS p, labels(m) AS l
                    """,
                    uids=sorted(frontier),
                    out_types=out_types,
                    in_types=in_types,
                )
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
            groups = sorted({e.target for e in graph.edges if e.type in member_types})
            if groups:
                result = await tx.run(
                    """
                    UNWIND $groups AS uid
                    MATCH (m:CI)-[r]->(g:CI {uid: uid})
                    WHERE type(r) IN $member_types AND r.ended_at IS NULL
                    RETURN m.uid AS source, g.uid AS target, type(r) AS type,
                           properties(m) AS p, labels(m) AS l
                    """,
                    groups=groups,
                    member_types=member_types,
                )
                async for row in result:
                    graph.edges.add(Edge(row["type"], row["source"], row["target"]))
                    if row["p"]["uid"] not in graph.nodes:
                        graph.nodes[row["p"]["uid"]] = _node(row["p"], row["l"])

        await session.execute_read(read)
    return graph
