"""ITSM rules (pure): transitions, window overlaps, and the risk of a change with its reasons."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, TypeVar

from schema.itsm import ChangeType, RiskLevel
from schema.risk import RiskRules, load_risk_rules

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


RANK = {RiskLevel.LOW: 0, RiskLevel.MEDIUM: 1, RiskLevel.HIGH: 2}


def assess_risk(
    change_type: ChangeType,
    services: Sequence[Mapping[str, Any]],
    affected_count: int,
    collisions: Sequence[Mapping[str, Any]],
    freeze_conflicts: Sequence[Mapping[str, Any]],
    open_incidents: Sequence[Mapping[str, Any]],
    rules: RiskRules | None = None,
) -> Risk:
    """A score from what the assessment found, as schema/risk.toml weighs it; each point comes
    with the reason that gave it, and a floor (a critical service down) with its reason too."""
    rules = rules or load_risk_rules()
    reasons: list[str] = []
    score = rules.type_points[change_type]
    if score:
        reasons.append(f"{change_type.value} change (+{score})")
    floor = RiskLevel.LOW
    floor_reasons = []
    for service in services:
        criticality = str(service.get("criticality") or "low")
        weight = rules.criticality_points.get(criticality, 0)
        if service.get("state") == "degraded":
            weight = max(0, weight - rules.degraded_discount)
        elif criticality in rules.floors and RANK[rules.floors[criticality]] > RANK[floor]:
            floor = rules.floors[criticality]
            floor_reasons = [f"takes the {criticality} business service {service['name']} down: at least {floor.value}"]
        if weight:
            score += weight
            reasons.append(
                f"business service {service['name']} ({service.get('criticality')}) {service['state']} (+{weight})"
            )
    if affected_count > rules.many_affected_above and rules.many_affected:
        score += rules.many_affected
        reasons.append(f"{affected_count} CIs affected (+{rules.many_affected})")
    if collisions and rules.collision:
        score += rules.collision
        reasons.append(f"collides with {', '.join(c['id'] for c in collisions)} (+{rules.collision})")
    if freeze_conflicts and rules.freeze_conflict:
        score += rules.freeze_conflict
        reasons.append(
            f"inside freeze window {', '.join(f['name'] for f in freeze_conflicts)} (+{rules.freeze_conflict})"
        )
    if open_incidents and rules.open_incidents:
        score += rules.open_incidents
        reasons.append(f"{len(open_incidents)} open incident(s) on affected CIs (+{rules.open_incidents})")
    level = rules.level_of(score)
    if RANK[floor] > RANK[level]:
        level = floor
        reasons += floor_reasons
    return Risk(level=level, score=score, reasons=reasons)


def approval_pushback(assessment: Mapping[str, Any] | None) -> list[str]:
    """Why approving a change needs an override reason: its assessment found high risk, a
    collision or a freeze conflict (nothing when it has no assessment)."""
    if not assessment:
        return []
    reasons = []
    risk = assessment.get("risk") or {}
    if risk.get("level") == RiskLevel.HIGH.value:
        reasons.append(f"risk HIGH: {'; '.join(risk.get('reasons') or [])}")
    for collision in assessment.get("collisions") or []:
        shared = ", ".join(str(s.get("name") or s.get("uid")) for s in collision.get("shared") or [])
        reasons.append(f"collides with {collision['id']} on {shared}")
    for freeze in assessment.get("freeze_conflicts") or []:
        reasons.append(f"inside freeze window {freeze['name']}")
    return reasons


def approvers_of(approvals: Sequence[Mapping[str, Any]], revision: int) -> list[str]:
    """The approvers (by name) whose latest decision on this revision of a change approves it;
    one approver is one token, whatever names tokens carry."""
    latest: dict[str, tuple[str, str]] = {}
    for approval in approvals:
        if approval.get("revision") == revision:
            who = str(approval.get("token_id") or approval["by"])
            latest[who] = (str(approval["by"]), str(approval["decision"]))
    return sorted(by for by, decision in latest.values() if decision == "approve")


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
