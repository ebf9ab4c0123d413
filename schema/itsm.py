"""ITSM records: their closed sets and state machines, declared once (data).

Changes, incidents, problems and releases are nodes linked to CIs; every transition a
record may make is listed here, and the API refuses the others with the allowed ones.
"""

from __future__ import annotations

from enum import StrEnum

RECORD_LABELS = ("Change", "Incident", "Problem", "Release", "FreezeWindow")
"""Node labels of ITSM records; each has a unique readable ``id`` (CHG0001...)."""


class ChangeType(StrEnum):
    STANDARD = "standard"  # pre-authorised: may be approved without an assessment
    NORMAL = "normal"  # assessed, then approved by a change manager
    EMERGENCY = "emergency"  # may be approved first and assessed after


class ChangeState(StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    ASSESSED = "assessed"
    APPROVED = "approved"
    IMPLEMENTING = "implementing"
    IMPLEMENTED = "implemented"
    FAILED = "failed"
    CLOSED = "closed"
    REJECTED = "rejected"
    CANCELLED = "cancelled"


CHANGE_TRANSITIONS: dict[ChangeState, tuple[ChangeState, ...]] = {
    ChangeState.DRAFT: (ChangeState.SUBMITTED, ChangeState.CANCELLED),
    ChangeState.SUBMITTED: (ChangeState.ASSESSED, ChangeState.APPROVED, ChangeState.REJECTED, ChangeState.CANCELLED),
    ChangeState.ASSESSED: (ChangeState.APPROVED, ChangeState.REJECTED, ChangeState.CANCELLED),
    ChangeState.APPROVED: (ChangeState.IMPLEMENTING, ChangeState.CANCELLED),
    ChangeState.IMPLEMENTING: (ChangeState.IMPLEMENTED, ChangeState.FAILED),
    ChangeState.IMPLEMENTED: (ChangeState.CLOSED,),
    ChangeState.FAILED: (ChangeState.CLOSED,),
    ChangeState.CLOSED: (),
    ChangeState.REJECTED: (),
    ChangeState.CANCELLED: (),
}
"""Legal next states. ``assessed`` is reached by POST .../assessment, not by a transition."""

CHANGE_DECISIONS = frozenset({ChangeState.APPROVED, ChangeState.REJECTED})
"""Transitions only a change manager (or an admin) may make."""

CHANGE_OPEN = frozenset({ChangeState.SUBMITTED, ChangeState.ASSESSED, ChangeState.APPROVED, ChangeState.IMPLEMENTING})
"""Changes that may still collide with others."""

CHANGE_AUTHORISED = frozenset(
    {ChangeState.APPROVED, ChangeState.IMPLEMENTING, ChangeState.IMPLEMENTED, ChangeState.CLOSED}
)
"""Changes that authorise what happened to their targets within their window."""


class IncidentStatus(StrEnum):
    NEW = "new"
    IN_PROGRESS = "in_progress"
    RESOLVED = "resolved"
    CLOSED = "closed"


INCIDENT_TRANSITIONS: dict[IncidentStatus, tuple[IncidentStatus, ...]] = {
    IncidentStatus.NEW: (IncidentStatus.IN_PROGRESS, IncidentStatus.RESOLVED),
    IncidentStatus.IN_PROGRESS: (IncidentStatus.RESOLVED,),
    IncidentStatus.RESOLVED: (IncidentStatus.CLOSED, IncidentStatus.IN_PROGRESS),  # reopened
    IncidentStatus.CLOSED: (),
}
INCIDENT_OPEN = frozenset({IncidentStatus.NEW, IncidentStatus.IN_PROGRESS})


class IncidentPriority(StrEnum):
    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


class IncidentImpact(StrEnum):
    """How much of the business an incident hurts (with urgency, it gives the priority)."""

    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


class IncidentUrgency(StrEnum):
    """How soon an incident's effect hurts the business."""

    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


class ProblemStatus(StrEnum):
    OPEN = "open"
    KNOWN_ERROR = "known_error"
    RESOLVED = "resolved"
    CLOSED = "closed"


PROBLEM_TRANSITIONS: dict[ProblemStatus, tuple[ProblemStatus, ...]] = {
    ProblemStatus.OPEN: (ProblemStatus.KNOWN_ERROR, ProblemStatus.RESOLVED),
    ProblemStatus.KNOWN_ERROR: (ProblemStatus.RESOLVED,),
    ProblemStatus.RESOLVED: (ProblemStatus.CLOSED, ProblemStatus.OPEN),
    ProblemStatus.CLOSED: (),
}
PROBLEM_OPEN = frozenset({ProblemStatus.OPEN, ProblemStatus.KNOWN_ERROR})


class ReleaseState(StrEnum):
    PLANNED = "planned"
    APPROVED = "approved"
    DEPLOYING = "deploying"
    DEPLOYED = "deployed"
    FAILED = "failed"
    CLOSED = "closed"
    CANCELLED = "cancelled"


RELEASE_TRANSITIONS: dict[ReleaseState, tuple[ReleaseState, ...]] = {
    ReleaseState.PLANNED: (ReleaseState.APPROVED, ReleaseState.CANCELLED),
    ReleaseState.APPROVED: (ReleaseState.DEPLOYING, ReleaseState.CANCELLED),
    ReleaseState.DEPLOYING: (ReleaseState.DEPLOYED, ReleaseState.FAILED),
    ReleaseState.DEPLOYED: (ReleaseState.CLOSED,),
    ReleaseState.FAILED: (ReleaseState.CLOSED,),
    ReleaseState.CLOSED: (),
    ReleaseState.CANCELLED: (),
}


class RiskLevel(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
