"""Reconciliation: which source's value an attribute keeps, and what changed (pure).

Each attribute of a CI remembers the kind of source that set it (``_src_<attribute>``)
and each CI when each kind of source last reported it (``_seen_<kind>``); for the manual
source, when someone last set its attributes by hand (``_seen_manual``). A source may
set an attribute when nobody holds it, when it ranks at least as high in the class's
precedence (``schema/ci_classes.toml``) as the holder, or when the holder has not
reported this CI within the stale window, so a retired agent does not pin values forever
and a hand edit holds against discovery and imports for the stale window after it.
A locked attribute (``_lock_<attribute>``) keeps its value whatever the precedence.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from schema import CIClass, SourceKind

PROVENANCE_PREFIX = "_src_"
SEEN_PREFIX = "_seen_"
LOCK_PREFIX = "_lock_"  # who locked the attribute against discovery (a manual edit of a lockable one)
DRIFT_PREFIX = "_drift_"  # what discovery last saw of a locked attribute that disagrees: JSON {value, source, since}


def drift_value(value: Any, source: str, since: datetime) -> str:
    """The stored form of a drift observation."""
    text = to_json({"value": value, "source": source, "since": since})
    assert text is not None
    return text


def seen_property(kind: SourceKind) -> str:
    return f"{SEEN_PREFIX}{kind.value}"


MANUAL_SEEN = seen_property(SourceKind.MANUAL)
"""When the CI was last edited by hand: precedence reads it like a source's last report, but
a hand edit is no discovery (the stale check and the audit leave it out)."""


@dataclass(frozen=True)
class AttributeChange:
    field: str
    old: Any
    new: Any


@dataclass
class Merge:
    """What to write on a CI node, and the changes to record as history; ``drift``: locked
    attributes the source saw otherwise (old: the locked value, new: what it saw), when what
    it saw is news."""

    properties: dict[str, Any]
    changes: list[AttributeChange]
    drift: list[AttributeChange] = field(default_factory=list)


def native(value: Any) -> Any:
    """A value read from Neo4j as plain Python (neo4j.time types become datetime)."""
    to_native = getattr(value, "to_native", None)
    return to_native() if callable(to_native) else value


def to_json(value: Any) -> str | None:
    """History keeps old and new values as JSON text: one property type for any value."""
    if value is None:
        return None
    return json.dumps(value, default=lambda v: v.isoformat() if isinstance(v, date | datetime) else str(v))


def decode_event(event: dict[str, Any]) -> dict[str, Any]:
    """An Event as the API shows it: old and new values decoded from their JSON text."""
    for key in ("old", "new"):
        value = event.get(key)
        event[key] = json.loads(value) if value is not None else None
    return event


def _rank(ci_class: CIClass, kind: SourceKind | str) -> int:
    try:
        return ci_class.precedence.index(SourceKind(kind))
    except ValueError:
        return len(ci_class.precedence)


def may_set(
    ci_class: CIClass,
    current: Mapping[str, Any],
    attribute: str,
    kind: SourceKind,
    now: datetime,
    stale_after: timedelta,
) -> bool:
    holder = current.get(PROVENANCE_PREFIX + attribute)
    if holder is None or _rank(ci_class, kind) <= _rank(ci_class, holder):
        return True
    holder_seen = native(current.get(SEEN_PREFIX + str(holder)))
    return holder_seen is None or holder_seen < now - stale_after


def merge_attributes(
    ci_class: CIClass,
    current: Mapping[str, Any],
    incoming: Mapping[str, Any],
    kind: SourceKind,
    now: datetime,
    stale_after: timedelta,
) -> Merge:
    """Merge a record's attributes into a CI's current properties by source precedence."""
    merge = Merge(properties={}, changes=[])
    for attribute, new in incoming.items():
        if current.get(LOCK_PREFIX + attribute) is not None and kind is not SourceKind.MANUAL:
            _observe_locked(merge, current, attribute, new, kind, now)
            continue
        if not may_set(ci_class, current, attribute, kind, now, stale_after):
            continue
        old = native(current.get(attribute))
        if old != new:
            merge.properties[attribute] = new
            merge.changes.append(AttributeChange(attribute, old, new))
        if current.get(PROVENANCE_PREFIX + attribute) != kind.value:
            merge.properties[PROVENANCE_PREFIX + attribute] = kind.value
    return merge


def _observe_locked(
    merge: Merge, current: Mapping[str, Any], attribute: str, seen: Any, kind: SourceKind, now: datetime
) -> None:
    """A source reports a locked attribute: the value stays; a disagreement is kept as drift
    (news once per observed value), an agreement clears the drift."""
    locked = native(current.get(attribute))
    stored = current.get(DRIFT_PREFIX + attribute)
    if seen == locked:
        if stored is not None:
            merge.properties[DRIFT_PREFIX + attribute] = None
        return
    seen_as_stored = json.loads(to_json(seen) or "null")  # a time compares as its ISO text
    if stored is None or json.loads(stored).get("value") != seen_as_stored:
        merge.properties[DRIFT_PREFIX + attribute] = drift_value(seen, kind.value, now)
        merge.drift.append(AttributeChange(attribute, locked, seen))
