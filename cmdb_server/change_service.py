"""Changes (RFCs): raise, edit, assess, decide and move them, once for the API and the pages.

The API's routes (``api/routes/changes.py``) and the web pages (``web/changes.py``) both call
these functions, so an approval the page records is refused or accepted for exactly the
reasons the API gives.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from neo4j import AsyncDriver

from cmdb_server.api.records import actor, apply_transition, checked_cis, load_record, requested_edits, save_edits
from cmdb_server.assessment import assess_change
from cmdb_server.auth import Principal, may
from cmdb_server.errors import Conflict, Forbidden, Unprocessable
from cmdb_server.itsm import approval_pushback, approvers_of
from cmdb_server.models.records import ApprovalDecision, ChangeCreate, ChangeUpdate, Window
from cmdb_server.reconcile import to_json
from cmdb_server.repositories import records
from schema import Capability, Schema
from schema.itsm import CHANGE_TRANSITIONS, ChangeState, ChangeType, RiskLevel
from schema.service_desk import load_service_desk_rules

EDITABLE = (ChangeState.DRAFT, ChangeState.SUBMITTED, ChangeState.ASSESSED)
"""States in which a change's fields and targets may still be edited."""

ASSESSABLE = (ChangeState.SUBMITTED, ChangeState.ASSESSED, ChangeState.APPROVED)
"""States in which a change may be assessed (again)."""

DECISIONS = {ChangeState.APPROVED.value: ApprovalDecision.APPROVE, ChangeState.REJECTED.value: ApprovalDecision.REJECT}
"""Transitions that are an approver's decision (the same as POST .../approvals)."""


class OverrideNeeded(Conflict):
    """An approval of a change whose assessment warns (high risk, a collision, a freeze) given
    without an override reason: 409 naming ``override_reason`` and the findings to override."""

    def __init__(self, reasons: list[str]) -> None:
        message = "approving this change needs an override reason: " + "; ".join(reasons)
        super().__init__(
            message, fields=[{"field": "override_reason", "in": "body", "message": message, "reasons": reasons}]
        )
        self.reasons = reasons


async def load(driver: AsyncDriver, database: str, change_id: str) -> dict[str, Any]:
    """The stored change, or 404 naming the id."""
    return await load_record(driver, database, records.CHANGE, change_id)


def approvals_of(change: dict[str, Any]) -> list[dict[str, Any]]:
    stored = change.get("approvals")
    return list(json.loads(stored)) if isinstance(stored, str) else []


def approvals_needed(change: dict[str, Any]) -> int:
    """Approvers its type and the risk of its current assessment need (an unassessed normal change: as high)."""
    current = change.get("assessed_revision") == change.get("revision") and change.get("risk")
    risk = RiskLevel(change["risk"]) if current else None
    return load_service_desk_rules().approvers_needed(ChangeType(change["type"]), risk)


def public(change: dict[str, Any]) -> dict[str, Any]:
    """A stored change as the API answers it (and the page shows it): the assessment decoded,
    whether it is current, the allowed next states, the approvals and who approves."""
    result = dict(change)
    if isinstance(result.get("assessment"), str):
        result["assessment"] = json.loads(result["assessment"])
    result["assessment_current"] = result.get("assessed_revision") == result.get("revision")
    result["allowed_next"] = [s.value for s in CHANGE_TRANSITIONS[ChangeState(result["state"])]]
    result["approvals"] = approvals_of(change)
    result["approvals_needed"] = approvals_needed(change)
    approved = result.get("approved_by")
    result["approved_by"] = [approved] if isinstance(approved, str) else list(approved or [])
    return result


async def create(driver: AsyncDriver, database: str, body: ChangeCreate, principal: Principal) -> str:
    """A new change in draft, linked to its targets (422 naming ``targets`` for a uid that is no CI)."""
    targets = await checked_cis(driver, database, body.targets, "targets")
    props = {
        "title": body.title,
        "description": body.description,
        "type": body.type.value,
        "state": ChangeState.DRAFT.value,
        "planned_start": body.planned_start,
        "planned_end": body.planned_end,
        "implementation_plan": body.implementation_plan,
        "backout_plan": body.backout_plan,
        "test_plan": body.test_plan,
    }
    return await records.create_record(
        driver, database, records.CHANGE, props, {"TARGETS": targets}, {}, actor(principal), datetime.now(UTC)
    )


async def edit(
    driver: AsyncDriver, database: str, change: dict[str, Any], body: ChangeUpdate, principal: Principal
) -> None:
    """Edit a change not yet approved (its next revision: the assessment and approvals go stale)."""
    if ChangeState(change["state"]) not in EDITABLE:
        raise Conflict(f"a change in state {change['state']} cannot be edited", field="state")
    updates = requested_edits(body)
    links = None
    if "targets" in updates:
        new_targets = await checked_cis(driver, database, updates.pop("targets"), "targets")
        old_targets = sorted(c["uid"] for c in change["cis"] if c["type"] == "TARGETS")
        links = ("TARGETS", old_targets, new_targets)
    start = updates.get("planned_start", change["planned_start"])
    end = updates.get("planned_end", change["planned_end"])
    try:
        Window.check(start, end, ("planned_start", "planned_end"))
    except ValueError as exc:
        raise Unprocessable(str(exc), field="planned_end") from None
    await save_edits(driver, database, records.CHANGE, change, updates, principal, links)


