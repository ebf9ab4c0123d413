"""Every legal and illegal transition of the ITSM state machines, and the risk rules."""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Any

import pytest

from cmdb_server.itsm import IllegalTransition, assess_risk, check_transition, overlaps
from schema.itsm import (
    CHANGE_TRANSITIONS,
    INCIDENT_TRANSITIONS,
    PROBLEM_TRANSITIONS,
    RELEASE_TRANSITIONS,
    ChangeType,
    RiskLevel,
)
from tests.conftest import REPO_ROOT

MACHINES: dict[str, Mapping[Any, tuple[Any, ...]]] = {
    "change": CHANGE_TRANSITIONS,
    "incident": INCIDENT_TRANSITIONS,
    "problem": PROBLEM_TRANSITIONS,
    "release": RELEASE_TRANSITIONS,
}
PAIRS = [(name, current, target) for name, machine in MACHINES.items() for current in machine for target in machine]


@pytest.mark.parametrize(("machine", "current", "target"), PAIRS, ids=lambda v: getattr(v, "value", v))
def test_every_transition_is_allowed_exactly_when_declared(machine: str, current: StrEnum, target: StrEnum) -> None:
    transitions = MACHINES[machine]
    if target in transitions[current]:
        assert check_transition(transitions, current, target.value) is target
    else:
        with pytest.raises(IllegalTransition) as caught:
            check_transition(transitions, current, target.value)
        assert caught.value.allowed == [s.value for s in transitions[current]]


def test_every_state_is_reachable_from_the_first() -> None:
    for machine in MACHINES.values():
        first = next(iter(machine))
        seen, frontier = {first}, [first]
        while frontier:
            for nxt in machine[frontier.pop()]:
                if nxt not in seen:
                    seen.add(nxt)
                    frontier.append(nxt)
        assert seen == set(machine)


def test_an_unknown_target_names_the_allowed_states() -> None:
    with pytest.raises(IllegalTransition, match="allowed next: submitted, cancelled"):
        check_transition(CHANGE_TRANSITIONS, next(iter(CHANGE_TRANSITIONS)), "teleported")


def test_windows_overlap_only_when_they_share_time() -> None:
    from datetime import UTC, datetime

    def t(hour: int) -> datetime:
        return datetime(2026, 12, 1, hour, tzinfo=UTC)

    assert overlaps(t(1), t(3), t(2), t(4))
    assert not overlaps(t(1), t(2), t(2), t(3))  # back to back is no overlap


def test_risk_comes_with_its_reasons() -> None:
    risk = assess_risk(
        ChangeType.NORMAL,
        [{"name": "web shop", "criticality": "high", "state": "down"}],
        affected_count=30,
        collisions=[{"id": "CHG0002"}],
        freeze_conflicts=[],
        open_incidents=[],
    )
    assert risk.level is RiskLevel.HIGH
    assert risk.score == 1 + 2 + 1 + 2
    assert risk.reasons == [
        "normal change (+1)",
        "business service web shop (high) down (+2)",
        "30 CIs affected (+1)",
        "collides with CHG0002 (+2)",
    ]
    assert assess_risk(ChangeType.STANDARD, [], 1, [], [], []).level is RiskLevel.LOW


def test_a_change_taking_a_critical_service_fully_down_is_at_least_high() -> None:
    critical_down = [{"name": "payroll", "criticality": "critical", "state": "down"}]
    risk = assess_risk(ChangeType.STANDARD, critical_down, 3, [], [], [])
    assert risk.score == 3  # a MEDIUM score...
    assert risk.level is RiskLevel.HIGH  # ...raised by the floor, which says why
    assert risk.reasons[-1] == "takes the critical business service payroll down: at least high"
    degraded = [{"name": "payroll", "criticality": "critical", "state": "degraded"}]
    assert assess_risk(ChangeType.STANDARD, degraded, 3, [], [], []).level is RiskLevel.MEDIUM


def test_risk_weights_are_data_and_checked() -> None:
    import tomllib

    from schema.risk import RiskRulesError, build_risk_rules

    raw = tomllib.loads((REPO_ROOT / "schema" / "risk.toml").read_text())
    lenient = build_risk_rules({**raw, "floors": {}, "levels": {"high": 50, "medium": 40}})
    critical_down = [{"name": "payroll", "criticality": "critical", "state": "down"}]
    assert assess_risk(ChangeType.NORMAL, critical_down, 3, [], [], [], lenient).level is RiskLevel.LOW
    for broken, message in (
        ({**raw, "type": {"normal": 1}}, "standard, emergency are missing"),
        ({**raw, "floors": {"vital": "high"}}, "not a criticality"),
        ({**raw, "levels": {"high": 1, "medium": 3}}, "0 < medium <= high"),
        ({**raw, "findings": {**raw["findings"], "collision": -1}}, "collision"),
    ):
        with pytest.raises(RiskRulesError, match=message):
            build_risk_rules(broken)
