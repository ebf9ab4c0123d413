"""The service desk's rules are data: the priority matrix and the approvals a change needs."""

from __future__ import annotations

import tomllib
from typing import Any

import pytest

from schema.itsm import ChangeType, IncidentImpact, IncidentPriority, IncidentUrgency, RiskLevel
from schema.service_desk import ServiceDeskRulesError, build_service_desk_rules, load_service_desk_rules
from tests.conftest import REPO_ROOT

RAW = tomllib.loads((REPO_ROOT / "schema" / "service_desk.toml").read_text())


@pytest.mark.parametrize(
    ("impact", "urgency", "priority"),
    [("high", "high", "critical"), ("high", "low", "medium"), ("medium", "medium", "medium"), ("low", "low", "low")],
)
def test_priority_comes_from_impact_and_urgency(impact: str, urgency: str, priority: str) -> None:
    rules = load_service_desk_rules()
    assert rules.priority(IncidentImpact(impact), IncidentUrgency(urgency)) is IncidentPriority(priority)


def test_approvers_needed_by_type_and_risk() -> None:
    rules = load_service_desk_rules()
    assert rules.approvers_needed(ChangeType.STANDARD, None) == 0
    assert rules.approvers_needed(ChangeType.EMERGENCY, RiskLevel.HIGH) == 1
    assert rules.approvers_needed(ChangeType.NORMAL, RiskLevel.LOW) == 1
    assert rules.approvers_needed(ChangeType.NORMAL, RiskLevel.HIGH) == 2
    assert rules.approvers_needed(ChangeType.NORMAL, None) == 2  # not assessed: counted as high


@pytest.mark.parametrize(
    ("broken", "message"),
    [
        ({**RAW, "priority": {**RAW["priority"], "low": {"high": "medium"}}}, r"\[priority.low\] medium: missing"),
        ({**RAW, "priority": {**RAW["priority"], "low": {**RAW["priority"]["low"], "low": "p5"}}}, "one of critical"),
        ({**RAW, "approvals": {"standard": 0, "emergency": 1}}, r"\[approvals\] normal: missing"),
        ({**RAW, "approvals": {**RAW["approvals"], "normal": {"low": 1}}}, "medium, high missing"),
        ({**RAW, "approvals": {**RAW["approvals"], "emergency": -1}}, "0 to 10"),
    ],
)
def test_inconsistent_rules_are_refused_with_their_place(broken: dict[str, Any], message: str) -> None:
    with pytest.raises(ServiceDeskRulesError, match=message):
        build_service_desk_rules(broken)
