"""What the ITSM endpoints accept."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from cmdb_server.api.params import Instant
from cmdb_server.models.common import HistoryEvent, Open, Page
from schema.itsm import ChangeType, IncidentImpact, IncidentPriority, IncidentUrgency


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Window(_Strict):
    @staticmethod
    def check(start: datetime | None, end: datetime | None, names: tuple[str, str]) -> None:
        """The end after the start (each is an ``Instant``: with a time zone, within the limits)."""
        if start is not None and end is not None and end <= start:
            raise ValueError(f"{names[1]} must be after {names[0]}")


PLAN = 20_000
"""Longest plan text, in characters."""


class ChangeCreate(_Strict):
    title: str = Field(min_length=1, max_length=300)
    description: str = Field("", max_length=20_000)
    type: ChangeType = ChangeType.NORMAL
    planned_start: Instant
    planned_end: Instant
    targets: list[str] = Field(min_length=1, max_length=1000, description="uids of the CIs the change touches")
    implementation_plan: str = Field("", max_length=PLAN, description="How it will be done, step by step.")
    backout_plan: str = Field("", max_length=PLAN, description="How to undo it if it goes wrong.")
    test_plan: str = Field("", max_length=PLAN, description="How to tell that it worked.")

    @field_validator("planned_end")
    @classmethod
    def _after_start(cls, end: datetime, info: ValidationInfo) -> datetime:
        Window.check(info.data.get("planned_start"), end, ("planned_start", "planned_end"))
        return end


class ChangeUpdate(_Strict):
    title: str | None = Field(None, min_length=1, max_length=300)
    description: str | None = Field(None, max_length=20_000)
    planned_start: Instant | None = None
    planned_end: Instant | None = None
    targets: list[str] | None = Field(
        None, min_length=1, max_length=1000, description="The CIs it touches, all of them (until it is approved)."
    )
    implementation_plan: str | None = Field(None, max_length=PLAN)
    backout_plan: str | None = Field(None, max_length=PLAN)
    test_plan: str | None = Field(None, max_length=PLAN)


OVERRIDE_DESCRIPTION = (
    "Why approve although the assessment found high risk, a collision or a freeze conflict (kept in the history)."
)


class Transition(_Strict):
    to: str = Field(min_length=1, max_length=50, description="The next state.")
    note: str = Field("", max_length=5000, description="Why; the implementation result when closing.")
    override_reason: str | None = Field(None, min_length=1, max_length=2000, description=OVERRIDE_DESCRIPTION)


class ApprovalDecision(StrEnum):
    APPROVE = "approve"
    REJECT = "reject"


class ApprovalRequest(_Strict):
    decision: ApprovalDecision
    comment: str = Field("", max_length=5000, description="What the approver says with the decision.")
    override_reason: str | None = Field(None, min_length=1, max_length=2000, description=OVERRIDE_DESCRIPTION)


class Approval(BaseModel):
    """One approver's decision on one revision of a change."""

    by: str
    at: datetime
    decision: ApprovalDecision
    revision: int = Field(description="The revision decided on: an edit makes earlier approvals stale.")
    comment: str = ""
    override_reason: str | None = None
    overridden: list[str] = Field(default_factory=list, description="The assessment's findings it overrode.")


class IncidentCreate(_Strict):
    title: str = Field(min_length=1, max_length=300)
    priority: IncidentPriority | None = Field(
        None, description="Set it directly, or give impact and urgency (medium when neither)."
    )
    impact: IncidentImpact | None = Field(None, description="How much of the business it hurts.")
    urgency: IncidentUrgency | None = Field(None, description="How soon that hurts.")
    assignee: str | None = Field(None, min_length=1, max_length=200, description="Who works on it.")
    support_group: str | None = Field(None, min_length=1, max_length=200, description="The team that owns it.")
    affected: list[str] = Field(min_length=1, max_length=1000, description="uids of the affected CIs")
    problem: str | None = Field(
        None, min_length=1, max_length=40, description="id of the problem this incident is an instance of"
    )
    opened_at: Instant | None = Field(None, description="When it started; now by default, never in the future.")


class ProblemCreate(_Strict):
    title: str = Field(min_length=1, max_length=300)
    suspects: list[str] = Field(default_factory=list, max_length=1000, description="uids of suspected root-cause CIs")


class ReleaseCreate(_Strict):
    name: str = Field(min_length=1, max_length=200)
    version: str = Field(min_length=1, max_length=100)
    changes: list[str] = Field(default_factory=list, max_length=1000, description="ids of the changes it bundles")
    targets: list[str] = Field(default_factory=list, max_length=1000, description="uids of the CIs it deploys to")
    window_start: Instant
    window_end: Instant

    @field_validator("window_end")
    @classmethod
    def _after_start(cls, end: datetime, info: ValidationInfo) -> datetime:
        Window.check(info.data.get("window_start"), end, ("window_start", "window_end"))
        return end


class FreezeUpdate(_Strict):
    name: str | None = Field(None, min_length=1, max_length=200)
    start: Instant | None = None
    end: Instant | None = None
    services: list[str] | None = Field(
        None, max_length=1000, description="The business services it applies to, all of them ([] : every service)."
    )


