"""How impact analysis, change assessment, release readiness and incident suspects look on the wire."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from cmdb_server.models.common import HistoryEvent, Open


class PathStep(BaseModel):
    """One CI on the way from a root to an affected CI, and the relation that led there."""

    model_config = ConfigDict(populate_by_name=True)

    uid: str
    name: str | None
    class_name: str | None = Field(alias="class")
    via: str | None = Field(description="The relationship type followed; null at the root.")
    direction: str | None = Field(description="out or in: along the relation or against it; null at the root.")


class AffectedCI(Open):
    """An affected CI (a business service also has its criticality)."""

    uid: str
    name: str | None
    class_name: str | None = Field(alias="class")
    state: str | None = Field(description="down or degraded; null when walking up (what it depends on).")
    depth: int
    path: list[PathStep]


class ImpactResult(Open):
    roots: list[PathStep]
    direction: str = Field(description="down: what the roots failing affects; up: what they depend on.")
    depth: int
    total: int
    by_class: dict[str, int]
    by_state: dict[str, int] | None = Field(None, description="down: how many CIs are down or degraded.")
    business_services: list[AffectedCI] | None = Field(None, description="down: the business services affected.")
    items: list[AffectedCI]


class AffectedSummary(Open):
    total: int
    by_class: dict[str, int] | None = None
    items: list[AffectedCI] | None = None


class Risk(BaseModel):
    level: str
    score: int
    reasons: list[str]


class Assessment(Open):
    """A change's assessment: what it touches, what it collides with, and its risk."""

    change: str
    revision: int
    assessed_at: datetime
    targets: list[PathStep]
    affected: AffectedSummary
    business_services: list[AffectedCI]
    open_incidents: list[dict[str, Any]]
    open_problems: list[dict[str, Any]]
    collisions: list[dict[str, Any]]
    freeze_conflicts: list[dict[str, Any]]
    risk: Risk


class ReleaseAffected(BaseModel):
    release: str
    targets: list[PathStep]
    affected: AffectedSummary
    business_services: list[AffectedCI]
    ready: bool
    readiness_problems: list[str]


class SuspectStep(BaseModel):
    uid: str
    name: str | None
    via: str | None
    direction: str | None


class ChangeRef(BaseModel):
    id: str
    title: str
    state: str


class Suspect(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    uid: str
    name: str | None
    class_name: str | None = Field(alias="class")
    distance: int = Field(description="Relations between it and an affected CI.")
    latest: datetime
    hours_before: float
    path: list[SuspectStep]
    events: list[HistoryEvent]
    changes: list[ChangeRef]


class IncidentSuspects(BaseModel):
    incident: str
    opened_at: datetime
    since: datetime
    suspects: list[Suspect]