async def decide(
    driver: AsyncDriver,
    database: str,
    change: dict[str, Any],
    decision: ApprovalDecision,
    comment: str,
    override_reason: str | None,
    principal: Principal,
) -> None:
    """One approver's decision, as a record: a rejection rejects the change; approvals approve
    it once as many people as its type and risk need approve its current revision. Approving
    what the assessment warns about (high risk, a collision, a freeze) needs an override reason
    (:class:`OverrideNeeded` otherwise)."""
    if not may(principal.role, Capability.MANAGE_CHANGE):
        raise Forbidden("only a change manager may approve or reject a change", field="decision")
    state = ChangeState(change["state"])
    target = ChangeState.APPROVED if decision is ApprovalDecision.APPROVE else ChangeState.REJECTED
    allowed = CHANGE_TRANSITIONS[state]
    if target not in allowed:
        message = f"a change in state {state.value} cannot be {target.value}"
        raise Conflict.refused_transition(message, [s.value for s in allowed])
    revision = change["revision"]
    overridden: list[str] = []
    if decision is ApprovalDecision.APPROVE:
        current = change.get("assessed_revision") == revision
        if ChangeType(change["type"]) is ChangeType.NORMAL and not current:
            raise Conflict(
                "a normal change needs a current assessment before approval: POST .../assessment first", field="to"
            )
        assessment = change.get("assessment")
        overridden = approval_pushback(json.loads(assessment) if isinstance(assessment, str) and current else None)
        if overridden and not override_reason:
            raise OverrideNeeded(overridden)
    now = datetime.now(UTC)
    entry = {
        "by": principal.name,
        "token_id": principal.token_id,
        "at": now.isoformat(),
        "decision": decision.value,
        "revision": revision,
        "comment": comment,
        **({"override_reason": override_reason, "overridden": overridden} if overridden else {}),
    }
    approvals = [*approvals_of(change), entry]
    approvers = approvers_of(approvals, revision)
    updates: dict[str, Any] = {"approvals": json.dumps(approvals), "last_decision": json.dumps(entry)}
    if decision is ApprovalDecision.REJECT:
        updates |= {"state": ChangeState.REJECTED.value} | ({"note": comment} if comment else {})
    elif len(approvers) >= approvals_needed(change):
        updates |= {"state": ChangeState.APPROVED.value, "approved_by": approvers}
    ok = await records.update_record(
        driver,
        database,
        records.CHANGE,
        change["id"],
        {"revision": revision, "state": state.value},
        updates,
        actor(principal),
        now,
        current=change,
    )
    if not ok:
        raise Conflict("the change moved meanwhile; read it again", field="revision")


async def move(
    driver: AsyncDriver,
    database: str,
    change: dict[str, Any],
    to: str,
    note: str,
    override_reason: str | None,
    principal: Principal,
) -> None:
    """Move a change to its next state; to approved or rejected it is an approver's decision."""
    if to in DECISIONS:
        await decide(driver, database, change, DECISIONS[to], note, override_reason, principal)
        return

    def result(target: ChangeState) -> dict[str, Any]:
        """The implementation result, kept apart from the note."""
        if note and target in (ChangeState.IMPLEMENTED, ChangeState.FAILED, ChangeState.CLOSED):
            return {"result": note}
        return {}

    await apply_transition(
        driver, database, records.CHANGE, change, CHANGE_TRANSITIONS, "state", to, principal, result, note=note
    )


async def assess(
    driver: AsyncDriver, database: str, schema: Schema, change: dict[str, Any], principal: Principal
) -> dict[str, Any]:
    """Assess a submitted (or assessed, or approved) change and keep the snapshot with it; a
    submitted change becomes assessed. Answers the snapshot as the API shows it."""
    state = ChangeState(change["state"])
    if state not in ASSESSABLE:
        raise Conflict(f"a change in state {state.value} is not assessed; submit it first", field="state")
    targets = await records.linked_ci_uids(driver, database, records.CHANGE, change["id"])
    now = datetime.now(UTC)
    snapshot = await assess_change(driver, database, schema, change, targets, now)
    updates = {
        "assessment": to_json(snapshot),
        "assessed_revision": change["revision"],
        "assessed_at": now,
        "risk": snapshot["risk"]["level"],
    }
    if state is ChangeState.SUBMITTED:
        updates["state"] = ChangeState.ASSESSED.value
    ok = await records.update_record(
        driver,
        database,
        records.CHANGE,
        change["id"],
        {"revision": change["revision"], "state": state.value},
        updates,
        actor(principal),
        now,
        current=change,
    )
    if not ok:
        raise Conflict("the change was modified during the assessment; assess again", field="revision")
    decoded: dict[str, Any] = json.loads(to_json(snapshot) or "{}")
    return decoded
