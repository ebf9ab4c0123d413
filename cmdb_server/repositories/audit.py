"""Cypher of the configuration audit.

Which sources know a CI is read from its ``_seen_<kind>`` properties; a hand edit
(``_seen_manual``) is no discovery and is left out.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from neo4j import AsyncDriver

from cmdb_server.reconcile import MANUAL_SEEN, SEEN_PREFIX, native

LIST_LIMIT = 500


async def _rows(driver: AsyncDriver, database: str, query: str, **params: Any) -> list[dict[str, Any]]:
    records, _, _ = await driver.execute_query(query, params, database_=database, routing_="r")
    return [{k: native(v) for k, v in dict(r).items()} for r in records]


async def not_verified(driver: AsyncDriver, database: str, cutoff: datetime) -> list[dict[str, Any]]:
    """Discovered CIs that no source has seen since the cutoff, oldest first."""
    return await _rows(
        driver,
        database,
        """
        MATCH (n:CI) WHERE n.status <> 'retired' AND n.last_seen < $cutoff
          AND any(k IN keys(n) WHERE k STARTS WITH $seen AND k <> $manual_seen)
        RETURN n.uid AS uid, n.name AS name, n.class AS class, n.last_seen AS last_seen, n.status AS status
        ORDER BY n.last_seen LIMIT $limit
        """,
        cutoff=cutoff,
        seen=SEEN_PREFIX,
        manual_seen=MANUAL_SEEN,
        limit=LIST_LIMIT,
    )


async def single_source(driver: AsyncDriver, database: str) -> list[dict[str, Any]]:
    """Hosts and network devices only one kind of source has ever reported."""
    return await _rows(
        driver,
        database,
        """
        MATCH (n:CI) WHERE (n:Host OR n:NetworkDevice)
        WITH n, [k IN keys(n) WHERE k STARTS WITH $seen AND k <> $manual_seen | substring(k, size($seen))] AS sources
        WHERE size(sources) = 1
        RETURN n.uid AS uid, n.name AS name, n.class AS class, sources[0] AS source
        ORDER BY n.class, n.name LIMIT $limit
        """,
        seen=SEEN_PREFIX,
        manual_seen=MANUAL_SEEN,
        limit=LIST_LIMIT,
    )


async def suspected_duplicates(driver: AsyncDriver, database: str) -> list[dict[str, Any]]:
    """CIs that look like one real thing: hosts by host name, network devices by name or serial."""
    return await _rows(
        driver,
        database,
        """
        CALL () {
          MATCH (n:Host) WHERE n.hostname IS NOT NULL AND n.status <> 'retired'
          WITH 'Host' AS class, 'hostname' AS key, toLower(n.hostname) AS value, collect(n.uid) AS uids
          WHERE size(uids) > 1 RETURN class, key, value, uids
          UNION
          MATCH (n:NetworkDevice) WHERE n.sys_name IS NOT NULL AND n.status <> 'retired'
          WITH 'NetworkDevice' AS class, 'sys_name' AS key, toLower(n.sys_name) AS value, collect(n.uid) AS uids
          WHERE size(uids) > 1 RETURN class, key, value, uids
          UNION
          MATCH (n:NetworkDevice) WHERE n.serial IS NOT NULL AND n.status <> 'retired'
          WITH 'NetworkDevice' AS class, 'serial' AS key, n.serial AS value, collect(n.uid) AS uids
          WHERE size(uids) > 1 RETURN class, key, value, uids
        }
        RETURN class, key, value, uids ORDER BY class, key, value LIMIT $limit
        """,
        limit=LIST_LIMIT,
    )


async def coverage(driver: AsyncDriver, database: str) -> dict[str, Any]:
    """Per class: how many CIs, and how many each kind of source reports."""
    rows = await _rows(
        driver,
        database,
        """
        MATCH (n:CI)
        WITH n.class AS class,
             [k IN keys(n) WHERE k STARTS WITH $seen AND k <> $manual_seen | substring(k, size($seen))] AS sources
        UNWIND (CASE WHEN size(sources) = 0 THEN ['none'] ELSE sources END) AS source
        RETURN class, source, count(*) AS n ORDER BY class, source
        """,
        seen=SEEN_PREFIX,
        manual_seen=MANUAL_SEEN,
    )
    by_class: dict[str, dict[str, int]] = {}
    by_source: dict[str, int] = {}
    for row in rows:
        by_class.setdefault(row["class"], {})[row["source"]] = row["n"]
        by_source[row["source"]] = by_source.get(row["source"], 0) + row["n"]
    return {"by_class": by_class, "by_source": by_source}
