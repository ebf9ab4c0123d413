"""A CI's neighbourhood as the API and the graph page answer it: checked, capped, each CI with its layer."""

from __future__ import annotations

from typing import Any

from neo4j import AsyncDriver

from cmdb_server.errors import NotFound
from cmdb_server.repositories import neighbourhood as repository
from schema import Schema

MAX_DEPTH = 3
DEFAULT_DEPTH = 1
MAX_NODES = 1000
DEFAULT_NODES = 300


def layer_of(schema: Schema, class_name: str | None) -> int | None:
    """The row of the layered drawing a class takes (schema/ci_classes.toml ``layer``)."""
    ci_class = schema.classes.get(class_name or "")
    return ci_class.layer if ci_class else None


async def neighbourhood_of(
    uid: str,
    depth: int,
    driver: AsyncDriver,
    database: str,
    schema: Schema,
    types: list[str] | None = None,
    classes: list[str] | None = None,
    limit: int = DEFAULT_NODES,
) -> dict[str, Any]:
    """The CIs within ``depth`` hops of ``uid`` and the edges among them, at most ``limit`` CIs
    (``left_out`` says how many more the depth holds); ``types`` and ``classes`` narrow what is
    followed and drawn (classes include their subclasses)."""
    found = await repository.neighbourhood(
        driver,
        database,
        [uid],
        depth=depth,
        types=types,
        classes=sorted(set(classes)) if classes else None,  # a node carries its ancestors' labels
        shared=schema.shared_labels(),
        limit=limit,
    )
    if not found.nodes:
        raise NotFound(f"no CI with uid {uid!r}", field="uid", location="path")
    return {
        "uid": uid,
        "depth": depth,
        "limit": limit,
        "left_out": found.left_out,
        "nodes": [{**node, "layer": layer_of(schema, node["class"])} for node in found.nodes],
        "edges": found.edges,
    }
