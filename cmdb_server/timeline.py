"""A CI as it was: its attributes at a past time, rebuilt from the history (pure).

Every recorded change keeps its old and new values, so walking the events after a time
backwards from the CI's current state undoes them. Volatile attributes (used space) are
not in the history and are left out of a past state. A CI deleted for good has no current
state: its walk starts from nothing, and its ``deleted`` event keeps (as ``old``) the
class, status and attributes it had until then.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass
class PastState:
    """What a CI held at one time; ``existed`` is False before its creation."""

    existed: bool
    ci_class: str | None
    status: str | None
    attributes: dict[str, Any] = field(default_factory=dict)


def state_at(
    ci_class: str | None,
    status: str | None,
    attributes: dict[str, Any],
    events_after: list[dict[str, Any]],
    volatile: frozenset[str],
    *,
    existed: bool = True,
) -> PastState:
    """The state at time T from the current one (``existed`` False: the CI is deleted) and
    the decoded events after T, newest first."""
    state = PastState(
        existed=existed,
        ci_class=ci_class,
        status=status,
        attributes={k: v for k, v in attributes.items() if k not in volatile},
    )
    for event in events_after:
        kind, name = event.get("kind"), event.get("field")
        if kind == "created":
            return PastState(existed=False, ci_class=None, status=None)
        if kind == "deleted" and isinstance(event.get("old"), dict):
            kept = event["old"]
            attributes = kept.get("attributes") or {}
            state = PastState(
                existed=True,
                ci_class=kept.get("class"),
                status=kept.get("status"),
                attributes={k: v for k, v in attributes.items() if k not in volatile},
            )
        if kind == "attribute" and name is not None and name not in volatile:
            if event.get("old") is None:
                state.attributes.pop(name, None)
            else:
                state.attributes[name] = event["old"]
        elif kind == "merged" and isinstance(event.get("new"), dict):
            for filled in event["new"].get("filled") or ():  # what the merged CI brought was not there before
                state.attributes.pop(filled, None)
        elif kind == "class" and event.get("old") is not None:
            state.ci_class = event["old"]
        elif kind == "status" and event.get("old") is not None:
            state.status = event["old"]
    return state


def _comparable(value: Any) -> Any:
    """Current values may be datetimes where history holds their ISO text."""
    return value.isoformat() if isinstance(value, datetime) else value


def diff(before: PastState, after: PastState) -> list[dict[str, Any]]:
    """Field-level differences between two states: class, status and every attribute."""
    changes = []
    fields: list[tuple[str, Any, Any]] = [
        ("class", before.ci_class, after.ci_class),
        ("status", before.status, after.status),
    ]
    for name in sorted(set(before.attributes) | set(after.attributes)):
        fields.append((name, before.attributes.get(name), after.attributes.get(name)))
    for name, old, new in fields:
        if _comparable(old) != _comparable(new):
            changes.append({"field": name, "from": _comparable(old), "to": _comparable(new)})
    return changes
