"""The state the CMDB keeps per source (``(:SourceState)``): listed, and reset by an admin."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson
from neo4j import AsyncDriver

from cmdb_server.reconcile import native


async def list_sources(driver: AsyncDriver, database: str) -> list[dict[str, Any]]:
    """Every source that has sent a report: its times, what it last reported, its agent token."""
    records, _, _ = await driver.execute_query(
        """
        MATCH (s:SourceState)
        OPTIONAL MATCH (t:ApiToken {bound_source: s.source}) WHERE t.revoked_at IS NULL
        WITH s, collect(t.token_id)[0] AS token_id
        RETURN s.source AS source, s.received_at AS received_at, s.collected_at AS collected_at,
               s.complete_at AS complete_at, s.owned AS owned, token_id
        ORDER BY source
        """,
        database_=database,
        routing_="r",
    )
    return [
        {
            "source": row["source"],
            "received_at": native(row["received_at"]),
            "collected_at": native(row["collected_at"]),
            "complete_at": native(row["complete_at"]),
            "cis": len(orjson.loads(row["owned"])) if row["owned"] else 0,
            "agent_token_id": row["token_id"],
        }
        for row in records
    ]


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
        RETURN s IS NOT NULL AS known, collect(t.token_id) AS unbound
        """,
        source=source,
        unbind=unbind,
        now=now,
        database_=database,
    )
    row = records[0]
    return bool(row["known"]), list(row["unbound"])
