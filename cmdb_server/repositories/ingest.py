"""Cypher of report ingest, each function one batched statement inside the caller's transaction.

Labels, relationship types and property names are not parameters in Cypher; where a
statement needs them they come from the validated schema and are backtick-quoted.
Every value is a parameter.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from neo4j import AsyncManagedTransaction

from cmdb_server.repositories.schema_setup import quote
from schema import PARENT_UID


def _key_map(keys: tuple[str, ...], source: str, dependent: bool) -> str:
    pairs = [f"{quote(k)}: {source}.{quote(k)}" for k in keys]
    if dependent:
        pairs.insert(0, f"{PARENT_UID}: row.parent_uid")
    return "{" + ", ".join(pairs) + "}"


async def find_report(tx: AsyncManagedTransaction, report_id: str) -> str | None:
    """The stored summary (JSON) of a report already applied, or None."""
    result = await tx.run("MATCH (r:IngestedReport {report_id: $id}) RETURN r.summary AS summary", id=report_id)
    row = await result.single()
    return row["summary"] if row else None


async def newer_report_of(tx: AsyncManagedTransaction, source: str, collected_at: datetime) -> datetime | None:
    result = await tx.run(
        """
        MATCH (r:IngestedReport {source: $source}) WHERE r.collected_at > $collected_at
        RETURN max(r.collected_at) AS newest
        """,
        source=source,
        collected_at=collected_at,
    )
    row = await result.single()
    newest = row["newest"] if row else None
    return newest.to_native() if newest is not None else None


async def record_report(
    tx: AsyncManagedTransaction,
    report_id: str,
    source: str,
    collected_at: datetime,
    now: datetime,
    summary: str,
) -> None:
    await tx.run(
        """
        CREATE (:IngestedReport {report_id: $id, source: $source, collected_at: $collected_at,
                                 received_at: $now, summary: $summary})
        """,
        id=report_id,
        source=source,
        collected_at=collected_at,
        now=now,
        summary=summary,
    )


async def identify(
    tx: AsyncManagedTransaction,
    label: str,
    keys: tuple[str, ...],
    dependent: bool,
    rows: list[dict[str, Any]],
) -> dict[str, tuple[dict[str, Any], list[str]]]:
    """Find CIs by one identity rule: ``rows`` are {ref, parent_uid, key: {k: v}}.

    Returns ref -> (properties, labels) of the oldest matching CI.
    """
    result = await tx.run(
        f"""
        UNWIND $rows AS row
        MATCH (n:{quote(label)} {_key_map(keys, "row.key", dependent)})
        WITH row, n ORDER BY n.first_seen
        WITH row, collect(n)[0] AS n
        RETURN row.ref AS ref, properties(n) AS props, labels(n) AS labels
        """,
        rows=rows,
    )
    return {row["ref"]: (row["props"], row["labels"]) async for row in result}


async def merge_nodes(
    tx: AsyncManagedTransaction,
    label: str,
    keys: tuple[str, ...],
    dependent: bool,
    rows: list[dict[str, Any]],
) -> dict[str, tuple[dict[str, Any], bool]]:
    """Create CIs, merging on a unique identity rule so that racing reports make one node.

    ``rows`` are {ref, parent_uid, key, labels, props}; ``props`` holds uid and first_seen.
    Returns ref -> (properties, created); created is False when another transaction won.
    """
    result = await tx.run(
        f"""
        UNWIND $rows AS row
        MERGE (n:{quote(label)} {_key_map(keys, "row.key", dependent)})
        ON CREATE SET n += row.props, n:$(row.labels)
        RETURN row.ref AS ref, properties(n) AS props, n.uid = row.props.uid AS created
        """,
        rows=rows,
    )
    return {row["ref"]: (row["props"], row["created"]) async for row in result}


async def create_nodes(tx: AsyncManagedTransaction, rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Create CIs that have no unique identity key to merge on: {ref, labels, props}."""
    result = await tx.run(
        """
        UNWIND $rows AS row
        CREATE (n:$(row.labels))
        SET n = row.props
        RETURN row.ref AS ref, properties(n) AS props
        """,
        rows=rows,
    )
    return {row["ref"]: row["props"] async for row in result}


async def update_nodes(tx: AsyncManagedTransaction, rows: list[dict[str, Any]]) -> None:
    """Set properties (a null removes one) and add labels: {uid, props, labels}."""
    await tx.run(
        """
        UNWIND $rows AS row
        MATCH (n:CI {uid: row.uid})
        SET n += row.props, n:$(row.labels)
        """,
        rows=rows,
    )


async def write_events(tx: AsyncManagedTransaction, events: list[dict[str, Any]]) -> None:
    if events:
        await tx.run("UNWIND $events AS e CREATE (ev:Event) SET ev = e", events=events)


async def upsert_relations(
    tx: AsyncManagedTransaction,
    rel_type: str,
    key_properties: tuple[str, ...],
    rows: list[dict[str, Any]],
    source: str,
    report_id: str,
    now: datetime,
) -> list[dict[str, Any]]:
    """Merge this source's edges: {from_uid, to_uid, key, props}.

    Returns the rows whose edge is new or had been ended (started again), for history.
    """
    key = ", ".join(["source: $source", *(f"{quote(k)}: row.key.{quote(k)}" for k in key_properties)])
    result = await tx.run(
        f"""
        UNWIND $rows AS row
        MATCH (a:CI {{uid: row.from_uid}}), (b:CI {{uid: row.to_uid}})
        MERGE (a)-[r:{quote(rel_type)} {{{key}}}]->(b)
        ON CREATE SET r.first_seen = $now
        WITH row, r, r.first_seen = $now OR r.ended_at IS NOT NULL AS started
        SET r += row.props, r.last_seen = $now, r.report_id = $report_id, r.ended_at = null
        WITH row, started WHERE started
        RETURN row.from_uid AS from_uid, row.to_uid AS to_uid, row.key AS key
        """,
        rows=rows,
        source=source,
        report_id=report_id,
        now=now,
    )
    return [dict(row) async for row in result]


