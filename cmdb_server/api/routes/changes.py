"""Changes (RFCs): raise, assess, decide, implement."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query

from cmdb_server.api.deps import DriverDep, SchemaDep, SettingsDep
from cmdb_server.api.params import LinkedTo, PageLimit, PageOffset
from cmdb_server.api.records import (
    actor,
    apply_transition,
    checked_cis,
    load_record,
    record_history,
    record_page,
    requested_edits,
    save_edits,
)
from cmdb_server.assessment import assess_change
from cmdb_server.auth import Principal, Reader, may, require
from cmdb_server.errors import Conflict, Forbidden, Unprocessable
from cmdb_server.itsm import approval_pushback, approvers_of
from cmdb_server.models.impact import Assessment
from cmdb_server.models.records import (
    ApprovalDecision,
    ApprovalRequest,
    ChangeCreate,
    ChangeList,
    ChangePublic,
    ChangeUpdate,
    RecordHistory,
    Transition,
    Window,
)
from cmdb_server.reconcile import to_json
from cmdb_server.repositories import records
from schema import Capability
from schema.itsm import CHANGE_TRANSITIONS, ChangeState, ChangeType, RiskLevel
from schema.service_desk import load_service_desk_rules

router = APIRouter(tags=["changes"])

Requester = Annotated[Principal, Depends(require(Capability.REQUEST_CHANGE))]
Manager = Annotated[Principal, Depends(require(Capability.MANAGE_CHANGE))]
ChangeId = Annotated[str, Path(min_length=1, max_length=40)]


async def _change(driver: DriverDep, database: str, change_id: str) -> dict[str, Any]:
    return await load_record(driver, database, records.CHANGE, change_id)


def _approvals(change: dict[str, Any]) -> list[dict[str, Any]]:
    stored = change.get("approvals")
    return list(json.loads(stored)) if isinstance(stored, str) else []


def _approvals_needed(change: dict[str, Any]) -> int:
    current = change.get("assessed_revision") == change.get("revision") and change.get("risk")
    risk = RiskLevel(change["risk"]) if current else None
    return load_service_desk_rules().approvers_needed(ChangeType(change["type"]), risk)


def _public(change: dict[str, Any]) -> dict[str, Any]:
    result = dict(change)
    if isinstance(result.get("assessment"), str):
        result["assessment"] = json.loads(result["assessment"])
    result["assessment_current"] = result.get("assessed_revision") == result.get("revision")
    result["allowed_next"] = [s.value for s in CHANGE_TRANSITIONS[ChangeState(result["state"])]]
    result["approvals"] = _approvals(change)
    result["approvals_needed"] = _approvals_needed(change)
    approved = result.get("approved_by")
    result["approved_by"] = [approved] if isinstance(approved, str) else list(approved or [])
    return result


@router.post("/changes", status_code=201, summary="Raise a change (draft)", response_model=ChangePublic)
async def create_change(body: ChangeCreate, principal: Requester, driver: DriverDep, settings: SettingsDep) -> Any:
    db = settings.neo4j_database
    targets = await checked_cis(driver, db, body.targets, "targets")
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
    now = datetime.now(UTC)
    change_id = await records.create_record(
        driver, db, records.CHANGE, props, {"TARGETS": targets}, {}, actor(principal), now
    )
    return _public(await _change(driver, db, change_id))


@router.get("/changes", summary="List changes, filtered and paged", response_model=ChangeList)
async def list_changes(
    _: Reader,
    driver: DriverDep,
    settings: SettingsDep,
    state: Annotated[ChangeState | None, Query(description="Only changes in this state.")] = None,
    type: Annotated[ChangeType | None, Query(description="Only changes of this type.")] = None,
    risk: Annotated[RiskLevel | None, Query(description="Only changes last assessed at this risk.")] = None,
    ci: LinkedTo = None,
    limit: PageLimit = 50,
    offset: PageOffset = 0,
) -> Any:
    filters = {"state": state, "type": type, "risk": risk}
    return await record_page(driver, settings.neo4j_database, records.CHANGE, filters, ci, limit, offset)


@router.get(
    "/changes/{change_id}", summary="One change, its targets and its last assessment", response_model=ChangePublic
)
async def get_change(change_id: ChangeId, _: Reader, driver: DriverDep, settings: SettingsDep) -> Any:
    return _public(await _change(driver, settings.neo4j_database, change_id))


@router.patch(
    "/changes/{change_id}",
    summary="Edit a change not yet approved (the assessment goes out of date)",
    response_model=ChangePublic,
)
async def update_change(
    change_id: ChangeId, body: ChangeUpdate, principal: Requester, driver: DriverDep, settings: SettingsDep
) -> Any:
    db = settings.neo4j_database
    change = await _change(driver, db, change_id)
    if ChangeState(change["state"]) not in (ChangeState.DRAFT, ChangeState.SUBMITTED, ChangeState.ASSESSED):
        raise Conflict(f"a change in state {change['state']} cannot be edited", field="state")
    updates = requested_edits(body)
    links = None
    if "targets" in updates:
        new_targets = await checked_cis(driver, db, updates.pop("targets"), "targets")
        old_targets = sorted(c["uid"] for c in change["cis"] if c["type"] == "TARGETS")
        links = ("TARGETS", old_targets, new_targets)
    start = updates.get("planned_start", change["planned_start"])
    end = updates.get("planned_end", change["planned_end"])
    try:
        Window.check(start, end, ("planned_start", "planned_end"))
    except ValueError as exc:
        raise Unprocessable(str(exc), field="planned_end") from None
    await save_edits(driver, db, records.CHANGE, change, updates, principal, links)
    return _public(await _change(driver, db, change_id))


async def _decide(
    change: dict[str, Any],
    decision: ApprovalDecision,
    comment: str,
    override_reason: str | None,
    principal: Principal,
    driver: DriverDep,
    database: str,
) -> None:
    """One approver's decision, as a record: a rejection rejects the change; approvals approve
    it once as many people as its type and risk need approve its current revision. Approving
    what the assessment warns about (high risk, a collision, a freeze) needs an override reason."""
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
            message = "approving this change needs an override reason: " + "; ".join(overridden)
            raise Conflict(
                message,
                fields=[{"field": "override_reason", "in": "body", "message": message, "reasons": overridden}],
            )
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
    approvals = [*_approvals(change), entry]
    approvers = approvers_of(approvals, revision)
    updates: dict[str, Any] = {"approvals": json.dumps(approvals), "last_decision": json.dumps(entry)}
    if decision is ApprovalDecision.REJECT:
        updates |= {"state": ChangeState.REJECTED.value} | ({"note": comment} if comment else {})
    elif len(approvers) >= _approvals_needed(change):
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


@router.post(
    "/changes/{change_id}/approvals",
    summary="Approve or reject a change (change managers): each decision is kept",
    response_model=ChangePublic,
)
async def decide_change(
    change_id: ChangeId, body: ApprovalRequest, principal: Manager, driver: DriverDep, settings: SettingsDep
) -> Any:
    """A change needs as many approvers as ``schema/service_desk.toml`` says for its type and
    the risk of its current assessment; one rejection rejects it. An approval of a change
    whose assessment found high risk, a collision or a freeze conflict is 409 naming them,
    unless it gives ``override_reason``, which the history keeps."""
    db = settings.neo4j_database
    change = await _change(driver, db, change_id)
    await _decide(change, body.decision, body.comment, body.override_reason, principal, driver, db)
    return _public(await _change(driver, db, change_id))


@router.post("/changes/{change_id}/transition", summary="Move a change to its next state", response_model=ChangePublic)
async def transition_change(
    change_id: ChangeId, body: Transition, principal: Requester, driver: DriverDep, settings: SettingsDep
) -> Any:
    db = settings.neo4j_database
    change = await _change(driver, db, change_id)
    decisions = {
        ChangeState.APPROVED.value: ApprovalDecision.APPROVE,
        ChangeState.REJECTED.value: ApprovalDecision.REJECT,
    }
    if body.to in decisions:  # the same as POST .../approvals
        await _decide(change, decisions[body.to], body.note, body.override_reason, principal, driver, db)
        return _public(await _change(driver, db, change_id))

    def rules(target: ChangeState) -> dict[str, Any]:
        """The implementation result, kept apart from the note."""
        if body.note and target in (ChangeState.IMPLEMENTED, ChangeState.FAILED, ChangeState.CLOSED):
            return {"result": body.note}
        return {}

    await apply_transition(
        driver, db, records.CHANGE, change, CHANGE_TRANSITIONS, "state", body.to, principal, rules, note=body.note
    )
    return _public(await _change(driver, db, change_id))


@router.post(
    "/changes/{change_id}/assessment", summary="Assess a change and store the snapshot", response_model=Assessment
)
async def assess(
    change_id: ChangeId, principal: Requester, driver: DriverDep, settings: SettingsDep, schema: SchemaDep
) -> Any:
    db = settings.neo4j_database
    change = await _change(driver, db, change_id)
    state = ChangeState(change["state"])
    if state not in (ChangeState.SUBMITTED, ChangeState.ASSESSED, ChangeState.APPROVED):
        raise Conflict(f"a change in state {state.value} is not assessed; submit it first", field="state")
    targets = await records.linked_ci_uids(driver, db, records.CHANGE, change_id)
    now = datetime.now(UTC)
    snapshot = await assess_change(driver, db, schema, change, targets, now)
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
        db,
        records.CHANGE,
        change_id,
        {"revision": change["revision"], "state": state.value},
        updates,
        actor(principal),
        now,
        current=change,
    )
    if not ok:
        raise Conflict("the change was modified during the assessment; assess again", field="revision")
    return json.loads(to_json(snapshot) or "{}")


@router.get(
    "/changes/{change_id}/history", summary="Who did what to a change, newest first", response_model=RecordHistory
)
async def change_history(change_id: ChangeId, _: Reader, driver: DriverDep, settings: SettingsDep) -> Any:
    await _change(driver, settings.neo4j_database, change_id)
    return await record_history(driver, settings.neo4j_database, change_id)
