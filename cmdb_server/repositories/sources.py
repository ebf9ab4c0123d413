"""The state the CMDB keeps per source (``(:SourceState)``): listed and paged, grouped by
collector, its refused reports noted, and reset by an admin."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson
from neo4j import AsyncDriver

from cmdb_server.db import read_query
from cmdb_server.reconcile import native

REFUSAL_REASON_CHARS = 500
"""How much of a refusal's message a source's state keeps (the server log has the rest)."""


def _row(row: Any) -> dict[str, Any]:
    return {
        "source": row["source"],
        "received_at": native(row["received_at"]),
        "collected_at": native(row["collected_at"]),
        "complete_at": native(row["complete_at"]),
        "cis": len(orjson.loads(row["owned"])) if row["owned"] else 0,
        "agent_token_id": row["token_id"],
        "refused_at": native(row["refused_at"]),
        "refused_status": row["refused_status"],
        "refused_reason": row["refused_reason"],
        "refused_count": row["refused_count"] or 0,
    }


async def list_sources(driver: AsyncDriver, database: str) -> list[dict[str, Any]]:
    """Every source that has sent a report: its times, what it last reported, its agent token,
    its last refused report."""
    rows, _ = await page_sources(driver, database, 0, None)
    return rows


async def page_sources(
    driver: AsyncDriver,
    database: str,
    offset: int,
    limit: int | None,
    stale_before: datetime | None = None,
    refused_only: bool = False,
    kind: str | None = None,
) -> tuple[list[dict[str, Any]], int]:
    """A page of sources in name order, and how many there are: ``stale_before``: only those
    whose last report came before it (or never came); ``refused_only``: only those with a
    refused report; ``kind``: only sources of that kind. Returns (page, total)."""
    records, _, _ = await driver.execute_query(
        read_query("""
        MATCH (s:SourceState)
        WHERE ($kind IS NULL OR s.source STARTS WITH $kind + ':')
          AND ($stale IS NULL OR s.received_at IS NULL OR s.received_at < $stale)
          AND (NOT $refused OR s.refused_at IS NOT NULL)
        WITH s ORDER BY s.source
        WITH collect(s) AS found
        WITH size(found) AS total,
             CASE WHEN $limit IS NULL THEN found[$offset..] ELSE found[$offset..$offset + $limit] END AS page
        UNWIND (CASE WHEN size(page) = 0 THEN [null] ELSE page END) AS s
        OPTIONAL MATCH (t:ApiToken {bound_source: s.source}) WHERE t.revoked_at IS NULL
        OPTIONAL MATCH (i:ApiToken {bound_inventory_source: s.source}) WHERE i.revoked_at IS NULL
        WITH total, s, coalesce(collect(t.token_id)[0], collect(i.token_id)[0]) AS token_id
        RETURN total, s.source AS source, s.received_at AS received_at, s.collected_at AS collected_at,
               s.complete_at AS complete_at, s.owned AS owned, token_id, s.refused_at AS refused_at,
               s.refused_status AS refused_status, s.refused_reason AS refused_reason,
               s.refused_count AS refused_count
        ORDER BY source
        """),
        kind=kind,
        stale=stale_before,
        refused=refused_only,
        offset=offset,
        limit=limit,
        database_=database,
        routing_="r",
    )
    total = records[0]["total"] if records else 0
    return [_row(r) for r in records if r["source"] is not None], total


async def collector_runs(driver: AsyncDriver, database: str, stale_before: datetime) -> list[dict[str, Any]]:
    """Per collector (``kind:collector`` of scanned sources named ``collector@address``; one row
    per kind for agents and imports): its sources, its last report, how many are stale or had a
    report refused, and its last refusal."""
    records, _, _ = await driver.execute_query(
        read_query("""
        MATCH (s:SourceState)
        WITH s, split(s.source, ':')[0] AS kind, substring(s.source, size(split(s.source, ':')[0]) + 1) AS name
        WITH s, kind, CASE WHEN name CONTAINS '@' THEN kind + ':' + split(name, '@')[0] ELSE kind END AS collector
        RETURN collector, kind, count(s) AS sources, max(s.received_at) AS last_report,
               count(CASE WHEN s.received_at IS NULL OR s.received_at < $stale THEN 1 END) AS stale,
               count(s.refused_at) AS refused, max(s.refused_at) AS last_refused
        ORDER BY collector
        """),
        stale=stale_before,
        database_=database,
        routing_="r",
    )
    return [{k: native(v) for k, v in dict(r).items()} for r in records]


async def note_refusal(
    driver: AsyncDriver, database: str, source: str, status: int, reason: str, now: datetime, known_only: bool
) -> None:
    """Keep on a source's state that a report of it was refused (when, the status, why, how many
    so far), so discovery status shows failures; the refused report itself changed nothing.
    ``known_only``: only on a source that already has a state (a token that may not speak for
    the source makes no state for it)."""
    await driver.execute_query(
        """
        OPTIONAL MATCH (known:SourceState {source: $source})
        WITH known WHERE known IS NOT NULL OR NOT $known_only
        MERGE (s:SourceState {source: $source})
        SET s.refused_at = $now, s.refused_status = $status, s.refused_reason = $reason,
            s.refused_count = coalesce(s.refused_count, 0) + 1
        """,
        source=source,
        status=status,
        reason=reason[:REFUSAL_REASON_CHARS],
        now=now,
        known_only=known_only,
        database_=database,
    )


async def reset_source(
    driver: AsyncDriver, database: str, source: str, unbind: bool, now: datetime
) -> tuple[bool, list[str]]:
    """Forget the source's last report time and fingerprint, so that its next report applies
    whatever its date (and in full); ``unbind``: free the agent token speaking for it. The CIs
    and relations it reported stay. Returns (the source was known, the tokens unbound)."""
    records, _, _ = await driver.execute_query(
        """
        OPTIONAL MATCH (s:SourceState {source: $source})
        SET s.collected_at = null, s.fingerprint = null, s.reset_at = $now
        WITH s
        OPTIONAL MATCH (t:ApiToken {bound_source: $source}) WHERE $unbind
        SET t.bound_source = null, t.bound_ci_uid = null
        WITH s, collect(t.token_id) AS agents
        OPTIONAL MATCH (i:ApiToken {bound_inventory_source: $source}) WHERE $unbind
        SET i.bound_inventory_source = null
        WITH s, agents, collect(i.token_id) AS inventories
        RETURN s IS NOT NULL AS known, agents + inventories AS unbound
        """,
        source=source,
        unbind=unbind,
        now=now,
        database_=database,
    )
    row = records[0]
    return bool(row["known"]), list(row["unbound"])
