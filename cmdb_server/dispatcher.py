"""The webhook dispatcher: a background task of the server that queues and sends deliveries.

Each tick: (1) history events recorded since the oldest subscription began, not yet
handled, become deliveries (one per subscription that asked for their hook type) in one
transaction with marking them handled; (2) due deliveries are claimed, POSTed with their
signature, and their attempt logged: delivered on a 2xx answer, else retried with backoff
until the attempts run out. Several server processes on one graph: one of them (the holder
of the dispatcher's lease) ticks, and a delivery is claimed before it is sent, so each is
sent once. Delivery is still at least once (a server may stop between sending and
recording the answer): a receiver deduplicates by the ``X-CMDB-Delivery`` id.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from neo4j import AsyncDriver
from neo4j.exceptions import DriverError, Neo4jError

from cmdb_server import webhook_targets, webhooks
from cmdb_server.config import Settings
from cmdb_server.itsm import authorised_by, is_discovered_change
from cmdb_server.metrics import WEBHOOK_DELIVERIES
from cmdb_server.repositories import records
from cmdb_server.repositories import webhooks as repo
from cmdb_server.security import SecretUnreadable
from schema.itsm import CHANGE_AUTHORISED

log = logging.getLogger(__name__)

BATCH = 500
SEND_BATCH = 50
LOOKBACK = timedelta(hours=1)  # an event committed late (a long transaction) is still picked up


async def queue_new_events(driver: AsyncDriver, database: str, now: datetime) -> int:
    """Turn every new history event into deliveries, a batch at a time until none is left
    (a first load of thousands of hosts records events faster than one batch a tick);
    how many deliveries were queued."""
    subscriptions = await repo.subscriptions(driver, database)
    if not subscriptions:
        return 0
    since = max(now - LOOKBACK, min(s["created_at"] for s in subscriptions))
    queued = 0
    while True:
        found = await repo.unhooked_events(driver, database, since, BATCH)
        if found:
            queued += await _queue_batch(driver, database, found, subscriptions, now)
        if len(found) < BATCH:
            return queued


async def _queue_batch(
    driver: AsyncDriver,
    database: str,
    found: list[dict[str, Any]],
    subscriptions: list[dict[str, Any]],
    now: datetime,
) -> int:
    authorising = await records.authorising_changes(driver, database, sorted(CHANGE_AUTHORISED))
    rows = []
    for item in found:
        event = webhooks.decoded(item["event"])
        scope = {event.get("ci_uid"), item["parent_uid"]} - {None}
        at = datetime.fromisoformat(event["at"])
        unauthorised = is_discovered_change(event) and not authorised_by(at, scope, authorising)
        for hook in webhooks.hook_types(event, unauthorised):
            for subscription in subscriptions:
                if hook not in subscription["events"] or item["event"]["at"] < subscription["created_at"]:
                    continue
                key = f"{subscription['id']}|{item['id']}|{hook}".encode()
                delivery_id = hashlib.sha256(key).hexdigest()[:32]
                rows.append(
                    {
                        "id": delivery_id,
                        "subscription_id": subscription["id"],
                        "type": hook,
                        "payload": webhooks.body_of(webhooks.payload(hook, event, delivery_id)).decode(),
                        "state": "pending",
                        "attempts": 0,
                        "log": [],
                        "created_at": now,
                        "next_at": now,
                    }
                )
    await repo.queue(driver, database, rows, [item["id"] for item in found])
    return len(rows)


async def send_due(driver: AsyncDriver, database: str, settings: Settings, client: httpx.AsyncClient) -> int:
    """Send the deliveries that are due, a claimed batch at a time, each batch's POSTs at
    once (a slow receiver holds up no other); how many were attempted."""
    sent = 0
    while True:
        now = datetime.now(UTC)
        lease = now + timedelta(seconds=settings.webhook_timeout_seconds * 2)
        claimed = await repo.claim_due(driver, database, now, lease, SEND_BATCH)
        await asyncio.gather(*(_send_one(driver, database, settings, client, item) for item in claimed))
        sent += len(claimed)
        if len(claimed) < SEND_BATCH:
            return sent


async def _send_one(
    driver: AsyncDriver, database: str, settings: Settings, client: httpx.AsyncClient, item: dict[str, Any]
) -> None:
    delivery = item["delivery"]
    body = delivery["payload"].encode()  # the body as queued: what was signed is what is sent
    started = time.perf_counter()
    status: int | None = None
    error = None
    try:
        headers = {
            "Content-Type": "application/json",
            webhooks.SIGNATURE_HEADER: webhooks.sign(_signing_secret(item, settings), body, int(time.time())),
            webhooks.EVENT_HEADER: delivery["type"],
            webhooks.DELIVERY_HEADER: delivery["id"],
        }
        url, host, extensions = await pinned(item["url"], settings)
        response = await client.post(url, content=body, headers=headers | host, extensions=extensions)
        status = response.status_code
    except webhook_targets.TargetRefused as exc:
        error = f"target refused: {exc}"
    except SecretUnreadable as exc:
        error = f"cannot sign: {exc}"
    except httpx.HTTPError as exc:
        error = f"{type(exc).__name__}: {exc}"
    attempt = int(delivery.get("attempts", 0)) + 1
    ok = status is not None and 200 <= status < 300
    entry = {
        "attempt": attempt,
        "at": datetime.now(UTC).isoformat(),
        "status": status,
        "error": error or (None if ok else f"HTTP {status}"),
        "ms": round((time.perf_counter() - started) * 1000, 1),
    }
    if ok:
        state, next_at = "delivered", None
        WEBHOOK_DELIVERIES.labels("delivered").inc()
    elif attempt >= settings.webhook_max_attempts:
        state, next_at = "failed", None
        WEBHOOK_DELIVERIES.labels("given_up").inc()
    else:
        WEBHOOK_DELIVERIES.labels("failed").inc()
        state = "pending"
        next_at = webhooks.next_attempt(
            attempt, datetime.now(UTC), settings.webhook_retry_base_seconds, settings.webhook_retry_max_seconds
        )
    await repo.record_attempt(driver, database, delivery["id"], json.dumps(entry), state, next_at)


def _signing_secret(item: dict[str, Any], settings: Settings) -> str:
    """The subscription's secret, opened with CMDB_SECRET_KEY (a plain one is sealed at start-up)."""
    box = settings.secret_box()
    if item.get("sealed"):
        if box is None:
            raise SecretUnreadable("the secret is encrypted and CMDB_SECRET_KEY is not set")
        return box.open(item["sealed"])
    if item.get("plain"):
        return str(item["plain"])
    raise SecretUnreadable("the subscription has no secret")