class FreezeDeleted(BaseModel):
    id: str
    deleted: bool


class FreezeCreate(_Strict):
    name: str = Field(min_length=1, max_length=200)
    start: Instant
    end: Instant
    services: list[str] = Field(
        default_factory=list, max_length=1000, description="business services it is limited to (all if empty)"
    )

    @field_validator("end")
    @classmethod
    def _after_start(cls, end: datetime, info: ValidationInfo) -> datetime:
        Window.check(info.data.get("start"), end, ("start", "end"))
        return end


# What the ITSM endpoints answer. A record has its own fields, those every record has, and the
# CIs and records it links; optional fields (a change's result, approver, risk...) come when set.


class LinkedCI(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    type: str = Field(description="The link: TARGETS, AFFECTS, SUSPECTS, DEPLOYS_TO, APPLIES_TO.")
    uid: str
    name: str | None
    class_name: str | None = Field(alias="class")


class LinkedRecord(BaseModel):
    type: str = Field(description="The link: BUNDLES (a change), INSTANCE_OF (a problem).")
    id: str


class RecordPublic(Open):
    id: str = Field(description="CHG0001, INC0001, PRB0001, REL0001, FRZ0001...")
    revision: int
    created_at: datetime
    created_by: str
    updated_at: datetime
    note: str | None = Field(None, description="Why the last transition was made.")
    cis: list[LinkedCI]
    records: list[LinkedRecord]


class ChangePublic(RecordPublic):
    title: str
    description: str
    type: ChangeType
    state: str
    planned_start: datetime
    planned_end: datetime
    risk: str | None = Field(None, description="The last assessment's risk level.")
    assessment: dict[str, Any] | None = Field(None, description="The last assessment (as POST .../assessment answers).")
    assessment_current: bool = Field(description="Whether the last assessment is of the change as it is now.")
    allowed_next: list[str] = Field(description="The states it may move to.")
    implementation_plan: str = ""
    backout_plan: str = ""
    test_plan: str = ""
    approvals: list[Approval] = Field(default_factory=list, description="Every decision, oldest first.")
    approvals_needed: int = Field(
        description="Approvers its type and risk need (schema/service_desk.toml); an unassessed normal change counts "
        "as high risk."
    )
    approved_by: list[str] = Field(default_factory=list, description="Who approves its current revision.")


class ChangeSummary(Open):
    """A change in a list (its own fields only)."""

    id: str
    title: str
    state: str


class ChangeList(Page):
    items: list[ChangeSummary]


class FreezePublic(RecordPublic):
    name: str
    start: datetime
    end: datetime


class FreezeSummary(Open):
    id: str
    name: str
    start: datetime
    end: datetime


class FreezeList(BaseModel):
    items: list[FreezeSummary]


class IncidentPublic(RecordPublic):
    title: str
    priority: IncidentPriority
    impact: IncidentImpact | None = Field(None, description="With urgency, it gives the priority (the matrix).")
    urgency: IncidentUrgency | None = None
    assignee: str | None = None
    support_group: str | None = None
    status: str
    opened_at: datetime


class IncidentSummary(Open):
    id: str
    title: str
    priority: IncidentPriority
    status: str
    opened_at: datetime


class IncidentList(Page):
    items: list[IncidentSummary]


class IncidentUpdate(_Strict):
    title: str | None = Field(None, min_length=1, max_length=300)
    impact: IncidentImpact | None = None
    urgency: IncidentUrgency | None = None
    assignee: str | None = Field(None, min_length=1, max_length=200, description="Who works on it.")
    support_group: str | None = Field(None, min_length=1, max_length=200, description="The team that owns it.")
    problem: str | None = Field(None, min_length=1, max_length=40, description="The problem it is an instance of.")


class ProblemSummary(Open):
    id: str
    title: str
    status: str


class ProblemList(Page):
    items: list[ProblemSummary]


class ProblemUpdate(_Strict):
    title: str | None = Field(None, min_length=1, max_length=300)
    root_cause: str | None = Field(None, max_length=20_000, description="What causes it, once known.")
    workaround: str | None = Field(None, max_length=20_000, description="How to get by until it is fixed.")
    assignee: str | None = Field(None, min_length=1, max_length=200)
    support_group: str | None = Field(None, min_length=1, max_length=200)


class ReleaseSummary(Open):
    id: str
    name: str
    version: str
    state: str


class ReleaseList(Page):
    items: list[ReleaseSummary]


class ProblemIncident(BaseModel):
    id: str
    title: str
    status: str


class ProblemPublic(RecordPublic):
    title: str
    status: str
    known_error: bool
    root_cause: str | None = None
    workaround: str | None = None
    assignee: str | None = None
    support_group: str | None = None
    opened_at: datetime
    incidents: list[ProblemIncident] | None = Field(None, description="GET: the incidents that are instances of it.")


class ReleasePublic(RecordPublic):
    name: str
    version: str
    state: str
    window_start: datetime
    window_end: datetime


class RecordHistory(BaseModel):
    id: str
    items: list[HistoryEvent]
    total: int
