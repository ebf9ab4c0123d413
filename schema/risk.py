"""Change risk weights, declared in ``risk.toml`` (data, documented there)."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from schema.itsm import ChangeType, RiskLevel


class RiskRulesError(ValueError):
    """risk.toml is inconsistent; says where."""


@dataclass(frozen=True)
class RiskRules:
    type_points: dict[ChangeType, int]
    criticality_points: dict[str, int]
    degraded_discount: int
    many_affected_above: int
    many_affected: int
    collision: int
    freeze_conflict: int
    open_incidents: int
    high_from: int
    medium_from: int
    floors: dict[str, RiskLevel]  # criticality of a service taken down -> the least level

    def level_of(self, score: int) -> RiskLevel:
        return (
            RiskLevel.HIGH
            if score >= self.high_from
            else RiskLevel.MEDIUM
            if score >= self.medium_from
            else RiskLevel.LOW
        )


def _int(raw: dict[str, Any], key: str, where: str) -> int:
    value = raw.get(key)
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise RiskRulesError(f"risk.toml [{where}] {key}: a whole number of points, 0 or more")
    return value


def build_risk_rules(raw: dict[str, Any]) -> RiskRules:
    types = raw.get("type", {})
    missing = [t.value for t in ChangeType if t.value not in types]
    if missing:
        raise RiskRulesError(f"risk.toml [type]: points for {', '.join(missing)} are missing")
    findings, levels = raw.get("findings", {}), raw.get("levels", {})
    criticality = {k: _int(raw["service_criticality"], k, "service_criticality") for k in raw["service_criticality"]}
    floors = {}
    for name, level in raw.get("floors", {}).items():
        if name not in criticality:
            raise RiskRulesError(f"risk.toml [floors] {name}: not a criticality of [service_criticality]")
        try:
            floors[name] = RiskLevel(level)
        except ValueError:
            raise RiskRulesError(f"risk.toml [floors] {name}: {level!r} is not a risk level") from None
    rules = RiskRules(
        type_points={t: _int(types, t.value, "type") for t in ChangeType},
        criticality_points=criticality,
        degraded_discount=_int(findings, "degraded_discount", "findings"),
        many_affected_above=_int(findings, "many_affected_above", "findings"),
        many_affected=_int(findings, "many_affected", "findings"),
        collision=_int(findings, "collision", "findings"),
        freeze_conflict=_int(findings, "freeze_conflict", "findings"),
        open_incidents=_int(findings, "open_incidents", "findings"),
        high_from=_int(levels, "high", "levels"),
        medium_from=_int(levels, "medium", "levels"),
        floors=floors,
    )
    if not 0 < rules.medium_from <= rules.high_from:
        raise RiskRulesError("risk.toml [levels]: 0 < medium <= high")
    return rules


@cache
def load_risk_rules() -> RiskRules:
    return build_risk_rules(tomllib.loads(resources.files("schema").joinpath("risk.toml").read_text(encoding="utf-8")))
