"""Webhook subscriptions and deliveries on the wire."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from cmdb_server import webhooks
from cmdb_server.models.common import Open


class SubscriptionCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str = Field(min_length=1, max_length=2000, description="Where deliveries are POSTed (http or https).")
    events: list[str] = Field(
        min_length=1,
        max_length=len(webhooks.HOOK_EVENTS),
        description=f"Hook events: {', '.join(webhooks.HOOK_EVENTS)}.",
    )
    secret: str | None = Field(
        None, min_length=16, max_length=200, description="Signing secret; one is made when absent."
    )
    description: str | None = Field(None, max_length=500)


class SubscriptionPublic(Open):
    id: str
    url: str
    events: list[str]
    description: str | None = None
    created_at: datetime
    created_by: str


class SubscriptionCreated(SubscriptionPublic):
    secret: str = Field(description="The signing secret: shown this once.")


class SubscriptionList(BaseModel):
    items: list[SubscriptionPublic]


class SubscriptionDeleted(BaseModel):
    id: str
    deleted: bool


class Delivery(BaseModel):
    id: str
    type: str
    state: str = Field(description="pending, delivered or failed.")
    attempts: int
    created_at: datetime
    next_at: datetime | None
    payload: dict[str, Any]
    log: list[dict[str, Any]] = Field(description="Every attempt: when, status or error.")


class DeliveryList(BaseModel):
    items: list[Delivery]
