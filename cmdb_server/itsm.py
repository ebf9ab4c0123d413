"""ITSM rules (pure): transitions, window overlaps, and the risk of a change with its reasons."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, TypeVar

from schema.itsm import ChangeType, RiskLevel

S = TypeVar("S", bound=StrEnum)


class IllegalTransition(ValueError):
    def __init__(self, current: StrEnum, target: str, allowed: Sequence[StrEnum]) -> None:
        names = ", ".join(a.value for a in allowed) or "none: it is final"
        super().__init__(f"cannot go from {current.value} to {target}; allowed next: {names}")
        self.current = current
        self.allowed = [a.value for a in allowed]


def check_transition(machine: Mapping[S, tuple[S, ...]], current: S, target: str) -> S:
    """The target state if the machine allows it from ``current``; IllegalTransition otherwise."""
    allowed = machine[current]
    for state in allowed:
        if state.value == target:
            return state
    raise IllegalTransition(current, target, allowed)


def overlaps(start_a: datetime, end_a: datetime, start_b: datetime, end_b: datetime) -> bool:
    return start_a < end_b and start_b < end_a


@dataclass
class Risk:
    level: RiskLevel
    score: int
    reasons: list[str] = field(default_factory=list)


CRITICALITY_WEIGHT = {"critical": 3, "high": 2, "medium": 1, "low": 0}
TYPE_WEIGHT = {ChangeType.EMERGENCY: 2, ChangeType.NORMAL: 1, ChangeType.STANDARD: 0}


def assess_risk(
    change_type: ChangeType,
    services: Sequence[Mapping[str, Any]],
    affected_count: int,
    collisions: Sequence[Mapping[str, Any]],
    freeze_conflicts: Sequence[Mapping[str, Any]],
    open_incidents: Sequence[Mapping[str, Any]],
) -> Risk:
    """A score from what the assessment found; each point comes with the reason that gave it."""
    reasons: list[str] = []
    score = TYPE_WEIGHT[change_type]
    if score:
        reasons.append(f"{change_type.value} change (+{score})")
    for service in services:
        weight = CRITICALITY_WEIGHT.get(str(service.get("criticality") or "low"), 0)
        if service.get("state") == "degraded":
            weight = max(0, weight - 1)
        if weight:
            score += weight
            reasons.append(
                f"business service {service['name']} ({service.get('criticality')}) {service['state']} (+{weight})"
            )
    if affected_count > 20:
        score += 1
        reasons.append(f"{affected_count} CIs affected (+1)")
    if collisions:
        score += 2
        reasons.append(f"collides with {', '.join(c['id'] for c in collisions)} (+2)")
    if freeze_conflicts:
        score += 3
        reasons.append(f"inside freeze window {', '.join(f['name'] for f in freeze_conflicts)} (+3)")
    if open_incidents:
        score += 1
        reasons.append(f"{len(open_incidents)} open incident(s) on affected CIs (+1)")
    level = RiskLevel.HIGH if score >= 5 else RiskLevel.MEDIUM if score >= 2 else RiskLevel.LOW
    return Risk(level=level, score=score, reasons=reasons)


def authorised_by(at: datetime, scope: set[str], authorising: list[dict[str, Any]]) -> list[str]:
    """The authorising changes (id, window, target uids) that cover a change recorded at ``at``
    on a CI of ``scope`` (the CI and its parent): a change targets one and its window holds ``at``."""
    return [c["id"] for c in authorising if scope & set(c["targets"]) and c["start"] <= at <= c["end"]]


DISCOVERED_CHANGE_KINDS = frozenset({"attribute", "relation_started", "relation_ended", "class"})
"""History events that say the configuration changed, when discovery recorded them."""

NOT_A_CHANGE = frozenset({"learned", "takeover"})
"""How an event can record news of the record without a change of the thing (``change``):
``learned``: a kind of source's first sight of a CI another kind already knew (what it adds,
values and relations, is news of the record); ``takeover``: a source replaces another
source's value of an attribute by precedence."""


def is_discovered_change(event: dict[str, Any]) -> bool:
    """A change of the configuration that discovery saw, which an authorised change should cover."""
    return (
        event.get("kind") in DISCOVERED_CHANGE_KINDS
        and not str(event.get("source", "")).startswith("manual:")
        and event.get("change") not in NOT_A_CHANGE
    )
