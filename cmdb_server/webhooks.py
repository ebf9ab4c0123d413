"""Webhooks: which history events become which hook events, signatures and retries (pure).

Every change the CMDB records is a history event (an ``Event`` node) written in the
transaction that made the change. The dispatcher (cmdb_server/dispatcher.py) reads new
events, turns each into zero or more hook events with :func:`hook_types`, and queues one
delivery per subscription that asked for that type; a delivery is an HTTP POST of a JSON
body signed with the subscription's secret, retried with exponential backoff.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import datetime, timedelta
from typing import Any

from cmdb_server.itsm import is_discovered_change
from cmdb_server.reconcile import decode_event
from cmdb_server.repositories.records import CHANGE

HOOK_EVENTS = (
    "ci.created",
    "ci.updated",
    "ci.retired",
    "relationship.changed",
    "change.state_changed",
    "change.unauthorised",
)
SIGNATURE_HEADER = "X-CMDB-Signature"
"""``t=<unix time>,v1=<hex HMAC-SHA256 of "<t>.<body>" with the subscription's secret>``."""
EVENT_HEADER = "X-CMDB-Event"
DELIVERY_HEADER = "X-CMDB-Delivery"


def hook_types(event: dict[str, Any], unauthorised: bool) -> list[str]:
    """The hook events one decoded history event is (``unauthorised``: no authorised change
    covers it, as the audit's unauthorised-changes report decides)."""
    kind = event.get("kind")
    types: list[str] = []
    if kind == "created":
        types.append("ci.created")
    elif kind in ("attribute", "class", "lock", "unlock", "tag", "service_level"):
        types.append("ci.updated")
    elif kind == "status":
        types.append("ci.retired" if event.get("new") == "retired" else "ci.updated")
    elif kind == "deleted":
        types.append("ci.retired")
    elif kind in ("relation_started", "relation_ended"):
        types.append("relationship.changed")
    elif kind == "field" and event.get("field") == "state" and str(event.get("ci_uid", "")).startswith(CHANGE.prefix):
        types.append("change.state_changed")
    if unauthorised and is_discovered_change(event):
        types.append("change.unauthorised")
    return types


def payload(hook: str, event: dict[str, Any], delivery_id: str) -> dict[str, Any]:
    """The JSON body of a delivery: the hook type and the history event it comes from."""
    return {
        "id": delivery_id,
        "type": hook,
        "at": event["at"],
        "subject": event.get("ci_uid"),
        "event": {k: event.get(k) for k in ("kind", "field", "old", "new", "source", "report_id", "reason")},
    }


def decoded(raw_event: dict[str, Any]) -> dict[str, Any]:
    """A stored Event as a hook sees it: old/new decoded, the time as ISO text."""
    event = decode_event(dict(raw_event))
    at = event.get("at")
    if isinstance(at, datetime):
        event["at"] = at.isoformat()
    return event


def sign(secret: str, body: bytes, timestamp: int) -> str:
    """The signature header's value for a body sent at ``timestamp`` (Unix seconds)."""
    mac = hmac.new(secret.encode("utf-8"), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def verify(secret: str, body: bytes, header: str) -> bool:
    """What a receiver does: recompute the signature and compare in constant time."""
    parts = dict(item.split("=", 1) for item in header.split(",") if "=" in item)
    try:
        expected = sign(secret, body, int(parts.get("t", "")))
    except ValueError:
        return False
    return hmac.compare_digest(expected, header)


def next_attempt(attempts: int, now: datetime, base_seconds: float, max_seconds: float) -> datetime:
    """When to try again after ``attempts`` failures: base x 2^(attempts-1), capped."""
    delay = min(max_seconds, base_seconds * 2 ** max(0, attempts - 1))
    return now + timedelta(seconds=delay)


def body_of(data: dict[str, Any]) -> bytes:
    """A delivery's body, encoded once when it is queued (times and other values as text)."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), default=str).encode("utf-8")
