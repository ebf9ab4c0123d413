"""Reading a CI's neighbourhood for a drawing: the CIs within a few hops, capped, and the edges among them.

Unlike the impact walk (repositories/impact.py), which follows only the edges trouble can
travel along, a drawing follows every current relationship, both ways; so it is bounded
by a node cap, not only by depth: a package version installed on 10,000 hosts is one hop
from each of them. What the cap leaves out is counted, never silently dropped.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from neo4j import AsyncDriver

from cmdb_server.db import timed
from cmdb_server.repositories.impact import _types


@dataclass
class Neighbourhood:
    """The CIs drawn (``nodes``: uid, name, class, status, depth in hops from a root), the current
    edges among them (type, source, target; one per type and pair) and how many CIs within
    the depth the cap left out."""

    nodes: list[dict[str, Any]] = field(default_factory=list)
    edges: list[dict[str, str]] = field(default_factory=list)
    left_out: int = 0  # within reach of the CIs kept, at the hop the cap was reached


def _hop(types: list[str] | None) -> str:
    """A relationship pattern of these types (all types when None): types in the pattern let
    Neo4j read only those relationships of a node (a host has a thousand INSTALLED)."""
    return f"[r:{_types(types)}]" if types else "[r]"


async def neighbourhood(
    driver: AsyncDriver,
    database: str,
    roots: list[str],
    *,
    depth: int,
    types: list[str] | None,
    classes: list[str] | None,
    shared: list[str],
    limit: int,
) -> Neighbourhood:
    """The CIs within ``depth`` hops of the roots along current edges of ``types`` (all when
    None), of ``classes`` (labels; any when None; the roots always), at most ``limit`` in all.

    Nearer CIs come first; within a hop, CIs of ``shared`` classes (package versions) after
    the others, then by class and name, so a cut keeps the hosts, not their packages. A CI
    not of ``classes`` is not drawn and not walked through.
    """
    projection = "{.uid, .name, .class, .status}"
    level = (
        f"UNWIND $frontier AS uid MATCH (n:CI {{uid: uid}})-{_hop(types)}-(m:CI) "
        "WHERE r.ended_at IS NULL AND NOT m.uid IN $seen "
        "AND ($classes IS NULL OR any(l IN labels(m) WHERE l IN $classes)) "
        "WITH DISTINCT m ORDER BY any(l IN labels(m) WHERE l IN $shared), m.class, m.name, m.uid "
        "WITH collect(m) AS found "
        f"RETURN size(found) AS total, [m IN found[..$room] | m {projection}] AS kept"
    )
    among = (
        f"UNWIND $uids AS uid MATCH (a:CI {{uid: uid}})-{_hop(types)}->(b:CI) "
        "WHERE r.ended_at IS NULL AND b.uid IN $uids "
        "RETURN DISTINCT a.uid AS source, type(r) AS type, b.uid AS target ORDER BY source, type, target"
    )
    found = Neighbourhood()
    async with driver.session(database=database, default_access_mode="READ") as session:

        async def read(tx: Any) -> None:
            result = await tx.run(
                f"UNWIND $uids AS uid MATCH (n:CI {{uid: uid}}) RETURN n {projection} AS p", uids=roots
            )
            found.nodes = [{**row["p"], "depth": 0} async for row in result]
            seen = [n["uid"] for n in found.nodes]
            frontier = list(seen)
            for hop in range(1, depth + 1):
                if not frontier:
                    break
                room = max(limit - len(seen), 0)
                params = {"frontier": frontier, "seen": seen, "classes": classes, "shared": shared, "room": room}
                row = await (await tx.run(level, params)).single()
                kept = [{**p, "depth": hop} for p in row["kept"]]
                found.left_out += row["total"] - len(kept)
                found.nodes += kept
                frontier = [p["uid"] for p in kept]
                seen += frontier
                if len(kept) < row["total"]:
                    break  # the cap is reached: the CIs further out are neither drawn nor counted
            result = await tx.run(among, uids=seen)
            found.edges = [{"source": r["source"], "type": r["type"], "target": r["target"]} async for r in result]

        await session.execute_read(timed(read))
    return found
