"""Merging two CIs that are one real thing, and splitting a wrong merge; inside a caller's transaction.

A merge keeps the survivor's uid and removes the other CI, after moving everything onto
the survivor: its dependent CIs (an interface the survivor has too is merged into the
survivor's, recursively), its edges (an edge the survivor has too becomes one edge with
both provenances), the attributes the survivor lacks. The merged uid keeps resolving to
the survivor (a ``CIAlias`` node), both histories stay (the survivor's history includes
the merged CI's events), and a ``merged`` event on the survivor keeps the evidence and
what moved, so that a split can put it back.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from neo4j import AsyncManagedTransaction

from cmdb_server.identification import CLONES_PROPERTY, DISTINCT_PROPERTY
from cmdb_server.provenance import fold
from cmdb_server.reconcile import PROVENANCE_PREFIX, SEEN_PREFIX, native, to_json
from schema import PARENT_UID, CIStatus, Schema
from schema.values import quoted

DATETIME_KEYS = ("first_seen", "last_seen", "ended_at")


class MergeError(ValueError):
    """The merge or split cannot be done as asked (the message says why)."""


@dataclass(frozen=True)
class Merged:
    props: dict[str, Any]  # the survivor's properties after the merge
    edges: int  # relationships moved to it or joined with its own
    children: int  # dependent CIs moved under it or merged into its own


async def _nodes(tx: AsyncManagedTransaction, uids: list[str]) -> dict[str, tuple[dict[str, Any], list[str]]]:
    result = await tx.run(
        "UNWIND $uids AS uid MATCH (n:CI {uid: uid}) RETURN uid, properties(n) AS props, labels(n) AS labels",
        uids=uids,
    )
    return {row["uid"]: (dict(row["props"]), list(row["labels"])) async for row in result}


async def _children(tx: AsyncManagedTransaction, uid: str) -> list[dict[str, Any]]:
    result = await tx.run(
        f"MATCH (p:CI {{uid: $uid}})--(c:CI) WHERE c.{PARENT_UID} = p.uid RETURN DISTINCT properties(c) AS props",
        uid=uid,
    )
    return [dict(row["props"]) async for row in result]


async def _edges(tx: AsyncManagedTransaction, uid: str) -> list[dict[str, Any]]:
    result = await tx.run(
        """
        MATCH (n:CI {uid: $uid})-[r]-(x)
        RETURN elementId(r) AS id, type(r) AS type, startNode(r) = n AS out, elementId(x) AS other,
               x.uid AS other_uid, x.id AS other_record, properties(r) AS props, startNode(r) = endNode(r) AS loop
        """,
        uid=uid,
    )
    return [dict(row) async for row in result]


def _same_child(schema: Schema, a: dict[str, Any], b: dict[str, Any]) -> bool:
    """Two dependent CIs of one parent are one thing: same class family and an identity rule agrees."""
    a_class, b_class = schema.classes.get(a.get("class", "")), schema.classes.get(b.get("class", ""))
    if a_class is None or b_class is None or a_class.identity != b_class.identity:
        return False
    return any(all(a.get(k) is not None and a.get(k) == b.get(k) for k in rule.keys) for rule in a_class.record_rules)


def _edge_key(schema: Schema, edge: dict[str, Any]) -> tuple[Any, ...]:
    rel = schema.relationships.get(edge["type"])
    keys = rel.key_properties if rel else ()
    return (edge["type"], edge["out"], edge["other"], tuple((k, edge["props"].get(k)) for k in keys))


def _jsonable(props: dict[str, Any]) -> dict[str, Any]:
    decoded: dict[str, Any] = json.loads(to_json({k: native(v) for k, v in props.items()}) or "{}")
    return decoded


def _restore(props: dict[str, Any], schema: Schema | None = None) -> dict[str, Any]:
    """Properties kept as JSON back to what Neo4j stored (times were ISO text)."""
    restored = dict(props)
    ci_class = schema.classes.get(props.get("class", "")) if schema else None
    times = {a.name for a in ci_class.attributes.values() if a.type.value == "datetime"} if ci_class else set()
    for key, value in props.items():
        if isinstance(value, str) and (key in DATETIME_KEYS or key in times or key.startswith(SEEN_PREFIX)):
            restored[key] = datetime.fromisoformat(value)
    return restored


async def merge_into(
    tx: AsyncManagedTransaction,
    schema: Schema,
    survivor: str,
    other: str,
    now: datetime,
    source: str,
    evidence: dict[str, Any],
) -> Merged:
    """Merge ``other`` into ``survivor``."""
    nodes = await _nodes(tx, [survivor, other])
    if survivor not in nodes or other not in nodes:
        missing = survivor if survivor not in nodes else other
        raise MergeError(f"no CI with uid {quoted(missing)}")
    keep, keep_labels = nodes[survivor]
    gone, gone_labels = nodes[other]
    moved_children: list[str] = []
    merged_children: dict[str, str] = {}
    survivor_children = await _children(tx, survivor)
    for child in await _children(tx, other):
        twin = next((c for c in survivor_children if _same_child(schema, c, child)), None)
        if twin is not None:
            await merge_into(tx, schema, twin["uid"], child["uid"], now, source, {"parents": [survivor, other]})
            merged_children[child["uid"]] = twin["uid"]
        else:
            await tx.run(f"MATCH (c:CI {{uid: $uid}}) SET c.{PARENT_UID} = $parent", uid=child["uid"], parent=survivor)
            moved_children.append(child["uid"])

    edges = await _edges(tx, other)
    own = {_edge_key(schema, e): e for e in await _edges(tx, survivor) if not e["loop"]}
    moved_edges: list[dict[str, Any]] = []
    creates: list[dict[str, Any]] = []
    folds: list[dict[str, Any]] = []
    for edge in edges:
        if edge["loop"] or edge["other_uid"] == survivor:
            continue  # a relation between the two is no relation of one thing with itself
        record = {
            "type": edge["type"],
            "out": edge["out"],
            "other_uid": edge["other_uid"],
            "other_record": edge["other_record"],
            "props": _jsonable(edge["props"]),
        }
        twin = own.get(_edge_key(schema, edge))
        if twin is not None:
            folds.append({"id": twin["id"], "props": fold(twin["props"], edge["props"])})
            record["mode"] = "folded"
        else:
            creates.append({"type": edge["type"], "out": edge["out"], "other": edge["other"], "props": edge["props"]})
            record["mode"] = "moved"
        moved_edges.append(record)
    await _create_edges(tx, survivor, creates)
    if folds:
        await tx.run("UNWIND $rows AS row MATCH ()-[r]->() WHERE elementId(r) = row.id SET r = row.props", rows=folds)

    changes: dict[str, Any] = {}
    filled = []
    for key, value in gone.items():
        if key.startswith("_") or key in ("uid", "class", "status", "first_seen", "last_seen", PARENT_UID):
            continue
        if keep.get(key) is None and value is not None:
            changes[key] = value
            changes[PROVENANCE_PREFIX + key] = gone.get(PROVENANCE_PREFIX + key)
            filled.append(key)
    for key, value in gone.items():
        if key.startswith(SEEN_PREFIX) and (keep.get(key) is None or native(keep[key]) < native(value)):
            changes[key] = value
    for key, pick in (("first_seen", min), ("last_seen", max)):
        values = [native(v) for v in (keep.get(key), gone.get(key)) if v is not None]
        if values:
            changes[key] = pick(values)
    if CIStatus.ACTIVE.value in (gone.get("status"), keep.get("status")):
        changes["status"] = CIStatus.ACTIVE.value
    for key in ("tags", DISTINCT_PROPERTY, CLONES_PROPERTY):
        union = sorted({*(keep.get(key) or ()), *(gone.get(key) or ())} - {survivor, other})
        if union or keep.get(key) is not None:
            changes[key] = union or None
    gone_class = schema.classes.get(gone.get("class", ""))
    keep_class = schema.classes.get(keep.get("class", ""))
    if gone_class and keep_class and gone_class.is_a(keep_class.name) and gone_class.name != keep_class.name:
        changes["class"] = gone_class.name  # a Host merged with a LinuxHost is a LinuxHost
    labels = sorted(set(gone_labels) - set(keep_labels))

    details = {
        "merged": other,
        "evidence": evidence,
        "snapshot": {"labels": gone_labels, "props": _jsonable(gone)},
        "edges": moved_edges,
        "children": {"moved": moved_children, "merged": merged_children},
        "filled": filled,
        # What the merge set on the survivor beyond filled attributes (times, class, sources'
        # sightings, status), as it was before: a split puts back what is still as the merge left it.
        "survivor_before": _jsonable({k: keep.get(k) for k in changes if k not in filled}),
        "survivor_after": _jsonable({k: v for k, v in changes.items() if k not in filled}),
        "labels_added": labels,
    }
    await tx.run(
        """
        MATCH (s:CI {uid: $survivor}), (o:CI {uid: $other})
        OPTIONAL MATCH (a:CIAlias {into: $other})
        SET a.into = $survivor
        WITH DISTINCT s, o
        CREATE (:CIAlias {uid: $other, into: $survivor, at: $now})
        WITH s, o
        OPTIONAL MATCH (t:ApiToken {bound_ci_uid: $other})
        SET t.bound_ci_uid = $survivor
        WITH DISTINCT s, o
        OPTIONAL MATCH (st:SourceState) WHERE st.owned CONTAINS $other OR st.cis CONTAINS $other
        SET st.fingerprint = null
        WITH DISTINCT s, o
        DETACH DELETE o
        // after the other is gone: what the survivor takes from it may be a unique key (a machine-id)
        WITH s
        SET s += $changes, s:$($labels)
        CREATE (:Event {ci_uid: $survivor, kind: 'merged', new: $details, source: $source, at: $now})
        CREATE (:Event {ci_uid: $other, kind: 'merged_into', new: $into, source: $source, at: $now})
        """,
        survivor=survivor,
        other=other,
        changes=changes,
        labels=labels,
        now=now,
        details=to_json(details),
        into=to_json({"into": survivor, "evidence": evidence}),
        source=source,
    )
    after = await _nodes(tx, [survivor])
    return Merged(after[survivor][0], len(moved_edges), len(moved_children) + len(merged_children))


async def _create_edges(tx: AsyncManagedTransaction, uid: str, rows: list[dict[str, Any]]) -> None:
    """Edges of ``uid`` to other nodes (by element id), keeping their properties."""
    if rows:
        await tx.run(
            """
            MATCH (n:CI {uid: $uid})
            UNWIND $rows AS row
            MATCH (x) WHERE elementId(x) = row.other
            CALL (n, x, row) {
                WITH n, x, row WHERE row.out
                CREATE (n)-[r:$(row.type)]->(x) SET r = row.props
            }
            CALL (n, x, row) {
                WITH n, x, row WHERE NOT row.out
                CREATE (x)-[r:$(row.type)]->(n) SET r = row.props
            }
            """,
            uid=uid,
            rows=rows,
        )


async def split(
    tx: AsyncManagedTransaction,
    schema: Schema,
    survivor: str,
    merged: str,
    now: datetime,
    source: str,
    reason: str,
) -> dict[str, Any]:
    """Undo the merge of ``merged`` into ``survivor``: the merged CI comes back with its uid, its
    attributes as they were, the edges and dependent CIs it brought; the two are marked
    distinct so that identification never merges them again. Dependent CIs that had been
    merged into the survivor's stay with the survivor. Returns what was put back."""
    result = await tx.run(
        """
        OPTIONAL MATCH (a:CIAlias {uid: $merged})
        OPTIONAL MATCH (e:Event {ci_uid: $survivor, kind: 'merged'}) WHERE e.new CONTAINS $quoted
        WITH a, e ORDER BY e.at DESC LIMIT 1
        RETURN a.into AS into, e.new AS details
        """,
        merged=merged,
        survivor=survivor,
        quoted=json.dumps(merged),
    )
    row = await result.single()
    if row is None or row["into"] != survivor or row["details"] is None:
        raise MergeError(f"{quoted(merged)} was not merged into {quoted(survivor)}")
    details = json.loads(row["details"])
    if details.get("merged") != merged:
        raise MergeError(f"{quoted(merged)} was not merged into {quoted(survivor)}")
    snapshot = details["snapshot"]
    props = _restore(snapshot["props"], schema)
    props[DISTINCT_PROPERTY] = sorted({*(props.get(DISTINCT_PROPERTY) or ()), survivor})
    # The survivor first gives back what the merge gave it (a unique key: the merged CI's machine-id).
    await _restore_survivor(tx, schema, survivor, details)
    if details["filled"]:
        await tx.run(
            """
            MATCH (s:CI {uid: $survivor})
            UNWIND $filled AS row
            WITH s, row WHERE s[row.key] = row.value
            SET s[row.key] = null, s[$src + row.key] = null
            """,
            src=PROVENANCE_PREFIX,
            survivor=survivor,
            filled=[{"key": k, "value": props.get(k)} for k in details["filled"] if props.get(k) is not None],
        )
    await tx.run(
        """
        MATCH (a:CIAlias {uid: $merged}) DELETE a
        WITH count(*) AS gone
        MATCH (s:CI {uid: $survivor})
        SET s._distinct_from = [u IN coalesce(s._distinct_from, []) WHERE u <> $merged] + $merged
        CREATE (n:$($labels)) SET n = $props
        """,
        merged=merged,
        survivor=survivor,
        labels=snapshot["labels"],
        props=props,
    )
    for child in details["children"]["moved"]:
        await tx.run(
            f"MATCH (c:CI {{uid: $uid}}) WHERE c.{PARENT_UID} = $survivor SET c.{PARENT_UID} = $merged",
            uid=child,
            survivor=survivor,
            merged=merged,
        )
    survivor_edges = await _edges(tx, survivor)
    restored = 0
    for edge in details["edges"]:
        other = next(
            (
                e
                for e in survivor_edges
                if e["type"] == edge["type"]
                and e["out"] == edge["out"]
                and (e["other_uid"], e["other_record"]) == (edge["other_uid"], edge["other_record"])
                and all(e["props"].get(k) == edge["props"].get(k) for k in _key_names(schema, edge["type"]))
            ),
            None,
        )
        if other is None:
            continue  # ended and gone since, or the other end was deleted
        back = {"type": edge["type"], "out": edge["out"], "other": other["other"], "props": _restore(edge["props"])}
        await _create_edges(tx, merged, [back])
        if edge["mode"] == "moved":
            await tx.run("MATCH ()-[r]->() WHERE elementId(r) = $id DELETE r", id=other["id"])
        restored += 1
    await tx.run(
        """
        OPTIONAL MATCH (st:SourceState) WHERE st.owned CONTAINS $survivor
        SET st.fingerprint = null
        WITH count(*) AS reset
        CREATE (:Event {ci_uid: $survivor, kind: 'split', new: $split, source: $source, reason: $reason, at: $now})
        CREATE (:Event {ci_uid: $merged, kind: 'split_from', new: $origin, source: $source, reason: $reason, at: $now})
        """,
        survivor=survivor,
        merged=merged,
        split=to_json({"split": merged}),
        origin=to_json({"from": survivor}),
        source=source,
        reason=reason,
        now=now,
    )
    return {"uid": merged, "edges": restored, "children": len(details["children"]["moved"])}


async def _restore_survivor(
    tx: AsyncManagedTransaction, schema: Schema, survivor: str, details: dict[str, Any]
) -> None:
    """Put back on the survivor what the merge changed (class, labels, times, sightings, status)
    where it is still as the merge left it: later reports' changes stand."""
    before, after = details.get("survivor_before") or {}, details.get("survivor_after") or {}
    nodes = await _nodes(tx, [survivor])
    if not after or survivor not in nodes:
        return
    current = _jsonable(nodes[survivor][0])
    restore = {
        k: before.get(k) for k, v in after.items() if current.get(k) == v and not k.startswith(PROVENANCE_PREFIX)
    }
    labels = details.get("labels_added") or [] if "class" in restore else []
    await tx.run(
        "MATCH (s:CI {uid: $uid}) SET s += $props REMOVE s:$($labels)",
        uid=survivor,
        props=_restore(restore, schema),
        labels=labels,
    )


def _key_names(schema: Schema, rel_type: str) -> tuple[str, ...]:
    rel = schema.relationships.get(rel_type)
    return rel.key_properties if rel else ()
