"""Applying the constraints and indexes derived from ``schema/`` to Neo4j, idempotently.

Labels and property names cannot be query parameters in DDL; they come from the
validated schema (identifiers only) and are quoted with backticks.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from neo4j import AsyncDriver
from neo4j.exceptions import ClientError

from schema import IndexKind, IndexSpec
from schema.constraints import RETIRED_SPECS

log = logging.getLogger(__name__)

INDEX_ONLINE_TIMEOUT_SECONDS = 300
ALREADY_EXISTS = frozenset(
    {
        "Neo.ClientError.Schema.EquivalentSchemaRuleAlreadyExists",
        "Neo.ClientError.Schema.IndexAlreadyExists",
        "Neo.ClientError.Schema.ConstraintAlreadyExists",
    }
)


def quote(identifier: str) -> str:
    """Backtick-quote a label, type or property name from the schema for use in Cypher."""
    return "`" + identifier.replace("`", "``") + "`"


def render_ddl(spec: IndexSpec) -> str:
    props = ", ".join(f"n.{quote(p)}" for p in spec.properties)
    target = f"FOR ()-[n:{quote(spec.label)}]-()" if spec.on_relationship else f"FOR (n:{quote(spec.label)})"
    if spec.kind is IndexKind.UNIQUE:
        return f"CREATE CONSTRAINT {quote(spec.name)} IF NOT EXISTS {target} REQUIRE ({props}) IS UNIQUE"
    if spec.kind is IndexKind.RANGE:
        return f"CREATE RANGE INDEX {quote(spec.name)} IF NOT EXISTS {target} ON ({props})"
    if spec.kind is IndexKind.TEXT:
        return f"CREATE TEXT INDEX {quote(spec.name)} IF NOT EXISTS {target} ON ({props})"
    if spec.kind is IndexKind.FULLTEXT:
        return f"CREATE FULLTEXT INDEX {quote(spec.name)} IF NOT EXISTS {target} ON EACH [{props}]"
    raise AssertionError(f"unhandled index kind {spec.kind}")  # pragma: no cover


@dataclass
class SchemaObject:
    """A constraint or index as Neo4j reports it."""

    name: str
    kind: IndexKind | None  # None: a kind this module does not manage
    label: str | None
    properties: tuple[str, ...]
    state: str = "ONLINE"

    on_relationship: bool = False

    def matches(self, spec: IndexSpec) -> bool:
        mine = (self.kind, self.label, self.properties, self.on_relationship)
        return mine == (spec.kind, spec.label, spec.properties, spec.on_relationship)


@dataclass
class SchemaReport:
    created: list[str] = field(default_factory=list)
    replaced: list[str] = field(default_factory=list)
    present: list[str] = field(default_factory=list)


async def read_schema_objects(driver: AsyncDriver, database: str) -> dict[str, SchemaObject]:
    """The constraints and the indexes that no constraint owns, by name."""
    objects: dict[str, SchemaObject] = {}
    constraints, _, _ = await driver.execute_query(
        "SHOW CONSTRAINTS YIELD name, type, entityType, labelsOrTypes, properties, ownedIndex",
        database_=database,
    )
    owned = set()
    for row in constraints:
        owned.add(row["ownedIndex"])
        kind = IndexKind.UNIQUE if row["type"] == "UNIQUENESS" else None
        objects[row["name"]] = _schema_object(row, kind)
    indexes, _, _ = await driver.execute_query(
        "SHOW INDEXES YIELD name, type, entityType, labelsOrTypes, properties, state", database_=database
    )
    for row in indexes:
        if row["name"] in owned:
            continue
        kind = {"RANGE": IndexKind.RANGE, "TEXT": IndexKind.TEXT, "FULLTEXT": IndexKind.FULLTEXT}.get(row["type"])
        objects[row["name"]] = _schema_object(row, kind, row["state"])
    return objects


def _schema_object(row: Any, kind: IndexKind | None, state: str = "ONLINE") -> SchemaObject:
    labels = row["labelsOrTypes"] or [None]
    return SchemaObject(
        name=row["name"],
        kind=kind,
        label=labels[0],
        properties=tuple(row["properties"] or ()),
        state=state,
        on_relationship=row["entityType"] == "RELATIONSHIP",
    )


async def _drop(driver: AsyncDriver, database: str, obj: SchemaObject) -> None:
    statement = "DROP CONSTRAINT" if obj.kind is IndexKind.UNIQUE else "DROP INDEX"
    await driver.execute_query(f"{statement} {quote(obj.name)} IF EXISTS", database_=database)


async def apply_schema(driver: AsyncDriver, database: str, specs: list[IndexSpec]) -> SchemaReport:
    """Create what is missing, replace what changed definition, and wait until all are online.

    Safe to run at every start and from several servers at once: every statement is
    ``IF NOT EXISTS``. A uniqueness constraint that existing data violates makes this
    raise with Neo4j's message naming the conflicting nodes.
    """
    report = SchemaReport()
    existing = await read_schema_objects(driver, database)
    for name in RETIRED_SPECS:
        if name in existing:
            log.warning("schema object %s is no longer used; dropping it", name)
            await _drop(driver, database, existing[name])
    for spec in specs:
        current = existing.get(spec.name)
        if current is not None and current.matches(spec):
            report.present.append(spec.name)
            continue
        if current is not None:
            log.warning("schema object %s changed definition; replacing it", spec.name)
            await _drop(driver, database, current)
            report.replaced.append(spec.name)
        else:
            report.created.append(spec.name)
        try:
            await driver.execute_query(render_ddl(spec), database_=database)
        except ClientError as exc:
            # Another server (a replica, a second worker) created it between our read and now.
            if exc.code not in ALREADY_EXISTS:
                raise
            log.info("schema object %s was created concurrently", spec.name)
    if report.created or report.replaced:
        await driver.execute_query(
            "CALL db.awaitIndexes($seconds)", seconds=INDEX_ONLINE_TIMEOUT_SECONDS, database_=database
        )
    return report


async def missing_schema_objects(driver: AsyncDriver, database: str, specs: list[IndexSpec]) -> list[str]:
    """Names of the specs that are absent, different, or not yet online in the database."""
    existing = await read_schema_objects(driver, database)
    missing = []
    for spec in specs:
        current = existing.get(spec.name)
        if current is None or not current.matches(spec) or current.state != "ONLINE":
            missing.append(spec.name)
    return missing
