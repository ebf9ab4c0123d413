"""Cypher of the configuration audit.

Which sources know a CI is read from its ``_seen_<kind>`` properties; a hand edit
(``_seen_manual``) is no discovery and is left out.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from neo4j import AsyncDriver

from cmdb_server.db import read_query
from cmdb_server.reconcile import MANUAL_SEEN, SEEN_PREFIX, native

LIST_LIMIT = 500

# The findings' definitions, shared by the audit's lists and the accuracy series' counts
# (cmdb_server/accuracy_series.py), so a day's count is the length of the list that day.
NOT_VERIFIED = """n.status <> 'retired' AND n.last_seen < $cutoff
          AND any(k IN keys(n) WHERE k STARTS WITH $seen AND k <> $manual_seen)"""
"""A discovered CI in service (not retired) that no source has seen since the cutoff."""

SINGLE_SOURCE = """(n:Host OR n:NetworkDevice)
          AND size([k IN keys(n) WHERE k STARTS WITH $seen AND k <> $manual_seen]) = 1"""
"""A host or network device only one kind of source has ever reported (a hand edit is no source)."""

DUPLICATE_GROUPS = """CALL () {
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
        }"""
"""Groups of CIs in service sharing a host name, a device's name or its serial: (class, key, value, uids)."""


async def _rows(driver: AsyncDriver, database: str, query: str, **params: Any) -> list[dict[str, Any]]:
    records, _, _ = await driver.execute_query(read_query(query), params, database_=database, routing_="r")
    return [{k: native(v) for k, v in dict(r).items()} for r in records]


async def not_verified(driver: AsyncDriver, database: str, cutoff: datetime) -> list[dict[str, Any]]:
    """Discovered CIs that no source has seen since the cutoff, oldest first."""
    return await _rows(
        driver,
        database,
        f"""
        MATCH (n:CI) WHERE {NOT_VERIFIED}
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
        f"""
        MATCH (n:CI) WHERE {SINGLE_SOURCE}
        WITH n, [k IN keys(n) WHERE k STARTS WITH $seen AND k <> $manual_seen | substring(k, size($seen))] AS sources
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
        f"""
        {DUPLICATE_GROUPS}
        RETURN class, key, value, uids ORDER BY class, key, value LIMIT $limit
        """,
        limit=LIST_LIMIT,
    )


async def suspected_clones(driver: AsyncDriver, database: str) -> list[dict[str, Any]]:
    """Pairs of CIs that share weaker identifiers (a MAC, a host name) but whose strong ones
    differ (two machine-ids): kept as two CIs, as a cloned VM is another machine."""
    return await _rows(
        driver,
        database,
        """
        MATCH (n:CI) WHERE n._suspected_clones IS NOT NULL AND n.status <> 'retired'
        UNWIND n._suspected_clones AS other_uid
        MATCH (o:CI {uid: other_uid})
        RETURN n.uid AS uid, n.name AS name, n.class AS class, o.uid AS clone_of, o.name AS clone_name
        ORDER BY n.class, n.name, o.uid LIMIT $limit
        """,
        limit=LIST_LIMIT,
    )


async def sources_stopped(driver: AsyncDriver, database: str, cutoff: datetime) -> dict[str, list[dict[str, Any]]]:
    """What a source stopped reporting while others still do: relations one source left
    (others vouch for them), and CIs a kind of source has not seen since the cutoff though
    another has."""
    relations = await _rows(
        driver,
        database,
        """
        MATCH (a:CI)-[r]->(b:CI)
        WHERE r.ended_at IS NULL AND size(coalesce(r.ended_sources, [])) > 0
        RETURN a.uid AS from_uid, a.name AS from_name, type(r) AS type, b.uid AS to_uid, b.name AS to_name,
               r.ended_sources AS stopped, r.sources AS still
        ORDER BY a.name, type, b.name LIMIT $limit
        """,
        limit=LIST_LIMIT,
    )
    cis = await _rows(
        driver,
        database,
        """
        MATCH (n:CI) WHERE n.status <> 'retired' AND n.last_seen >= $cutoff
        WITH n, [k IN keys(n) WHERE k STARTS WITH $seen AND k <> $manual_seen AND n[k] < $cutoff
                 | substring(k, size($seen))] AS stopped
        WHERE size(stopped) > 0
        RETURN n.uid AS uid, n.name AS name, n.class AS class, stopped, n.last_seen AS last_seen
        ORDER BY n.class, n.name LIMIT $limit
        """,
        cutoff=cutoff,
        seen=SEEN_PREFIX,
        manual_seen=MANUAL_SEEN,
        limit=LIST_LIMIT,
    )
    return {"relations": relations, "cis": cis}


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


async def finding_counts(
    driver: AsyncDriver, database: str, cutoff: datetime, unauthorised_uids: list[str]
) -> dict[str, int]:
    """The accuracy series' counts over the CIs in service (not retired), by the audit's own
    definitions and without its lists' limit: how many CIs; of them, not verified since the
    cutoff, single-source, in a group of suspected duplicates, with an unauthorised change
    (``unauthorised_uids``, which the audit's rule found); and how many have none of these."""
    records, _, _ = await driver.execute_query(
        read_query(f"""
        CALL () {{
            {DUPLICATE_GROUPS}
            UNWIND uids AS uid RETURN collect(DISTINCT uid) AS duplicated
        }}
        MATCH (n:CI) WHERE n.status <> 'retired'
        WITH n, coalesce({NOT_VERIFIED}, false) AS not_verified, coalesce({SINGLE_SOURCE}, false) AS single_source,
             n.uid IN duplicated AS duplicate, n.uid IN $unauthorised AS unauthorised
        RETURN count(n) AS cis,
               count(CASE WHEN not_verified THEN 1 END) AS not_verified,
               count(CASE WHEN single_source THEN 1 END) AS single_source,
               count(CASE WHEN duplicate THEN 1 END) AS suspected_duplicates,
               count(CASE WHEN NOT (not_verified OR single_source OR duplicate OR unauthorised) THEN 1 END) AS accurate
        """),
        cutoff=cutoff,
        seen=SEEN_PREFIX,
        manual_seen=MANUAL_SEEN,
        unauthorised=unauthorised_uids,
        database_=database,
        routing_="r",
    )
    return dict(records[0])
