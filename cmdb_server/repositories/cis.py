"""Reading and creating configuration items.

A CI node carries the label ``CI`` and its class labels, the system properties
(``uid``, ``class``, ``status``, ``first_seen``, ``last_seen``, ``parent_uid`` on
dependent CIs) and its attributes as plain properties, so identity keys can be
constrained and indexed by the database.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from neo4j import AsyncDriver

from cmdb_server import provenance, security
from cmdb_server.db import read_query, timed
from cmdb_server.reconcile import (
    DRIFT_PREFIX,
    LOCK_PREFIX,
    MANUAL_SEEN,
    PROVENANCE_PREFIX,
    SEEN_PREFIX,
    native,
    to_json,
)
from cmdb_server.repositories.schema_setup import quote
from schema import PARENT_UID, CIClass, CIStatus, RelationshipType, Schema, SourceKind
from schema.constraints import FULLTEXT_INDEX
from schema.model import EDGE_SYSTEM_PROPERTIES
from schema.values import quoted


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
    locks: dict[str, str] = field(default_factory=dict)  # attribute -> who locked it against discovery
    drift: dict[str, dict[str, Any]] = field(default_factory=dict)  # locked attribute -> {value, source, since}
    tags: list[str] = field(default_factory=list)
    properties: dict[str, Any] = field(default_factory=dict, repr=False)  # every stored property, as read

    @property
    def seen_by(self) -> dict[str, datetime]:
        """When each kind of source last reported the CI (a hand edit: ``manual``)."""
        return {
            k.removeprefix(SEEN_PREFIX): native(v)
            for k, v in sorted(self.properties.items())
            if k.startswith(SEEN_PREFIX)
        }

    @property
    def value_sources(self) -> dict[str, str]:
        """Which kind of source gave each attribute its value (precedence keeps the highest)."""
        return {
            k.removeprefix(PROVENANCE_PREFIX): str(v)
            for k, v in self.properties.items()
            if k.startswith(PROVENANCE_PREFIX)
        }

    @property
    def suspected_clones(self) -> list[str]:
        return sorted(self.properties.get("_suspected_clones") or [])


@dataclass(frozen=True)
class CIPage:
    items: list[CIRecord]
    total: int


class ParentNotFoundError(LookupError):
    pass


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
        first_seen=native(props.get("first_seen")),
        last_seen=native(props.get("last_seen")),
        parent_uid=props.get(PARENT_UID),
        attributes={k: native(v) for k, v in sorted(props.items()) if k in declared},
        locks={k.removeprefix(LOCK_PREFIX): v for k, v in sorted(props.items()) if k.startswith(LOCK_PREFIX)},
        drift={
            k.removeprefix(DRIFT_PREFIX): json.loads(v) for k, v in sorted(props.items()) if k.startswith(DRIFT_PREFIX)
        },
        tags=sorted(props.get("tags") or []),
        properties=props,
    )


def snapshot(record: CIRecord) -> dict[str, Any]:
    """What a hard delete keeps of a CI in its ``deleted`` event (as ``old``): the CI as the
    API showed it, so its history can still answer for its past (see timeline.py)."""
    return {
        "class": record.ci_class,
        "labels": list(record.labels),
        "status": record.status.value,
        "first_seen": record.first_seen,
        "last_seen": record.last_seen,
        "parent_uid": record.parent_uid,
        "attributes": record.attributes,
        "tags": record.tags,
    }


@dataclass(frozen=True)
class Deletion:
    """A CI deleted for good: when, by which source, why, and the CI as it was (None when the
    delete predates the snapshot in the ``deleted`` event)."""

    at: datetime
    source: str
    reason: str
    record: CIRecord | None


async def deletion_of(driver: AsyncDriver, database: str, uid: str) -> Deletion | None:
    """The hard delete of a CI no longer in the graph, from its history; None if there was none."""
    records, _, _ = await driver.execute_query(
        read_query("MATCH (e:Event {ci_uid: $uid, kind: 'deleted'}) RETURN e ORDER BY e.at DESC LIMIT 1"),
        uid=uid,
        database_=database,
        routing_="r",
    )
    if not records:
        return None
    event = {k: native(v) for k, v in dict(records[0]["e"]).items()}
    reason = (json.loads(event["new"]) if event.get("new") else {}).get("reason", "")
    kept = json.loads(event["old"]) if event.get("old") else None
    record = None
    if isinstance(kept, dict):
        attributes = kept.get("attributes") or {}
        record = CIRecord(
            uid=uid,
            ci_class=kept.get("class", ""),
            labels=tuple(kept.get("labels") or ()),
            name=attributes.get("name"),
            status=CIStatus(kept.get("status", CIStatus.ACTIVE.value)),
            first_seen=datetime.fromisoformat(kept["first_seen"]) if kept.get("first_seen") else None,
            last_seen=datetime.fromisoformat(kept["last_seen"]) if kept.get("last_seen") else None,
            parent_uid=kept.get("parent_uid"),
            attributes=attributes,
            tags=list(kept.get("tags") or []),
        )
    return Deletion(at=event["at"], source=event.get("source", ""), reason=reason, record=record)


class FilterOp(StrEnum):
    """How a search compares an attribute with the value given."""

    EQ = "eq"  # equal, the value checked against the attribute's type
    PREFIX = "prefix"  # abc*
    SUFFIX = "suffix"  # *abc
    CONTAINS = "contains"  # *abc*
    WILDCARD = "wildcard"  # any other pattern of * (any run) and ? (one character)


WILDCARDS = "*?"


@dataclass(frozen=True)
class AttributeFilter:
    """One attribute condition of a search; ``value`` of a wildcard op is the pattern as written."""

    name: str
    op: FilterOp
    value: Any

    @classmethod
    def pattern(cls, name: str, pattern: str) -> AttributeFilter:
        """A ``*``/``?`` pattern as the cheapest comparison that decides it: the common shapes
        (``abc*``, ``*abc``, ``*abc*``) need no regular expression at all."""
        core = pattern.strip("*")
        if core and not any(c in core for c in WILDCARDS):
            starts, ends = pattern.startswith("*"), pattern.endswith("*")
            if ends and not starts:
                return cls(name, FilterOp.PREFIX, core)
            if starts and not ends:
                return cls(name, FilterOp.SUFFIX, core)
            if starts and ends:
                return cls(name, FilterOp.CONTAINS, core)
        return cls(name, FilterOp.WILDCARD, pattern)

    def condition(self, index: int) -> tuple[str, dict[str, Any]]:
        """The Cypher condition on ``n`` and its parameters (named after ``index``)."""
        operators = {
            FilterOp.EQ: "=",
            FilterOp.PREFIX: "STARTS WITH",
            FilterOp.SUFFIX: "ENDS WITH",
            FilterOp.CONTAINS: "CONTAINS",
            FilterOp.WILDCARD: "=~",
        }
        value = wildcard_regex(self.value) if self.op is FilterOp.WILDCARD else self.value
        params = {f"attr{index}": self.name, f"value{index}": value}
        return f"n[$attr{index}] {operators[self.op]} $value{index}", params


def _java_literal(char: str) -> str:
    """One character as a Java regex matching only itself: a backslash before any ASCII
    character that is not a letter or digit is always a literal in java.util.regex."""
    return "\\" + char if char.isascii() and not char.isalnum() else char


def wildcard_regex(pattern: str) -> str:
    """A ``*``/``?`` pattern as a Java regular expression (Cypher's ``=~``, a whole-value match)
    that takes time linear in the value's length times the pattern's, never exponential.

    ``a*b*c`` naively is ``a.*b.*c``: against a value that almost matches, the engine tries
    every split of the value among the ``.*``, n^k attempts for k stars (issue 14: seven
    stars against 61 characters took 7 s). Here each piece between two stars is found at its
    leftmost place and that place is kept, in an atomic group ``(?>.*?piece)`` the engine
    cannot backtrack into; only the last star before the final piece can still move, once.
    Leftmost is always right for a glob: a piece found later leaves less room for the rest.
    ``(?s)``: a value with a line break matches as any other.
    """

    def piece(text: str) -> str:
        return "".join("." if c == "?" else _java_literal(c) for c in text)

    head, *rest = pattern.split("*")
    if not rest:
        return "(?s)" + piece(head)
    *middle, tail = rest
    found = "".join(f"(?>.*?{piece(p)})" for p in middle if p)
    return f"(?s){piece(head)}{found}.*{piece(tail)}"


@dataclass(frozen=True)
class CIQuery:
    """What a search asks for; the same filters serve a page, the counts and an export."""

    class_name: str | None = None
    status: CIStatus | None = None
    name_contains: str | None = None
    text: str | None = None  # full-text (Lucene syntax) on names, descriptions, identifying values
    tags: tuple[str, ...] = ()
    attributes: tuple[AttributeFilter, ...] = ()
    sort: str = "name"  # a property, "-" first for descending

    def match(self) -> tuple[str, dict[str, Any]]:
        """The MATCH ... WHERE part binding ``n``, and its parameters."""
        params: dict[str, Any] = {
            "label": self.class_name or "CI",
            "status": self.status.value if self.status else None,
            "name": self.name_contains.lower() if self.name_contains else None,
            "tags": list(self.tags),
        }
        if self.text is not None:
            head = "CALL db.index.fulltext.queryNodes($fulltext, $text) YIELD node AS n WHERE $label IN labels(n)"
            params |= {"fulltext": FULLTEXT_INDEX, "text": self.text}
        else:
            # The class as a label in the text (a schema class name, quoted), not a dynamic
            # label: Neo4j 5 scans every node for ``$($label)`` where it scans one label's here.
            head = f"MATCH (n:CI:{quote(self.class_name or 'CI')}) WHERE true"
        conditions = [
            "($status IS NULL OR n.status = $status)",
            "($name IS NULL OR toLower(n.name) CONTAINS $name)",
            "all(t IN $tags WHERE t IN coalesce(n.tags, []))",
        ]
        for i, attribute in enumerate(self.attributes):
            condition, values = attribute.condition(i)
            conditions.append(condition)
            params |= values
        return head + " AND " + " AND ".join(conditions), params

    def only_by_class(self) -> bool:
        """Whether nothing but a class narrows the query (counts come from the count store)."""
        return (
            self.status is None
            and self.name_contains is None
            and self.text is None
            and not self.tags
            and not self.attributes
        )

    def order(self) -> str:
        field = self.sort.removeprefix("-")
        direction = " DESC" if self.sort.startswith("-") else ""
        return f"ORDER BY n.{quote(field)}{direction}, n.uid"


SORTABLE = ("name", "class", "status", "first_seen", "last_seen", "uid")


async def list_cis(
    driver: AsyncDriver, database: str, schema: Schema, query: CIQuery, *, limit: int, offset: int
) -> CIPage:
    """One page of CIs, in the query's order with uid as the tie-break, so pages never overlap or skip."""
    match, params = query.match()
    params |= {"limit": limit, "offset": offset}
    async with driver.session(database=database, default_access_mode="READ") as session:

        async def page(tx: Any) -> CIPage:
            total_result = await tx.run(f"{match} RETURN count(n) AS total", params)
            total = (await total_result.single(strict=True))["total"]
            rows = await tx.run(f"{match} RETURN n {query.order()} SKIP $offset LIMIT $limit", params)
            items = [to_record(row["n"], schema) async for row in rows]
            return CIPage(items=items, total=total)

        return await session.execute_read(timed(page))


async def count_by_class(
    driver: AsyncDriver, database: str, query: CIQuery, schema: Schema | None = None
) -> dict[str, int]:
    """How many CIs of each class match the query. Without filters (the home page, the search
    page's class facet before anything is typed) and given the schema, from Neo4j's count
    store: a count per label costs nothing, where grouping every CI by class reads them all
    (a second per request at 200,000 CIs)."""
    if schema is not None and query.only_by_class():
        return await _class_counts_from_labels(driver, database, schema, query.class_name)
    match, params = query.match()
    records, _, _ = await driver.execute_query(
        read_query(f"{match} RETURN n.class AS class, count(n) AS n ORDER BY class"),
        params,
        database_=database,
        routing_="r",
    )
    return {row["class"]: row["n"] for row in records}


async def _counts(driver: AsyncDriver, database: str, matches: list[str], params: dict[str, Any]) -> list[int]:
    """``count(n)`` of each MATCH, in one statement (each a subquery: a count with no row is 0,
    which a grouping by a constant key would drop)."""
    calls = " ".join(f"CALL () {{ {m} RETURN count(n) AS c{i} }}" for i, m in enumerate(matches))
    columns = ", ".join(f"c{i}" for i in range(len(matches)))
    records, _, _ = await driver.execute_query(
        read_query(f"{calls} RETURN [{columns}] AS counts"), params, database_=database, routing_="r"
    )
    return list(records[0]["counts"])


async def _class_counts_from_labels(
    driver: AsyncDriver, database: str, schema: Schema, under: str | None
) -> dict[str, int]:
    """CIs of exactly each class: its label's count less its direct subclasses' (a CI carries
    the labels of its class and every ancestor)."""
    names = sorted(schema.subclasses(under) if under else schema.classes)
    counts = await _counts(driver, database, [f"MATCH (n:CI:{quote(name)})" for name in names], {})
    labelled = dict(zip(names, counts, strict=True))
    exact = {
        name: labelled[name] - sum(labelled.get(c.name, 0) for c in schema.classes.values() if c.parent == name)
        for name in names
    }
    return {name: count for name, count in sorted(exact.items()) if count > 0}


async def count_by_status(driver: AsyncDriver, database: str, query: CIQuery) -> dict[str, int]:
    """How many CIs of each status match the query (the search page's status facet); with no
    filter at all, one index count per status instead of reading every CI."""
    if query.only_by_class() and query.class_name is None:
        params = {f"s{i}": status.value for i, status in enumerate(CIStatus)}
        matches = [f"MATCH (n:CI) WHERE n.status = $s{i}" for i in range(len(CIStatus))]
        counts = await _counts(driver, database, matches, params)
        return {status.value: n for status, n in zip(CIStatus, counts, strict=True) if n}
    match, params = query.match()
    records, _, _ = await driver.execute_query(
        read_query(f"{match} RETURN n.status AS status, count(n) AS n ORDER BY status"),
        params,
        database_=database,
        routing_="r",
    )
    return {row["status"]: row["n"] for row in records}


OWNER_LABELS = ("Host", "NetworkDevice")
PART_PATHS = "HAS_INTERFACE|HAS_IP|HAS_FILESYSTEM|INSTALLED"
"""The current edges from a host or device down to what is part of it or installed on it
(an address sits on an interface of the host: two hops); a listening service or software
instance points up at its host with RUNS_ON."""


async def owners_of(driver: AsyncDriver, database: str, uids: list[str], limit: int = 3) -> dict[str, dict[str, Any]]:
    """For each CI that is part of hosts or devices (an interface, an address, a filesystem,
    a package, a listening service): up to ``limit`` of them and how many there are, so a
    search for a MAC or an address can say which machine it found."""
    records, _, _ = await driver.execute_query(
        read_query(
            f"""
            UNWIND $uids AS uid
            MATCH (n:CI {{uid: uid}})
            CALL (n) {{
                MATCH p = (o:CI)-[:{PART_PATHS}*1..2]->(n)
                WHERE any(l IN labels(o) WHERE l IN $owners) AND all(r IN relationships(p) WHERE r.ended_at IS NULL)
                RETURN DISTINCT o
                UNION
                MATCH (n)-[r:RUNS_ON]->(o:CI) WHERE r.ended_at IS NULL
                RETURN DISTINCT o
            }}
            WITH n, o ORDER BY o.name
            WITH n, collect(o {{.uid, .name, .class}}) AS found
            WHERE size(found) > 0
            RETURN n.uid AS uid, found[0..$limit] AS owners, size(found) AS total
            """
        ),
        uids=uids,
        owners=list(OWNER_LABELS),
        limit=limit,
        database_=database,
        routing_="r",
    )
    return {row["uid"]: {"owners": row["owners"], "total": row["total"]} for row in records}


async def get_ci(driver: AsyncDriver, database: str, schema: Schema, uid: str) -> CIRecord | None:
    records, _, _ = await driver.execute_query(
        read_query("MATCH (n:CI {uid: $uid}) RETURN n"), uid=uid, database_=database, routing_="r"
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

    Every attribute is recorded as set by a manual source (the highest precedence), seen
    now (``_seen_manual``, see cmdb_server/reconcile.py), and a ``created`` history event
    names ``source``. The database's constraints refuse a duplicate identity
    (``neo4j.exceptions.ConstraintError``).
    """
    now = datetime.now(UTC)
    props = {k: v for k, v in attributes.items() if v is not None}
    props.update({f"{PROVENANCE_PREFIX}{k}": SourceKind.MANUAL.value for k in list(props)})
    props[MANUAL_SEEN] = now
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
        edge = "(p)-[r:$($rel)]->(n)" if ci_class.parent_ci.parent_is_source else "(n)-[r:$($rel)]->(p)"
        records, _, _ = await driver.execute_query(
            f"""
            MATCH (p:CI {{uid: $parent_uid}}) WHERE any(l IN labels(p) WHERE l IN $parent_classes)
            CREATE (n:$($labels)) SET n = $props
            CREATE {edge} SET r = $edge_props, r.first_seen = $now
            CREATE (e:Event) SET e = $event, e.ci_uid = n.uid
            RETURN n
            """,
            parent_uid=parent_uid,
            parent_classes=list(ci_class.parent_ci.classes),
            labels=list(ci_class.labels),
            rel=ci_class.parent_ci.relationship,
            edge_props=provenance.new_edge(source, now, {}),
            props=props,
            now=now,
            source=source,
            event=event,
            database_=database,
        )
        if not records:
            allowed = " or ".join(ci_class.parent_ci.classes)
            raise ParentNotFoundError(f"no {allowed} CI with uid {quoted(parent_uid)}")
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
        # Only what is shown of the other CI: its whole node (a dozen date-times of provenance)
        # took the driver a second to decode for a host's 800 packages.
        read_query(
            f"CALL () {{ {query} }} "
            "RETURN direction, r, other {.uid, .class, .name} AS other ORDER BY type(r), other.name, other.uid"
        ),
        uid=uid,
        type=rel_type,
        ended=include_ended,
        database_=database,
        routing_="r",
    )
    edges = [dict(row["r"]) for row in records]
    reported_at = await source_report_times(driver, database, sorted(provenance.all_sources(edges)))
    rows = []
    for row, props in zip(records, edges, strict=True):
        rel, other = row["r"], row["other"]
        shown = provenance.present(props, reported_at)
        hidden = {*EDGE_SYSTEM_PROPERTIES}
        rows.append(
            {
                "type": rel.type,
                "direction": row["direction"],
                "other": {"uid": other["uid"], "class": other.get("class"), "name": other.get("name")},
                **shown,
                "properties": {k: native(v) for k, v in props.items() if k not in hidden},
            }
        )
    return rows


async def source_report_times(driver: AsyncDriver, database: str, sources: list[str]) -> dict[str, datetime]:
    """Each source's last complete report: when it last saw every relation it still vouches for."""
    if not sources:
        return {}
    records, _, _ = await driver.execute_query(
        read_query("""
        UNWIND $sources AS source
        MATCH (s:SourceState {source: source}) WHERE s.complete_at IS NOT NULL
        RETURN source, s.complete_at AS at
        """),
        sources=sources,
        database_=database,
        routing_="r",
    )
    return {row["source"]: native(row["at"]) for row in records}


async def resolve_uid(driver: AsyncDriver, database: str, uid: str) -> str:
    """The uid of the CI a uid names now: the CI it was merged into, if it was; else itself."""
    records, _, _ = await driver.execute_query(
        read_query("""
        OPTIONAL MATCH (n:CI {uid: $uid})
        OPTIONAL MATCH (a:CIAlias {uid: $uid})
        RETURN n IS NOT NULL AS exists, a.into AS into
        """),
        uid=uid,
        database_=database,
        routing_="r",
    )
    row = records[0]
    into: str | None = row["into"]
    return uid if row["exists"] or into is None else into


async def aliases_of(driver: AsyncDriver, database: str, uid: str) -> list[str]:
    """uids of the CIs merged into this one (they resolve to it)."""
    records, _, _ = await driver.execute_query(
        read_query("MATCH (a:CIAlias {into: $uid}) RETURN a.uid AS uid ORDER BY uid"),
        uid=uid,
        database_=database,
        routing_="r",
    )
    return [row["uid"] for row in records]


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
    """History events of a CI, newest first, and how many match in all: its own and those of
    the CIs merged into it."""
    uids = [uid, *await aliases_of(driver, database, uid)]
    # Only the bounds asked for: an ``$x IS NULL OR`` makes the planner walk the time index
    # over every event of every CI (500,000 at 10,000 hosts) instead of seeking this CI's.
    where = " AND ".join(
        ["e.ci_uid IN $uids", "e.at IS NOT NULL"]
        + ["e.at >= $since"] * (since is not None)
        + ["e.at < $until"] * (until is not None)
    )
    params = {"uids": uids, "since": since, "until": until, "limit": limit, "offset": offset}
    async with driver.session(database=database, default_access_mode="READ") as session:

        async def read(tx: Any) -> tuple[list[dict[str, Any]], int]:
            match = f"MATCH (e:Event) USING INDEX e:Event(ci_uid, at) WHERE {where}"
            total = (await (await tx.run(f"{match} RETURN count(e) AS n", params)).single())["n"]
            result = await tx.run(
                f"{match} RETURN e ORDER BY e.at DESC, e.kind SKIP $offset LIMIT $limit",
                params,
            )
            events = [{k: native(v) for k, v in dict(row["e"]).items()} async for row in result]
            return events, total

        return await session.execute_read(timed(read))


async def mark_stale(
    driver: AsyncDriver, database: str, cutoff: datetime, now: datetime, shared_labels: list[str]
) -> int:
    """Mark active CIs that discovery reported but no source has seen since ``cutoff``; record it.

    A hand edit is no discovery: ``_seen_manual`` alone does not make a CI go stale.

    Shared CIs (``shared_labels``) are left alone: reports do not refresh their last_seen.
    A CI is checked again once locked, so a report refreshing it (or another server's check)
    meanwhile is not undone, and it gets one stale event.
    """
    records, _, _ = await driver.execute_query(
        """
        MATCH (n:CI) WHERE n.status = 'active' AND n.last_seen < $cutoff
          AND any(k IN keys(n) WHERE k STARTS WITH $seen AND k <> $manual_seen)
          AND NOT any(l IN labels(n) WHERE l IN $shared)
        SET n._lock = true
        REMOVE n._lock
        WITH n WHERE n.status = 'active' AND n.last_seen < $cutoff
        SET n.status = 'stale'
        CREATE (:Event {ci_uid: n.uid, kind: 'status', field: 'status', old: '"active"', new: '"stale"',
                        source: 'cmdb:stale-check', at: $now})
        RETURN count(n) AS marked
        """,
        cutoff=cutoff,
        now=now,
        shared=shared_labels,
        seen=SEEN_PREFIX,
        manual_seen=MANUAL_SEEN,
        database_=database,
    )
    marked: int = records[0]["marked"]
    return marked


async def create_relationship(
    driver: AsyncDriver,
    database: str,
    rel_type: RelationshipType,
    from_uid: str,
    to_uid: str,
    properties: dict[str, Any],
    source: str,
) -> bool:
    """Declare a relation by hand: the manual source vouches for it (one edge, whoever else
    reports it). True when the relation started (it was new, or had ended)."""
    now = datetime.now(UTC)
    start, end = rel_type.ends(from_uid, to_uid)
    keys = {k: properties[k] for k in rel_type.key_properties if k in properties}

    async def work(tx: Any) -> bool:
        # The start node is write-locked first, so that two declarations of one relation
        # make one edge; an edge with other key properties (another port) is another relation.
        result = await tx.run(
            f"""
            MATCH (a:CI {{uid: $start}}), (b:CI {{uid: $end}})
            SET a._locked = true REMOVE a._locked
            WITH a, b
            OPTIONAL MATCH (a)-[r:{quote(rel_type.name)}]->(b)
            RETURN collect([properties(r), elementId(r)]) AS edges
            """,
            start=start,
            end=end,
        )
        row = await result.single(strict=True)
        same = [
            (dict(props), edge_id)
            for props, edge_id in row["edges"]
            if edge_id is not None and all(props.get(k) == keys.get(k) for k in rel_type.key_properties)
        ]
        if not same:
            await tx.run(
                f"""
                MATCH (a:CI {{uid: $start}}), (b:CI {{uid: $end}})
                CREATE (a)-[r:{quote(rel_type.name)}]->(b) SET r = $props, r.first_seen = $now
                """,
                start=start,
                end=end,
                props={**properties, **provenance.new_edge(source, now, {})},
                now=now,
            )
            started = True
        else:
            stored, edge_id = same[0]
            changes, outcome = provenance.vouch(stored, source, now, stamp=True)
            started = outcome == "started"
            changes |= {k: v for k, v in properties.items() if stored.get(k) != v}
            await tx.run("MATCH ()-[r]->() WHERE elementId(r) = $id SET r += $changes", id=edge_id, changes=changes)
        if started:
            await _relation_event(tx, start, rel_type.name, None, {"to": end, **keys}, source, now)
        return started

    async with driver.session(database=database) as session:
        started: bool = await session.execute_write(work)
        return started


async def _relation_event(
    tx: Any, uid: str, rel_type: str, old: dict[str, Any] | None, new: dict[str, Any] | None, source: str, now: datetime
) -> None:
    """A relation's start (``new``: its other end) or end (``old``) in the history of the CI it starts from."""
    await tx.run(
        "CREATE (:Event {ci_uid: $uid, kind: $kind, field: $type, old: $old, new: $new, source: $source, at: $now})",
        uid=uid,
        kind="relation_started" if new is not None else "relation_ended",
        type=rel_type,
        old=to_json(old),
        new=to_json(new),
        source=source,
        now=now,
    )


async def end_relationship(
    driver: AsyncDriver, database: str, rel_type: RelationshipType, from_uid: str, to_uid: str, source: str
) -> dict[str, Any] | None:
    """Withdraw what people declared of the relations of a type between two CIs (every
    ``manual:`` source); a relation ends when no source vouches for it any more, and one
    discovery still reports stays. None when no person vouches for such a relation."""
    now = datetime.now(UTC)
    start, end = rel_type.ends(from_uid, to_uid)

    async def work(tx: Any) -> dict[str, Any] | None:
        result = await tx.run(
            f"""
            MATCH (a:CI {{uid: $start}})-[r:{quote(rel_type.name)}]->(b:CI {{uid: $end}})
            WHERE r.ended_at IS NULL
            RETURN properties(r) AS props, elementId(r) AS id
            """,
            start=start,
            end=end,
        )
        edges = [(dict(row["props"]), row["id"]) async for row in result]
        withdrawn, ended, still = set(), 0, set()
        for props, edge_id in edges:
            changes: dict[str, Any] = {}
            current = dict(props)
            for manual in [s for s in provenance.sources_of(props) if s.startswith("manual:")]:
                step, ends = provenance.withdraw(current, manual, now)
                current |= step
                changes |= step
                withdrawn.add(manual)
                ended += ends
                if ends:
                    await _relation_event(tx, start, rel_type.name, {"to": end}, None, source, now)
            if changes:
                await tx.run("MATCH ()-[r]->() WHERE elementId(r) = $id SET r += $changes", id=edge_id, changes=changes)
                still.update(provenance.sources_of(current))
        if not withdrawn:
            return None
        return {"ended": ended, "withdrawn": sorted(withdrawn), "still_reported_by": sorted(still)}

    async with driver.session(database=database) as session:
        answer: dict[str, Any] | None = await session.execute_write(work)
        return answer


async def events_after(driver: AsyncDriver, database: str, uid: str, after: datetime) -> list[dict[str, Any]]:
    """Every history event of a CI after a time, newest first (to undo them: see timeline.py)."""
    records, _, _ = await driver.execute_query(
        read_query("MATCH (e:Event {ci_uid: $uid}) WHERE e.at > $after RETURN e ORDER BY e.at DESC"),
        uid=uid,
        after=after,
        database_=database,
        routing_="r",
    )
    return [{k: native(v) for k, v in dict(row["e"]).items()} for row in records]


async def get_many(driver: AsyncDriver, database: str, uids: list[str]) -> dict[str, tuple[str, dict[str, Any]]]:
    """uid -> (class, stored properties) of the CIs among ``uids`` that exist."""
    records, _, _ = await driver.execute_query(
        read_query("UNWIND $uids AS uid MATCH (n:CI {uid: uid}) RETURN uid, n.class AS class, properties(n) AS props"),
        uids=uids,
        database_=database,
        routing_="r",
    )
    return {row["uid"]: (row["class"], dict(row["props"])) for row in records}


async def export_pages(
    driver: AsyncDriver, database: str, schema: Schema, query: CIQuery, page_size: int = 1000
) -> AsyncIterator[list[CIRecord]]:
    """Every CI a query matches, page by page in uid order (each page its own short read)."""
    match, params = query.match()
    after = ""
    while True:
        records, _, _ = await driver.execute_query(
            read_query(f"{match} AND n.uid > $after RETURN n ORDER BY n.uid LIMIT $limit"),
            params | {"after": after, "limit": page_size},
            database_=database,
            routing_="r",
        )
        page = [to_record(row["n"], schema) for row in records]
        if not page:
            return
        yield page
        after = page[-1].uid


CREDENTIAL_LABELS = ("ApiToken",)
"""Nodes a backup leaves out: API tokens (their hashes are credentials; tokens are made again)."""


async def graph_dump(driver: AsyncDriver, database: str) -> AsyncIterator[dict[str, Any]]:
    """Every node, then every relationship, of the database as plain dicts (a streaming backup),
    without credentials: no API token node (nor its relationships) and no secret property.

    One read transaction per part, streamed from the server as it goes (the driver fetches
    a thousand records at a time): the whole graph is never held in memory here.
    """

    def public(props: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in props.items() if k not in security.SECRET_PROPERTIES}

    async with driver.session(database=database, default_access_mode="READ", fetch_size=1000) as session:
        result = await session.run(
            """
            MATCH (n) WHERE none(label IN labels(n) WHERE label IN $hidden)
            RETURN elementId(n) AS id, labels(n) AS labels, properties(n) AS props
            """,
            hidden=list(CREDENTIAL_LABELS),
        )
        async for row in result:
            yield {"kind": "node", "id": row["id"], "labels": sorted(row["labels"]), "properties": public(row["props"])}
        result = await session.run(
            """
            MATCH (a)-[r]->(b)
            WHERE none(label IN labels(a) + labels(b) WHERE label IN $hidden)
            RETURN elementId(r) AS id, type(r) AS type, elementId(a) AS start, elementId(b) AS end,
                   properties(r) AS props
            """,
            hidden=list(CREDENTIAL_LABELS),
        )
        async for row in result:
            yield {
                "kind": "relationship",
                "id": row["id"],
                "type": row["type"],
                "start": row["start"],
                "end": row["end"],
                "properties": public(row["props"]),
            }
