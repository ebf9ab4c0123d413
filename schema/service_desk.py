"""Service desk rules declared in ``service_desk.toml``: the priority matrix, approvals needed."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from schema.itsm import ChangeType, IncidentImpact, IncidentPriority, IncidentUrgency, RiskLevel


class ServiceDeskRulesError(ValueError):
    """service_desk.toml is incomplete or inconsistent; says where."""


@dataclass(frozen=True)
class IncidentTarget:
    """How soon an incident of a priority is answered (first taken in progress) and resolved."""

    response_minutes: float
    resolution_minutes: float


@dataclass(frozen=True)
class ServiceDeskRules:
    priorities: dict[tuple[IncidentImpact, IncidentUrgency], IncidentPriority]
    approvals: dict[ChangeType, dict[RiskLevel, int]]  # approvers needed, by type and risk
    incident_targets: dict[IncidentPriority, IncidentTarget]  # the default; a service may agree its own

    def priority(self, impact: IncidentImpact, urgency: IncidentUrgency) -> IncidentPriority:
        return self.priorities[(impact, urgency)]

    def approvers_needed(self, change_type: ChangeType, risk: RiskLevel | None) -> int:
        """How many people must approve; an unassessed normal change counts as high risk."""
        return self.approvals[change_type][risk or RiskLevel.HIGH]


def _count(value: Any, where: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= 10:
        raise ServiceDeskRulesError(f"service_desk.toml {where}: a number of approvers from 0 to 10")
    return value


def build_service_desk_rules(raw: dict[str, Any]) -> ServiceDeskRules:
    priorities = {}
    for impact in IncidentImpact:
        row = raw.get("priority", {}).get(impact.value, {})
        for urgency in IncidentUrgency:
            where = f"[priority.{impact.value}] {urgency.value}"
            try:
                priorities[(impact, urgency)] = IncidentPriority(row[urgency.value])
            except KeyError:
                raise ServiceDeskRulesError(f"service_desk.toml {where}: missing") from None
            except ValueError:
                allowed = ", ".join(p.value for p in IncidentPriority)
                raise ServiceDeskRulesError(f"service_desk.toml {where}: one of {allowed}") from None
    approvals: dict[ChangeType, dict[RiskLevel, int]] = {}
    declared = raw.get("approvals", {})
    for change_type in ChangeType:
        value = declared.get(change_type.value)
        if value is None:
            raise ServiceDeskRulesError(f"service_desk.toml [approvals] {change_type.value}: missing")
        if isinstance(value, dict):
            missing = [r.value for r in RiskLevel if r.value not in value]
            if missing:
                raise ServiceDeskRulesError(
                    f"service_desk.toml [approvals.{change_type.value}]: {', '.join(missing)} missing"
                )
            approvals[change_type] = {
                r: _count(value[r.value], f"[approvals.{change_type.value}] {r.value}") for r in RiskLevel
            }
        else:
            count = _count(value, f"[approvals] {change_type.value}")
            approvals[change_type] = dict.fromkeys(RiskLevel, count)
    return ServiceDeskRules(
        priorities=priorities, approvals=approvals, incident_targets=_incident_targets(raw.get("incident_targets", {}))
    )


def _minutes(value: Any, where: str) -> float:
    if not isinstance(value, int | float) or isinstance(value, bool) or not 0 < value <= 525_600:
        raise ServiceDeskRulesError(f"service_desk.toml {where}: minutes, more than 0 and at most a year")
    return float(value)


def _incident_targets(declared: dict[str, Any]) -> dict[IncidentPriority, IncidentTarget]:
    targets = {}
    for priority in IncidentPriority:
        row = declared.get(priority.value)
        if not isinstance(row, dict):
            raise ServiceDeskRulesError(f"service_desk.toml [incident_targets.{priority.value}]: missing")
        where = f"[incident_targets.{priority.value}]"
        targets[priority] = IncidentTarget(
            response_minutes=_minutes(row.get("response_minutes"), f"{where} response_minutes"),
            resolution_minutes=_minutes(row.get("resolution_minutes"), f"{where} resolution_minutes"),
        )
        if targets[priority].resolution_minutes < targets[priority].response_minutes:
            raise ServiceDeskRulesError(f"service_desk.toml {where}: resolution_minutes before response_minutes")
    return targets


@cache
def load_service_desk_rules() -> ServiceDeskRules:
    text = resources.files("schema").joinpath("service_desk.toml").read_text(encoding="utf-8")
    return build_service_desk_rules(tomllib.loads(text))
