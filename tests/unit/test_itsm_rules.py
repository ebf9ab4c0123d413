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
