"""Reading and creating configuration items.

A CI node carries the label ``CI`` and its class labels, the system properties
(``uid``, ``class``, ``status``, ``first_seen``, ``last_seen``, ``parent_uid`` on
dependent CIs) and its attributes as plain properties, so identity keys can be
constrained and indexed by the database.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from neo4j import AsyncDriver

from cmdb_server.reconcile import PROVENANCE_PREFIX, to_json
from schema import PARENT_UID, CIClass, CIStatus, Schema, SourceKind


@dataclass(frozen=True)
class CIRecord:
    uid: str
    ci_class: str
    labels: tuple[str, ...]
    name: str | None
    status: CIStatus
    first_seen: datetime | None
    last_seen: datetime | None
    parent_uid: str | None
    attributes: dict[str, Any]


@dataclass(frozen=True)
class CIPage:
    items: list[CIRecord]
    total: int


class ParentNotFoundError(LookupError):
    pass


def _native(value: Any) -> Any:
    to_native = getattr(value, "to_native", None)
    return to_native() if callable(to_native) else value


def to_record(node: Any, schema: Schema) -> CIRecord:
    props = dict(node)
    ci_class = schema.classes.get(props.get("class", ""))
    declared = ci_class.attributes if ci_class else {}
    return CIRecord(
        uid=props["uid"],
        ci_class=props.get("class", ""),
        labels=tuple(sorted(node.labels)),
        name=props.get("name"),
        status=CIStatus(props.get("status", CIStatus.ACTIVE.value)),
        first_seen=_native(props.get("first_seen")),
        last_seen=_native(props.get("last_seen")),
        parent_uid=props.get(PARENT_UID),
        attributes={k: _native(v) for k, v in sorted(props.items()) if k in declared},
    )


async def list_cis(
    driver: AsyncDriver,
    database: str,
    schema: Schema,
    *,
    class_name: str | None,
    status: CIStatus | None,
    name_contains: str | None,
    limit: int,
    offset: int,
) -> CIPage:
    """One page of CIs, ordered by name then uid so pages never overlap or skip."""
    params = {
        "label": class_name or "CI",
        "status": status.value if status else None,
        "name": name_contains.lower() if name_contains else None,
        "limit": limit,
        "offset": offset,
    }
    where = """
        WHERE ($status IS NULL OR n.status = $status)
          AND ($name IS NULL OR toLower(n.name) CONTAINS $name)
    """
    async with driver.session(database=database, default_access_mode="READ") as session:

        async def page(tx: Any) -> CIPage:
            total_result = await tx.run(f"MATCH (n:CI:$($label)) {where} RETURN count(n) AS total", params)
            total = (await total_result.single(strict=True))["total"]
            rows = await tx.run(
                f"""
                MATCH (n:CI:$($label)) {where}
                RETURN n ORDER BY n.name, n.uid SKIP $offset LIMIT $limit
                """,
                params,
            )
            items = [to_record(row["n"], schema) async for row in rows]
            return CIPage(items=items, total=total)

        return await session.execute_read(page)


async def get_ci(driver: AsyncDriver, database: str, schema: Schema, uid: str) -> CIRecord | None:
    records, _, _ = await driver.execute_query(
        "MATCH (n:CI {uid: $uid}) RETURN n", uid=uid, database_=database, routing_="r"
    )
    return to_record(records[0]["n"], schema) if records else None


async def create_ci(
    driver: AsyncDriver,
    database: str,
    schema: Schema,
    ci_class: CIClass,
    attributes: dict[str, Any],
    *,
    parent_uid: str | None = None,
    status: CIStatus = CIStatus.ACTIVE,
    source: str = "manual",
) -> CIRecord:
    """Create one CI with checked attributes; a dependent CI is linked to its parent.

    Every attribute is recorded as set by a manual source (the highest precedence), and a
    ``created`` history event names ``source``. The database's constraints refuse a
    duplicate identity (``neo4j.exceptions.ConstraintError``).
    """
    now = datetime.now(UTC)
    props = {k: v for k, v in attributes.items() if v is not None}
    props.update({f"{PROVENANCE_PREFIX}{k}": SourceKind.MANUAL.value for k in list(props)})
    props.update(uid=str(uuid.uuid4()), status=status.value, first_seen=now, last_seen=now, **{"class": ci_class.name})
    event = {
        "kind": "created",
        "new": to_json({k: v for k, v in attributes.items() if v is not None}),
        "source": source,
        "at": now,
    }
    if ci_class.parent_ci is None:
        records, _, _ = await driver.execute_query(
            """
            CREATE (n:$($labels)) SET n = $props
            CREATE (e:Event) SET e = $event, e.ci_uid = n.uid
            RETURN n
            """,
            labels=list(ci_class.labels),
            props=props,
            event=event,
            database_=database,
        )
    else:
        if parent_uid is None:
            raise ParentNotFoundError(f"a {ci_class.name} needs a parent CI")
        props[PARENT_UID] = parent_uid
        edge = (
            "(p)-[:$($rel) {since: $now}]->(n)"
            if ci_class.parent_ci.parent_is_source
            else ("(n)-[:$($rel) {since: $now}]->(p)")
        )
        records, _, _ = await driver.execute_query(
            f"""
            MATCH (p:CI {{uid: $parent_uid}}) WHERE any(l IN labels(p) WHERE l IN $parent_classes)
            CREATE (n:$($labels)) SET n = $props
            CREATE {edge}
            CREATE (e:Event) SET e = $event, e.ci_uid = n.uid
            RETURN n
            """,
            parent_uid=parent_uid,
            parent_classes=list(ci_class.parent_ci.classes),
            labels=list(ci_class.labels),
            rel=ci_class.parent_ci.relationship,
            props=props,
            now=now,
            source=source,
            event=event,
            database_=database,
        )
        if not records:
            allowed = " or ".join(ci_class.parent_ci.classes)
            raise ParentNotFoundError(f"no {allowed} CI with uid {parent_uid!r}")
    return to_record(records[0]["n"], schema)


async def relationships_of(
    driver: AsyncDriver,
    database: str,
    uid: str,
    *,
    rel_type: str | None,
    direction: str,
    include_ended: bool,
) -> list[dict[str, Any]]:
    """Edges touching a CI, each with the CI at the other end; ``direction`` is out, in or both."""
    patterns = {
        "out": ["MATCH (n:CI {uid: $uid})-[r]->(other:CI) RETURN 'out' AS direction, r, other"],
        "in": ["MATCH (n:CI {uid: $uid})<-[r]-(other:CI) RETURN 'in' AS direction, r, other"],
    }
    chosen = patterns["out"] + patterns["in"] if direction == "both" else patterns[direction]
    query = " UNION ALL ".join(
        q.replace("RETURN", "WHERE ($type IS NULL OR type(r) = $type) AND ($ended OR r.ended_at IS NULL) RETURN")
        for q in chosen
    )
    records, _, _ = await driver.execute_query(
        f"CALL () {{ {query} }} RETURN direction, r, other ORDER BY type(r), other.name, other.uid",
        uid=uid,
        type=rel_type,
        ended=include_ended,
        database_=database,
        routing_="r",
    )
    rows = []
    for row in records:
        rel, other = row["r"], row["other"]
        props = {k: _native(v) for k, v in dict(rel).items()}
        rows.append(
            {
                "type": rel.type,
                "direction": row["direction"],
                "other": {"uid": other["uid"], "class": other.get("class"), "name": other.get("name")},
                "source": props.pop("source", None),
                "first_seen": props.pop("first_seen", None),
                "last_seen": props.pop("last_seen", None),
                "ended_at": props.pop("ended_at", None),
                "properties": {k: v for k, v in props.items() if k != "report_id"},
            }
        )
    return rows


async def history_of(
    driver: AsyncDriver,
    database: str,
    uid: str,
    *,
    since: datetime | None,
    until: datetime | None,
    limit: int,
    offset: int,
) -> tuple[list[dict[str, Any]], int]:
    """History events of a CI, newest first, and how many match in all."""
    where = "e.ci_uid = $uid AND ($since IS NULL OR e.at >= $since) AND ($until IS NULL OR e.at < $until)"
    params = {"uid": uid, "since": since, "until": until, "limit": limit, "offset": offset}
    async with driver.session(database=database, default_access_mode="READ") as session:

        async def read(tx: Any) -> tuple[list[dict[str, Any]], int]:
            total = (await (await tx.run(f"MATCH (e:Event) WHERE {where} RETURN count(e) AS n", params)).single())["n"]
            result = await tx.run(
                f"MATCH (e:Event) WHERE {where} RETURN e ORDER BY e.at DESC, e.kind SKIP $offset LIMIT $limit",
                params,
            )
            events = [{k: _native(v) for k, v in dict(row["e"]).items()} async for row in result]
            return events, total

        return await session.execute_read(read)


async def mark_stale(
    driver: AsyncDriver, database: str, cutoff: datetime, now: datetime, shared_labels: list[str]
) -> int:
    """Mark active CIs that discovery reported but no source has seen since ``cutoff``; record it.

    Shared CIs (``shared_labels``) are left alone: reports do not refresh their last_seen.
    """
    records, _, _ = await driver.execute_query(
        """
        MATCH (n:CI) WHERE n.status = 'active' AND n.last_seen < $cutoff
          AND any(k IN keys(n) WHERE k STARTS WITH '_seen_')
          AND NOT any(l IN labels(n) WHERE l IN $shared)
        SET n.status = 'stale'
        CREATE (:Event {ci_uid: n.uid, kind: 'status', field: 'status', old: '"active"', new: '"stale"',
                        source: 'cmdb:stale-check', at: $now})
        RETURN count(n) AS marked
        """,
        cutoff=cutoff,
        now=now,
        shared=shared_labels,
        database_=database,
    )
    marked: int = records[0]["marked"]
    return marked


async def create_relationship(
    driver: AsyncDriver,
    database: str,
    rel_type: str,
    key_properties: tuple[str, ...],
    from_uid: str,
    to_uid: str,
    properties: dict[str, Any],
    source: str,
) -> bool:
    """Declare an edge (a manual source's); False when that source had declared it already."""
    now = datetime.now(UTC)
    key = ", ".join(["source: $source", *(f"`{k}`: $props.`{k}`" for k in key_properties if k in properties)])
    records, _, _ = await driver.execute_query(
        f"""
        MATCH (a:CI {{uid: $from_uid}}), (b:CI {{uid: $to_uid}})
        MERGE (a)-[r:$($type) {{{key}}}]->(b)
        ON CREATE SET r.first_seen = $now
        WITH a, b, r, r.first_seen = $now OR r.ended_at IS NOT NULL AS started
        SET r += $props, r.last_seen = $now, r.ended_at = null
        FOREACH (_ IN CASE WHEN started THEN [1] ELSE [] END |
            CREATE (:Event {{ci_uid: a.uid, kind: 'relation_started', field: $type, new: $new,
                            source: $source, at: $now}}))
        RETURN started
        """,
        from_uid=from_uid,
        to_uid=to_uid,
        type=rel_type,
        props=properties,
        source=source,
        now=now,
        new=to_json({"to": to_uid, **properties}),
        database_=database,
    )
    return bool(records and records[0]["started"])


async def end_relationship(
    driver: AsyncDriver, database: str, rel_type: str, from_uid: str, to_uid: str, source: str
) -> int:
    """End the edges of a type between two CIs that a manual source declared; how many."""
    now = datetime.now(UTC)
    records, _, _ = await driver.execute_query(
        """
        MATCH (a:CI {uid: $from_uid})-[r:$($type) {source: $source}]->(b:CI {uid: $to_uid})
        WHERE r.ended_at IS NULL
        SET r.ended_at = $now
        CREATE (:Event {ci_uid: a.uid, kind: 'relation_ended', field: $type, old: $old,
                        source: $source, at: $now})
        RETURN count(r) AS ended
        """,
        from_uid=from_uid,
        to_uid=to_uid,
        type=rel_type,
        source=source,
        now=now,
        old=to_json({"to": to_uid}),
        database_=database,
    )
    ended: int = records[0]["ended"]
    return ended


async def update_attributes(
    driver: AsyncDriver, database: str, uid: str, current: dict[str, Any], changes: dict[str, Any], source: str
) -> list[str]:
    """Set attributes by hand (manual precedence); one history event per changed field; the fields changed."""
    now = datetime.now(UTC)
    changed = {k: v for k, v in changes.items() if current.get(k) != v}
    if not changed:
        return []
    props = dict(changed) | {f"{PROVENANCE_PREFIX}{k}": SourceKind.MANUAL.value for k in changed}
    events = [
        {
            "ci_uid": uid,
            "kind": "attribute",
            "field": k,
            "old": to_json(current.get(k)),
            "new": to_json(v),
            "source": source,
            "at": now,
        }
        for k, v in changed.items()
    ]
    await driver.execute_query(
        """
        MATCH (n:CI {uid: $uid}) SET n += $props
        WITH n UNWIND $events AS e CREATE (ev:Event) SET ev = e
        """,
        uid=uid,
        props=props,
        events=events,
        database_=database,
    )
    return sorted(changed)
