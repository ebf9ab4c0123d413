"""Webhook subscriptions and their deliveries in the graph (each delivery keeps its attempts' log)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from neo4j import AsyncDriver

from cmdb_server.db import read_query
from cmdb_server.reconcile import native


async def create_subscription(driver: AsyncDriver, database: str, subscription: dict[str, Any]) -> None:
    await driver.execute_query("CREATE (s:WebhookSubscription) SET s = $s", s=subscription, database_=database)


async def stored_secrets(driver: AsyncDriver, database: str) -> list[dict[str, Any]]:
    """Each subscription's id with its secret as stored: ``sealed`` (encrypted) or, written
    before secrets were encrypted, ``plain``."""
    records, _, _ = await driver.execute_query(
        "MATCH (s:WebhookSubscription) RETURN s.id AS id, s.secret_encrypted AS sealed, s.secret AS plain",
        database_=database,
        routing_="r",
    )
    return [dict(r) for r in records]


async def store_sealed_secrets(driver: AsyncDriver, database: str, sealed: dict[str, str]) -> None:
    """Replace subscriptions' secrets by these sealed ones (by id), dropping any plain copy."""
    await driver.execute_query(
        """
        UNWIND keys($sealed) AS id
        MATCH (s:WebhookSubscription {id: id})
        SET s.secret_encrypted = $sealed[id]
        REMOVE s.secret
        """,
        sealed=sealed,
        database_=database,
    )


async def subscriptions(driver: AsyncDriver, database: str) -> list[dict[str, Any]]:
    records, _, _ = await driver.execute_query(
        read_query("MATCH (s:WebhookSubscription) RETURN properties(s) AS s ORDER BY s.created_at, s.id"),
        database_=database,
        routing_="r",
    )
    return [{k: native(v) for k, v in dict(r["s"]).items()} for r in records]


async def delete_subscription(driver: AsyncDriver, database: str, subscription_id: str) -> bool:
    """Remove a subscription; its pending deliveries are given up (their log stays)."""
    records, _, _ = await driver.execute_query(
        """
        MATCH (s:WebhookSubscription {id: $id})
        OPTIONAL MATCH (d:WebhookDelivery {subscription_id: $id}) WHERE d.state = 'pending'
        SET d.state = 'cancelled'
        WITH DISTINCT s DELETE s
        RETURN count(*) AS deleted
        """,
        id=subscription_id,
        database_=database,
    )
    return bool(records and records[0]["deleted"])


async def deliveries(driver: AsyncDriver, database: str, subscription_id: str, limit: int) -> list[dict[str, Any]]:
    records, _, _ = await driver.execute_query(
        read_query("""
        MATCH (d:WebhookDelivery {subscription_id: $id}) WHERE d.created_at IS NOT NULL
        RETURN properties(d) AS d ORDER BY d.created_at DESC, d.id LIMIT $limit
        """),
        id=subscription_id,
        limit=limit,
        database_=database,
        routing_="r",
    )
    return [{k: native(v) for k, v in dict(r["d"]).items()} for r in records]


async def unhooked_events(driver: AsyncDriver, database: str, since: datetime, limit: int) -> list[dict[str, Any]]:
    """History events since a time not yet turned into deliveries, oldest first, with the
    parent of their CI (a change authorised on a host covers its interfaces)."""
    records, _, _ = await driver.execute_query(
        read_query("""
        MATCH (e:Event) WHERE e.at >= $since AND e.hooked IS NULL
        WITH e ORDER BY e.at LIMIT $limit
        OPTIONAL MATCH (n:CI {uid: e.ci_uid})
        RETURN elementId(e) AS id, properties(e) AS event, n.parent_uid AS parent_uid
        """),
        since=since,
        limit=limit,
        database_=database,
        routing_="r",
    )
    return [
        {"id": r["id"], "event": {k: native(v) for k, v in dict(r["event"]).items()}, "parent_uid": r["parent_uid"]}
        for r in records
    ]


async def queue(driver: AsyncDriver, database: str, rows: list[dict[str, Any]], event_ids: list[str]) -> None:
    """Queue deliveries and mark their events as handled, in one transaction. A delivery's id
    is derived from its subscription and event, so two dispatchers racing queue it once."""
    await driver.execute_query(
        """
        CALL (){
            UNWIND $rows AS row
            MERGE (d:WebhookDelivery {id: row.id}) ON CREATE SET d += row
        }
        UNWIND $event_ids AS id
        MATCH (e:Event) WHERE elementId(e) = id
        SET e.hooked = true
        """,
        rows=rows,
        event_ids=event_ids,
        database_=database,
    )


async def claim_due(
    driver: AsyncDriver, database: str, now: datetime, lease_until: datetime, limit: int
) -> list[dict[str, Any]]:
    """Take due deliveries for sending until ``lease_until``. The write lock is taken before
    the delivery is checked again (state, due time, claim: another dispatcher may have sent
    it since it was matched), so two dispatchers never send the same delivery twice."""
    records, _, _ = await driver.execute_query(
        """
        MATCH (d:WebhookDelivery) WHERE d.state = 'pending' AND d.next_at <= $now
        WITH d ORDER BY d.next_at LIMIT $limit
        SET d._lock = true
        REMOVE d._lock
        WITH d WHERE d.state = 'pending' AND d.next_at <= $now
          AND (d.claimed_until IS NULL OR d.claimed_until < $now)
        SET d.claimed_until = $until
        WITH d MATCH (s:WebhookSubscription {id: d.subscription_id})
        RETURN properties(d) AS d, s.url AS url, s.secret_encrypted AS sealed, s.secret AS plain
        """,
        now=now,
        until=lease_until,
        limit=limit,
        database_=database,
    )
    return [{"delivery": dict(r["d"]), "url": r["url"], "sealed": r["sealed"], "plain": r["plain"]} for r in records]


async def record_attempt(
    driver: AsyncDriver, database: str, delivery_id: str, entry: str, state: str, next_at: datetime | None
) -> None:
    await driver.execute_query(
        """
        MATCH (d:WebhookDelivery {id: $id})
        SET d.attempts = coalesce(d.attempts, 0) + 1, d.log = coalesce(d.log, []) + $entry,
            d.state = $state, d.next_at = coalesce($next_at, d.next_at), d.claimed_until = null
        """,
        id=delivery_id,
        entry=entry,
        state=state,
        next_at=next_at,
        database_=database,
    )
