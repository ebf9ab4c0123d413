"""The change pages: the list (filters, sort and paging in the URL), a new change whose
targets are chosen by searching CIs as one types, and a change's page with its assessment,
approvals, history and the transitions the person may make.

Everything goes through ``change_service`` and the repositories the API uses, so a page and
``/api/v1/changes`` accept and refuse the same things; a refused approval for want of an
override reason is shown on the change's page with the findings to override, the form kept.
"""

from __future__ import annotations

import re
from typing import Any

from fastapi import Request
from fastapi.responses import Response

from cmdb_server import change_service
from cmdb_server.api.records import record_history, record_page
from cmdb_server.api.routes.cis import full_text_errors, search_query
from cmdb_server.errors import ApiError, Unprocessable
from cmdb_server.itsm import approvers_of
from cmdb_server.models.records import ApprovalDecision, ChangeCreate
from cmdb_server.repositories import cis, records
from cmdb_server.web.common import (
    Here,
    SignedIn,
    checked_model,
    page_offset,
    page_router,
    pager,
    posted_form,
    posted_form_lists,
    query_choice,
    render,
    see_other,
)
from schema import Capability
from schema.itsm import ChangeState, ChangeType, RiskLevel

router = page_router()
PAGE_SIZE = 50
PICKER_SIZE = 10
"""CIs the target picker offers for what was typed (type more to narrow)."""

SORTS = {
    "id": "id",
    "-id": "id, newest first",
    "planned_start": "planned start",
    "-planned_start": "planned start, latest first",
    "state": "state",
    "risk": "risk",
    "title": "title",
    "-updated_at": "last updated",
}
"""The orders the list offers (each a ``sort`` the repository takes for changes)."""

PLAN_FIELDS = ("implementation_plan", "backout_plan", "test_plan")


@router.get("/changes")
async def change_list(here: SignedIn, request: Request) -> Response:
    state = request.app.state
    params = request.query_params
    shown = {
        "state": query_choice(params.get("state"), [s.value for s in ChangeState], "state"),
        "type": query_choice(params.get("type"), [t.value for t in ChangeType], "type"),
        "risk": query_choice(params.get("risk"), [r.value for r in RiskLevel], "risk"),
        "ci": (params.get("ci") or "").strip()[:100] or None,
        "sort": query_choice(params.get("sort"), list(SORTS), "sort") or "-id",
    }
    offset = page_offset(params.get("offset"))
    filters = {k: shown[k] for k in ("state", "type", "risk")}
    page = await record_page(
        state.driver,
        state.settings.neo4j_database,
        records.CHANGE,
        filters,
        shown["ci"],
        PAGE_SIZE,
        offset,
        str(shown["sort"]),
    )
    return render(
        "changes.html",
        here,
        form=shown,
        page=page,
        offset=offset,
        states=[s.value for s in ChangeState],
        types=[t.value for t in ChangeType],
        risks=[r.value for r in RiskLevel],
        sorts=SORTS,
        **pager("/changes", shown, offset, page["total"], PAGE_SIZE),
    )


def _as_utc(raw: str) -> str:
    """A ``datetime-local`` value (no zone) is read as UTC, as the form's label says."""
    raw = raw.strip()
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?", raw):
        return raw + "+00:00"
    return raw


def _new_form(fields: dict[str, list[str]] | None = None) -> dict[str, Any]:
    """The new-change form's values (empty, or as posted so a refusal keeps them)."""
    fields = fields or {}

    def one(name: str, default: str = "") -> str:
        return (fields.get(name) or [default])[0]

    return {
        "title": one("title"),
        "type": one("type", ChangeType.NORMAL.value),
        "description": one("description"),
        "planned_start": one("planned_start"),
        "planned_end": one("planned_end"),
        **{name: one(name) for name in PLAN_FIELDS},
        "targets": list(dict.fromkeys(fields.get("target", []))),
    }


async def _target_names(request: Request, uids: list[str]) -> list[dict[str, Any]]:
    """The chosen targets with their names and classes (a uid that is no CI is left out)."""
    state = request.app.state
    chosen = []
    for uid in uids[:1000]:
        record = await cis.get_ci(state.driver, state.settings.neo4j_database, state.schema, uid[:100])
        if record is not None:
            chosen.append({"uid": record.uid, "name": record.name, "class": record.ci_class})
    return chosen


def _new_page(
    here: Here, form: dict[str, Any], chosen: list[dict[str, Any]], status: int = 200, message: str = ""
) -> Response:
    return render(
        "change_new.html", here, status, form=form, chosen=chosen, types=[t.value for t in ChangeType], message=message
    )


@router.get("/changes/new")
async def new_change(here: SignedIn) -> Response:
    if not here.can(Capability.REQUEST_CHANGE):
        return render("message.html", here, 403, message="Your role may not raise a change.", status=403)
    return _new_page(here, _new_form(), [])


@router.post("/changes/new")
async def create_change(here: SignedIn, request: Request) -> Response:
    fields = await posted_form_lists(request, here, Capability.REQUEST_CHANGE)
    form = _new_form(fields)
    state = request.app.state
    data = {
        "title": form["title"].strip(),
        "type": form["type"],
        "description": form["description"],
        "planned_start": _as_utc(form["planned_start"]),
        "planned_end": _as_utc(form["planned_end"]),
        "targets": form["targets"],
        **{name: form[name] for name in PLAN_FIELDS},
    }
    try:
        body = checked_model(ChangeCreate, data)
        change_id = await change_service.create(state.driver, state.settings.neo4j_database, body, here.principal)
    except ApiError as exc:
        chosen = await _target_names(request, form["targets"])
        message = exc.message if exc.field is None else f"{exc.field}: {exc.message}"
        return _new_page(here, form, chosen, exc.status, message)
    return see_other(f"/changes/{change_id}")


