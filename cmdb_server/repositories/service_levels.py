"""Business services' service levels, and the incidents availability is computed from.

A service level is one JSON property (``service_level``, canonical text) on the
BusinessService node; each change is an Event in the service's history (kind
``service_level``, the whole old and new level), like a hand edit of an attribute.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from neo4j import AsyncDriver

from cmdb_server.db import read_query
from cmdb_server.reconcile import native
from cmdb_server.repositories.process_figures import FIRST_ANSWERED, NEW


@dataclass(frozen=True)
class ServiceRow:
    uid: str
    name: str
    service_level: str | None  # the stored JSON text; None: none agreed


@dataclass(frozen=True)
class IncidentRow:
    id: str
    status: str
    priority: str
    opened_at: datetime
    answered_at: datetime | None  # its first move out of ``new``; None: still new
    resolved_at: datetime | None
    cis: tuple[str, ...]  # the affected CIs among those asked about


async def service(driver: AsyncDriver, database: str, uid: str) -> ServiceRow | None:
    """The business service of that uid; None when there is no CI of that uid or it is of another class."""
    records, _, _ = await driver.execute_query(
        read_query("MATCH (n:BusinessService {uid: $uid}) RETURN n.uid AS uid, n.name AS name, n.service_level AS l"),
        uid=uid,
        database_=database,
        routing_="r",
    )
    return ServiceRow(records[0]["uid"], records[0]["name"] or "", records[0]["l"]) if records else None


async def services(driver: AsyncDriver, database: str) -> list[ServiceRow]:
    """Every business service, by name."""
    records, _, _ = await driver.execute_query(
        read_query(
            "MATCH (n:BusinessService) RETURN n.uid AS uid, n.name AS name, n.service_level AS l ORDER BY name, uid"
        ),
        database_=database,
        routing_="r",
    )
    return [ServiceRow(r["uid"], r["name"] or "", r["l"]) for r in records]


async def save(driver: AsyncDriver, database: str, uid: str, level: str, source: str, now: datetime) -> bool:
    """Store the service level (JSON text); with its history event when it changed. Whether it
    did (False: the service is gone, or the level is the same)."""
    records, _, _ = await driver.execute_query(
        """
        MATCH (n:BusinessService {uid: $uid})
        WITH n, n.service_level AS old
        WHERE old IS NULL OR old <> $level
        SET n.service_level = $level
        CREATE (:Event {ci_uid: $uid, kind: 'service_level', field: 'service_level', old: old, new: $level,
                        source: $source, at: $now})
        RETURN true AS changed
        """,
        uid=uid,
        level=level,
        source=source,
        now=now,
        database_=database,
    )
    return bool(records)


async def incidents_between(
    driver: AsyncDriver, database: str, uids: list[str], start: datetime, end: datetime, open_statuses: list[str]
) -> list[IncidentRow]:
    """Incidents affecting any of these CIs that were open at some time in [start, end):
    opened before the end, and resolved at or after the start or not resolved (still open);
    with their priority and when they were first answered (for the service's incident targets)."""
    records, _, _ = await driver.execute_query(
        read_query(
            """
            UNWIND $uids AS uid
            MATCH (c:CI {uid: uid})<-[:AFFECTS]-(i:Incident)
            WHERE i.opened_at < $end
              AND (i.status IN $open OR i.resolved_at IS NULL OR i.resolved_at >= $start)
            WITH i, collect(DISTINCT c.uid) AS cis
            """
            + FIRST_ANSWERED
            + """
            RETURN i.id AS id, i.status AS status, i.priority AS priority, i.opened_at AS opened_at,
                   answered_at, i.resolved_at AS resolved_at, cis
            ORDER BY opened_at, id
            """
        ),
        uids=uids,
        start=start,
        end=end,
        open=open_statuses,
        new=NEW,
        database_=database,
        routing_="r",
    )
    return [
        IncidentRow(
            r["id"],
            r["status"],
            r["priority"],
            native(r["opened_at"]),
            native(r["answered_at"]),
            native(r["resolved_at"]),
            tuple(sorted(r["cis"])),
        )
        for r in records
    ]
