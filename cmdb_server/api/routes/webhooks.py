"""Webhook subscriptions (admins): which events go to which URL, and each delivery's log."""

from __future__ import annotations

import json
import secrets
import uuid
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query

from cmdb_server import webhook_targets, webhooks
from cmdb_server.api.deps import DriverDep, SettingsDep
from cmdb_server.auth import Admin
from cmdb_server.errors import NotConfigured, NotFound, Unprocessable
from cmdb_server.models.webhooks import (
    DeliveryList,
    SubscriptionCreate,
    SubscriptionCreated,
    SubscriptionDeleted,
    SubscriptionList,
)
from cmdb_server.repositories import webhooks as repo
from cmdb_server.security import SECRET_PROPERTIES
from schema.values import quoted

router = APIRouter(prefix="/webhooks", tags=["webhooks"])


def _public(subscription: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in subscription.items() if k not in SECRET_PROPERTIES}


@router.post("", status_code=201, summary="Subscribe a URL to events (admin)", response_model=SubscriptionCreated)
async def create_subscription(
    body: SubscriptionCreate, principal: Admin, driver: DriverDep, settings: SettingsDep
) -> dict[str, Any]:
    """The answer holds the signing secret; it is not shown again (it is stored encrypted
    with CMDB_SECRET_KEY). The URL must be public (or in CMDB_WEBHOOK_ALLOWED_NETWORKS); it
    is checked again at each delivery."""
    box = settings.secret_box()
    if box is None:
        raise NotConfigured("webhooks need CMDB_SECRET_KEY, the key their signing secrets are encrypted with")
    try:
        await webhook_targets.resolve(webhook_targets.parse_target(body.url), settings.allowed_webhook_networks())
    except webhook_targets.TargetRefused as exc:
        raise Unprocessable(str(exc), field="url") from None
    unknown = sorted(set(body.events) - set(webhooks.HOOK_EVENTS))
    if unknown:
        raise Unprocessable(
            f"unknown events {', '.join(unknown)}; use {', '.join(webhooks.HOOK_EVENTS)}", field="events"
        )
    secret = body.secret or secrets.token_hex(32)
    subscription = {
        "id": uuid.uuid4().hex[:16],
        "url": body.url,
        "events": sorted(set(body.events)),
        "description": body.description,
        "created_at": datetime.now(UTC),
        "created_by": principal.name,
    }
    await repo.create_subscription(
        driver, settings.neo4j_database, subscription | {"secret_encrypted": box.seal(secret)}
    )
    return subscription | {"secret": secret}


@router.get("", summary="Subscriptions (admin)", response_model=SubscriptionList)
async def list_subscriptions(_: Admin, driver: DriverDep, settings: SettingsDep) -> dict[str, Any]:
    return {"items": [_public(s) for s in await repo.subscriptions(driver, settings.neo4j_database)]}


@router.delete(
    "/{subscription_id}",
    summary="Unsubscribe (admin); pending deliveries are cancelled",
    response_model=SubscriptionDeleted,
)
async def delete_subscription(
    subscription_id: Annotated[str, Path(min_length=1, max_length=100)],
    _: Admin,
    driver: DriverDep,
    settings: SettingsDep,
) -> dict[str, Any]:
    if not await repo.delete_subscription(driver, settings.neo4j_database, subscription_id):
        raise NotFound(f"no subscription {quoted(subscription_id)}", field="subscription_id", location="path")
    return {"id": subscription_id, "deleted": True}


@router.get(
    "/{subscription_id}/deliveries",
    summary="A subscription's deliveries, newest first, with every attempt",
    response_model=DeliveryList,
)
async def list_deliveries(
    subscription_id: Annotated[str, Path(min_length=1, max_length=100)],
    _: Admin,
    driver: DriverDep,
    settings: SettingsDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> dict[str, Any]:
    known = {s["id"] for s in await repo.subscriptions(driver, settings.neo4j_database)}
    items = await repo.deliveries(driver, settings.neo4j_database, subscription_id, limit)
    if subscription_id not in known and not items:
        raise NotFound(f"no subscription {quoted(subscription_id)}", field="subscription_id", location="path")
    return {
        "items": [
            {
                "id": d["id"],
                "type": d["type"],
                "state": d["state"],
                "attempts": d.get("attempts", 0),
                "created_at": d["created_at"],
                "next_at": d.get("next_at") if d["state"] == "pending" else None,
                "payload": json.loads(d["payload"]),
                "log": [json.loads(entry) for entry in d.get("log", [])],
            }
            for d in items
        ]
    }
