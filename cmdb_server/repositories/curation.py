"""Hand edits of CIs: attributes (and the locks they take), explicit locks, retirement, deletion.

Each is one statement that writes the change and its history events together. A lock is
``_lock_<attribute>`` (who took it) on the node; what discovery last saw of a locked
attribute, when it disagrees, is ``_drift_<attribute>`` (see cmdb_server/reconcile.py).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from neo4j import AsyncDriver, AsyncManagedTransaction

from cmdb_server.db import read_query
from cmdb_server.reconcile import (
    DRIFT_PREFIX,
    LOCK_PREFIX,
    MANUAL_SEEN,
    PROVENANCE_PREFIX,
    SEEN_PREFIX,
    drift_value,
    native,
    to_json,
)
from cmdb_server.repositories.cis import CIRecord, snapshot, to_record
from schema import CIClass, CIStatus, Schema, SourceKind


def _event(uid: str, kind: str, field: str | None, old: Any, new: Any, source: str, now: datetime) -> dict[str, Any]:
    return {
        "ci_uid": uid,
        "kind": kind,
        "field": field,
        "old": to_json(old),
        "new": to_json(new),
        "source": source,
        "at": now,
    }


async def _write(
    driver: AsyncDriver, database: str, uid: str, props: dict[str, Any], events: list[dict[str, Any]]
) -> None:
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


def _lock_props(current: dict[str, Any], attribute: str, value: Any, by: str, now: datetime) -> dict[str, Any]:
    """Properties that lock ``attribute`` at ``value``. If the value it replaces came from a
    discovery source, that source saw something else: the drift is known from the start."""
    props: dict[str, Any] = {LOCK_PREFIX + attribute: by}
    holder = current.get(PROVENANCE_PREFIX + attribute)
    old = native(current.get(attribute))
    if holder not in (None, SourceKind.MANUAL.value) and old is not None and old != value:
        seen = native(current.get(SEEN_PREFIX + str(holder))) or now
        props[DRIFT_PREFIX + attribute] = drift_value(old, str(holder), seen)
    return props


async def update_attributes(
    driver: AsyncDriver,
    database: str,
    ci_class: CIClass,
    uid: str,
    current: dict[str, Any],
    changes: dict[str, Any],
    source: str,
    by: str,
) -> list[str]:
    """Set attributes by hand (manual precedence); a lockable attribute set by hand is locked
    against discovery. The edit is the manual source's "last seen" (``_seen_manual``): the
    values set by hand hold against lower sources for the stale window from now. One
    history event per changed field (and per new lock); the fields changed."""
    now = datetime.now(UTC)
    changed = {k: v for k, v in changes.items() if native(current.get(k)) != v}
    if not changed:
        return []
    props: dict[str, Any] = dict(changed) | {f"{PROVENANCE_PREFIX}{k}": SourceKind.MANUAL.value for k in changed}
    props[MANUAL_SEEN] = now
    events = [_event(uid, "attribute", k, native(current.get(k)), v, source, now) for k, v in changed.items()]
    for attribute in sorted(set(changed) & set(ci_class.manual_locks)):
        if current.get(LOCK_PREFIX + attribute) is None:
            props |= _lock_props(current, attribute, changed[attribute], by, now)
            events.append(_event(uid, "lock", attribute, None, by, source, now))
    await _write(driver, database, uid, props, events)
    return sorted(changed)


async def lock_attribute(
    driver: AsyncDriver,
    database: str,
    uid: str,
    current: dict[str, Any],
    attribute: str,
    source: str,
    by: str,
) -> None:
    """Lock an attribute at its current value (the caller checked that it is lockable and unlocked)."""
    now = datetime.now(UTC)
    value = native(current.get(attribute))
    props = _lock_props(current, attribute, value, by, now)
    await _write(driver, database, uid, props, [_event(uid, "lock", attribute, None, by, source, now)])


async def unlock_attribute(
    driver: AsyncDriver, database: str, uid: str, current: dict[str, Any], attribute: str, source: str
) -> Any:
    """Unlock an attribute. If discovery saw another value meanwhile, that value is taken now
    (as the source that saw it) rather than at the source's next changed report; returns it
    (None when there was no drift)."""
    now = datetime.now(UTC)
    props: dict[str, Any] = {LOCK_PREFIX + attribute: None, DRIFT_PREFIX + attribute: None}
    events = [_event(uid, "unlock", attribute, current.get(LOCK_PREFIX + attribute), None, source, now)]
    stored = current.get(DRIFT_PREFIX + attribute)
    seen = None
    if stored is not None:
        drift = json.loads(stored)
        seen = drift["value"]
        props |= {attribute: seen, PROVENANCE_PREFIX + attribute: drift["source"]}
        events.append(_event(uid, "attribute", attribute, native(current.get(attribute)), seen, source, now))
    await _write(driver, database, uid, props, events)
    return seen


async def retire_ci(driver: AsyncDriver, database: str, uid: str, old_status: str, reason: str, source: str) -> None:
    """Take a CI out of service on purpose: status retired, with the reason in its history."""
    now = datetime.now(UTC)
    event = _event(uid, "status", "status", old_status, CIStatus.RETIRED.value, source, now) | {"reason": reason}
    await _write(driver, database, uid, {"status": CIStatus.RETIRED.value}, [event])


async def delete_ci(
    driver: AsyncDriver, database: str, schema: Schema, uid: str, reason: str, source: str
) -> dict[str, int]:
    """Remove a CI, the CIs identified through it (a host's interfaces, services...) and
    their edges: an admin's correction of a record that should never have existed. The
    history stays, closed by a ``deleted`` event per CI that keeps the CI as it was (``old``)
    and the reason (``new``), and a ``relation_ended`` event per edge between CIs that had
    not ended. How many CIs and edges went."""
    now = datetime.now(UTC)

    async def delete(tx: AsyncManagedTransaction) -> dict[str, int]:
        result = await tx.run(
            """
            MATCH (root:CI {uid: $uid})
            // a dependent CI is identified through its parent, and linked to it: it goes too
            OPTIONAL MATCH (root)--(child:CI) WHERE child.parent_uid = root.uid
            OPTIONAL MATCH (child)--(grandchild:CI) WHERE grandchild.parent_uid = child.uid
            WITH root, collect(DISTINCT child) + collect(DISTINCT grandchild) AS dependents
            UNWIND [root] + dependents AS n
            SET n._deleting = true  // locked: its edges stay as read here until the delete
            RETURN n, [(n)-[r]-(:CI) WHERE r.ended_at IS NULL
                       | {id: elementId(r), type: type(r), from: startNode(r).uid, to: endNode(r).uid}] AS open
            """,
            uid=uid,
        )
        doomed: list[CIRecord] = []
        open_edges: dict[str, dict[str, Any]] = {}
        async for row in result:
            doomed.append(to_record(row["n"], schema))
            open_edges |= {edge["id"]: edge for edge in row["open"]}
        if not doomed:
            return {"cis": 0, "edges": 0}
        events = [_event(r.uid, "deleted", None, snapshot(r), {"reason": reason}, source, now) for r in doomed]
        # Each open edge ends as ingest ends one, in the history of the CI it starts from (a
        # neighbour that stays, or a doomed CI).
        events += [
            _event(e["from"], "relation_ended", e["type"], {"to": e["to"]}, None, source, now)
            for e in open_edges.values()
        ]
        result = await tx.run(
            """
            MATCH (n:CI) WHERE n.uid IN $uids
            OPTIONAL MATCH (n)-[r]-()
            WITH collect(DISTINCT n) AS nodes, count(DISTINCT r) AS edges
            FOREACH (n IN nodes | DETACH DELETE n)
            WITH edges
            CALL () {
                UNWIND $events AS e
                CREATE (ev:Event) SET ev = e
            }
            RETURN edges
            """,
            uids=[r.uid for r in doomed],
            events=events,
        )
        row = await result.single(strict=True)
        return {"cis": len(doomed), "edges": row["edges"]}

    async with driver.session(database=database) as session:
        return await session.execute_write(delete)


async def set_tag(driver: AsyncDriver, database: str, uid: str, tag: str, present: bool, source: str) -> bool | None:
    """Add (``present``) or remove a tag; None when there is no such CI, else whether anything changed."""
    now = datetime.now(UTC)
    records, _, _ = await driver.execute_query(
        """
        MATCH (n:CI {uid: $uid})
        WITH n, coalesce(n.tags, []) AS before
        WITH n, before, CASE WHEN $present THEN
                 CASE WHEN $tag IN before THEN before ELSE before + $tag END
             ELSE [t IN before WHERE t <> $tag] END AS after
        SET n.tags = after
        WITH n, size(before) <> size(after) AS changed
        CALL (n, changed) {
            WITH n WHERE changed
            CREATE (ev:Event) SET ev = $event, ev.ci_uid = n.uid
        }
        RETURN changed
        """,
        uid=uid,
        tag=tag,
        present=present,
        event=_event(uid, "tag", "tags", None if present else tag, tag if present else None, source, now),
        database_=database,
    )
    return bool(records[0]["changed"]) if records else None


async def tag_counts(driver: AsyncDriver, database: str) -> list[dict[str, Any]]:
    """Every tag in use, with how many CIs carry it, most used first."""
    records, _, _ = await driver.execute_query(
        read_query("""
        MATCH (n:CI) WHERE n.tags IS NOT NULL
        UNWIND n.tags AS tag
        RETURN tag, count(*) AS cis ORDER BY cis DESC, tag
        """),
        database_=database,
        routing_="r",
    )
    return [{"tag": row["tag"], "cis": row["cis"]} for row in records]