@router.get("/changes/target-search")
async def target_search(here: SignedIn, request: Request) -> Response:
    """The target picker's results for what was typed (an htmx fragment): CIs from the same
    search as the search page and ``GET /api/v1/cis?q=``, a single word also as a prefix."""
    state = request.app.state
    typed = (request.query_params.get("q") or "").strip()[:200]
    chosen = set(request.query_params.getlist("target"))
    if not typed:
        return render("change_targets.html", here, found=[], typed="", total=0, message="")
    text = f"{typed.lower()}*" if re.fullmatch(r"\w+", typed) else typed
    try:
        page = await full_text_errors(
            cis.list_cis(
                state.driver,
                state.settings.neo4j_database,
                state.schema,
                search_query(state.schema, q=text),
                limit=PICKER_SIZE,
                offset=0,
            )
        )
    except ApiError as exc:
        return render("change_targets.html", here, found=[], typed=typed, total=0, message=exc.message)
    found = [{"uid": c.uid, "name": c.name, "class": c.ci_class, "chosen": c.uid in chosen} for c in page.items]
    return render("change_targets.html", here, found=found, typed=typed, total=page.total, message="")


def _decision_form(fields: dict[str, str] | None = None) -> dict[str, str]:
    fields = fields or {}
    return {k: fields.get(k, "") for k in ("decision", "comment", "override_reason")}


async def _change_page(
    here: Here,
    request: Request,
    change_id: str,
    status: int = 200,
    decision: dict[str, str] | None = None,
    refusal: str = "",
    reasons: list[str] | None = None,
) -> Response:
    state = request.app.state
    driver, db = state.driver, state.settings.neo4j_database
    change = change_service.public(await change_service.load(driver, db, change_id))
    history = await record_history(driver, db, change["id"])
    current = ChangeState(change["state"])
    moves = [
        s
        for s in change["allowed_next"]
        if s not in (ChangeState.APPROVED.value, ChangeState.REJECTED.value, ChangeState.ASSESSED.value)
    ]
    may_decide = here.can(Capability.MANAGE_CHANGE) and ChangeState.APPROVED.value in change["allowed_next"]
    return render(
        "change.html",
        here,
        status,
        change=change,
        targets=[c for c in change["cis"] if c["type"] == "TARGETS"],
        assessment=change.get("assessment"),
        moves=moves if here.can(Capability.REQUEST_CHANGE) else [],
        may_assess=here.can(Capability.REQUEST_CHANGE) and current in change_service.ASSESSABLE,
        may_decide=may_decide,
        decision=decision or _decision_form(),
        refusal=refusal,
        reasons=reasons or [],
        approvers=approvers_of(change["approvals"], change["revision"]),
        history=history["items"][:50],
        history_total=history["total"],
    )


@router.get("/changes/{change_id}")
async def change_page(change_id: str, here: SignedIn, request: Request) -> Response:
    return await _change_page(here, request, change_id[:40])


@router.post("/changes/{change_id}/transition")
async def move_change(change_id: str, here: SignedIn, request: Request) -> Response:
    fields = await posted_form(request, here, Capability.REQUEST_CHANGE)
    state = request.app.state
    db = state.settings.neo4j_database
    change = await change_service.load(state.driver, db, change_id[:40])
    await change_service.move(
        state.driver, db, change, fields.get("to", "")[:50], fields.get("note", "")[:5000], None, here.principal
    )
    return see_other(f"/changes/{change['id']}")


@router.post("/changes/{change_id}/assess")
async def assess_change(change_id: str, here: SignedIn, request: Request) -> Response:
    await posted_form(request, here, Capability.REQUEST_CHANGE)
    state = request.app.state
    db = state.settings.neo4j_database
    change = await change_service.load(state.driver, db, change_id[:40])
    await change_service.assess(state.driver, db, state.schema, change, here.principal)
    return see_other(f"/changes/{change['id']}#assessment")


@router.post("/changes/{change_id}/decision")
async def decide_change(change_id: str, here: SignedIn, request: Request) -> Response:
    fields = await posted_form(request, here, Capability.MANAGE_CHANGE)
    form = _decision_form(fields)
    state = request.app.state
    db = state.settings.neo4j_database
    change = await change_service.load(state.driver, db, change_id[:40])
    try:
        decision = ApprovalDecision(form["decision"])
    except ValueError:
        raise Unprocessable("decision must be approve or reject", field="decision") from None
    if len(form["comment"]) > 5000 or len(form["override_reason"]) > 2000:
        raise Unprocessable("comment (5000) or override reason (2000 characters) too long", field="override_reason")
    try:
        await change_service.decide(
            state.driver, db, change, decision, form["comment"], form["override_reason"].strip() or None, here.principal
        )
    except change_service.OverrideNeeded as exc:
        refusal = "Approving this change needs an override reason."
        return await _change_page(here, request, change["id"], exc.status, form, refusal, exc.reasons)
    except ApiError as exc:
        return await _change_page(here, request, change["id"], exc.status, form, exc.message)
    return see_other(f"/changes/{change['id']}#approvals")