async def seal_plain_secrets(driver: AsyncDriver, database: str, settings: Settings) -> int:
    """Encrypt the secrets of subscriptions stored in plain text (made before secrets were
    sealed) or sealed with a key that is no longer the first; how many were sealed again."""
    box = settings.secret_box()
    stored = await repo.stored_secrets(driver, database)
    if box is None:
        if any(row["plain"] for row in stored):
            log.warning("webhook secrets are stored in plain text: set CMDB_SECRET_KEY to encrypt them")
        return 0
    sealed: dict[str, str] = {}
    for row in stored:
        if row["sealed"] and box.needs_reseal(row["sealed"]):
            try:
                sealed[row["id"]] = box.seal(box.open(row["sealed"]))
            except SecretUnreadable:
                log.error("webhook subscription %s: no CMDB_SECRET_KEY opens its secret", row["id"])
        elif not row["sealed"] and row["plain"]:
            sealed[row["id"]] = box.seal(row["plain"])
    if sealed:
        await repo.store_sealed_secrets(driver, database, sealed)
        log.info("webhook secrets: %d sealed with the current CMDB_SECRET_KEY", len(sealed))
    return len(sealed)


async def pinned(url: str, settings: Settings) -> tuple[httpx.URL, dict[str, str], dict[str, Any]]:
    """The URL to POST to, with its host replaced by the address just checked, and the Host
    header and TLS server name (SNI, certificate check) of the subscribed name: the address
    that was checked is the one connected to."""
    target = webhook_targets.parse_target(url)
    address = (await webhook_targets.resolve(target, settings.allowed_webhook_networks()))[0]
    extensions: dict[str, Any] = {"sni_hostname": target.host} if target.scheme == "https" else {}
    return httpx.URL(url).copy_with(host=str(address)), {"Host": target.host_header}, extensions


async def run(driver: AsyncDriver, settings: Settings, may_tick: Callable[[], Awaitable[bool]]) -> None:
    """Tick forever, when ``may_tick()`` says so (the schema is in place, the database is
    there, and this process holds the dispatcher's lease: see cmdb_server/app.py)."""
    async with httpx.AsyncClient(timeout=settings.webhook_timeout_seconds, follow_redirects=False) as client:
        while True:
            await asyncio.sleep(settings.webhook_poll_seconds)
            try:
                if not await may_tick():
                    continue
                await queue_new_events(driver, settings.neo4j_database, datetime.now(UTC))
                await send_due(driver, settings.neo4j_database, settings, client)
            except (Neo4jError, DriverError, OSError) as exc:
                log.warning("webhook dispatcher: %s", exc)