async def end_unreported_relations(
    tx: AsyncManagedTransaction, rel_type: str, source: str, report_id: str, now: datetime
) -> list[dict[str, Any]]:
    """End this source's edges of a type that its latest report no longer has."""
    result = await tx.run(
        f"""
        MATCH (a:CI)-[r:{quote(rel_type)} {{source: $source}}]->(b:CI)
        WHERE r.ended_at IS NULL AND r.report_id <> $report_id
        SET r.ended_at = $now
        RETURN a.uid AS from_uid, b.uid AS to_uid
        """,
        source=source,
        report_id=report_id,
        now=now,
    )
    return [dict(row) async for row in result]


async def resolve_observed_dependencies(
    tx: AsyncManagedTransaction, ip_uids: list[str], now: datetime
) -> list[dict[str, Any]]:
    """Join observed connections to an address with the listening service behind it.

    An agent that sees ``process -> 10.0.0.5:5432`` reports a DEPENDS_ON edge to the
    IPAddress CI with ``port``. Once some host reports that address on an interface and a
    service listening on that port (on the address or on all addresses), the client
    gets a DEPENDS_ON edge to that service, under the same source as the observation so
    it ends with it. Runs for the addresses a report touched, from either side.
    """
    result = await tx.run(
        """
        UNWIND $ip_uids AS ip_uid
        MATCH (client:CI)-[seen:DEPENDS_ON]->(ip:IPAddress {uid: ip_uid})
        WHERE seen.ended_at IS NULL AND seen.port IS NOT NULL
        MATCH (ip)<-[:HAS_IP]-(:Interface)<-[:HAS_INTERFACE]-(server:Host)
        MATCH (service:ListeningService {parent_uid: server.uid, port: seen.port})
        WHERE service.address IN [ip.address, '0.0.0.0', '::']
        MERGE (client)-[r:DEPENDS_ON {source: seen.source, port: seen.port}]->(service)
        ON CREATE SET r.first_seen = $now
        WITH client, service, seen, ip, r, r.first_seen = $now OR r.ended_at IS NOT NULL AS started
        SET r.last_seen = $now, r.report_id = seen.report_id, r.ended_at = null, r.via = ip.address
        WITH client, service, r WHERE started
        RETURN client.uid AS from_uid, service.uid AS to_uid, r.source AS source, r.port AS port
        """,
        ip_uids=ip_uids,
        now=now,
    )
    return [dict(row) async for row in result]


async def bind_agent_token(tx: AsyncManagedTransaction, token_id: str, host_uid: str) -> str:
    """Bind an agent token to the host it reports for, on first use; return the bound uid."""
    result = await tx.run(
        """
        MATCH (t:ApiToken {token_id: $token_id})
        SET t.bound_ci_uid = coalesce(t.bound_ci_uid, $host_uid)
        RETURN t.bound_ci_uid AS bound
        """,
        token_id=token_id,
        host_uid=host_uid,
    )
    row = await result.single(strict=True)
    bound: str = row["bound"]
    return bound


async def bound_host_of(tx: AsyncManagedTransaction, token_id: str) -> str | None:
    result = await tx.run("MATCH (t:ApiToken {token_id: $token_id}) RETURN t.bound_ci_uid AS bound", token_id=token_id)
    row = await result.single()
    return row["bound"] if row else None


async def source_state(tx: AsyncManagedTransaction, source: str) -> dict[str, Any] | None:
    """What the last complete report of a source said: its fingerprint and the CIs it named."""
    result = await tx.run("MATCH (s:SourceState {source: $source}) RETURN properties(s) AS s", source=source)
    row = await result.single()
    return dict(row["s"]) if row else None


async def save_source_state(tx: AsyncManagedTransaction, source: str, state: dict[str, Any]) -> None:
    await tx.run("MERGE (s:SourceState {source: $source}) SET s += $state", source=source, state=state)


async def mark_seen(
    tx: AsyncManagedTransaction, uids: list[str], seen: dict[str, Any], source: str, report_id: str
) -> list[dict[str, Any]]:
    """Only last_seen (and the source's seen time) on the CIs of an unchanged report.

    A CI that had gone stale is active again, as a history event. Returns those.
    """
    result = await tx.run(
        """
        UNWIND $uids AS uid
        MATCH (n:CI {uid: uid})
        SET n += $seen
        WITH n WHERE n.status = 'stale'
        SET n.status = 'active'
        CREATE (:Event {ci_uid: n.uid, kind: 'status', field: 'status', old: '"stale"', new: '"active"',
                        source: $source, report_id: $report_id, at: $seen.last_seen})
        RETURN n.uid AS uid
        """,
        uids=uids,
        seen=seen,
        source=source,
        report_id=report_id,
    )
    return [dict(row) async for row in result]


async def set_properties(tx: AsyncManagedTransaction, rows: list[dict[str, Any]]) -> None:
    """Plain property updates without history (volatile values): rows of {uid, props}."""
    if rows:
        await tx.run("UNWIND $rows AS row MATCH (n:CI {uid: row.uid}) SET n += row.props", rows=rows)
