"""The incident pages: the list (filtered and paged on the server, filters in the URL), opening
an incident on a CI chosen by search, and one incident with its suspects (the CIs upstream
that changed before it opened, each with the path that links it and its recent changes),
resolved or assigned from the page by the roles that may.

Every query and rule is the API's: ``api.records.record_page`` for the list,
``incident_service`` for opening, editing, moving and triage, and the search page's query
checks for choosing a CI.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, TypeVar

from fastapi import Request
from fastapi.responses import Response
from pydantic import BaseModel, ValidationError

from cmdb_server import incident_service
from cmdb_server.api.records import load_record, record_history, record_page
from cmdb_server.api.routes.cis import full_text_errors, search_query
from cmdb_server.errors import Unprocessable
from cmdb_server.impact_service import DEFAULT_DEPTH
from cmdb_server.models.records import IncidentCreate, IncidentUpdate
from cmdb_server.repositories import cis, records
from cmdb_server.web.common import SignedIn, page_offset, page_router, pager, posted_form, render, see_other
from schema import Capability
from schema.itsm import IncidentImpact, IncidentPriority, IncidentStatus, IncidentUrgency

router = page_router()
PAGE_SIZE = 50
CHOICES = 10
"""How many CIs a search for the affected CI offers."""

M = TypeVar("M", bound=BaseModel)

ACTIONS = {"in_progress": "Start work", "resolved": "Resolve", "closed": "Close"}
"""The button that moves an incident to each state (resolved -> in_progress reads "Reopen")."""


def form_model(model: type[M], data: dict[str, Any]) -> M:
    """A posted form as the API's request model, or 422 naming the first field it gets wrong."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"]) or "form"
        raise Unprocessable(first["msg"], field=field) from None


def _choice(value: str | None, allowed: type[Any], field: str) -> Any:
    """A filter value of a closed set from the query string, or 422 naming it."""
    if not value:
        return None
    try:
        return allowed(value)
    except ValueError:
        known = ", ".join(v.value for v in allowed)
        raise Unprocessable(f"{value[:50]!r} is not one of {known}", field=field, location="query") from None


def _text(value: str | None, field: str, limit: int = 200) -> str | None:
    if value and len(value) > limit:
        raise Unprocessable(f"at most {limit} characters", field=field, location="query")
    return value or None


@router.get("/incidents")
async def incident_list(here: SignedIn, request: Request) -> Response:
    state = request.app.state
    params = request.query_params
    form = {
        "status": _choice(params.get("status"), IncidentStatus, "status"),
        "priority": _choice(params.get("priority"), IncidentPriority, "priority"),
        "assignee": _text(params.get("assignee"), "assignee"),
        "support_group": _text(params.get("support_group"), "support_group"),
    }
    ci = _text(params.get("ci"), "ci", 100)
    offset = page_offset(params.get("offset"))
    page = await record_page(state.driver, state.settings.neo4j_database, records.INCIDENT, form, ci, PAGE_SIZE, offset)
    shown = {k: (v.value if hasattr(v, "value") else v) for k, v in {**form, "ci": ci}.items() if v}
    links: dict[str, Any] = {
        **pager("/incidents", shown, offset, page["total"], PAGE_SIZE),
    }
    return render(
        "incidents.html",
        here,
        page=page,
        form=shown,
        offset=offset,
        statuses=[s.value for s in IncidentStatus],
        priorities=[p.value for p in IncidentPriority],
        **links,
    )


@router.get("/incidents/new")
async def new_incident_form(here: SignedIn, request: Request) -> Response:
    if not here.can(Capability.RESPOND_INCIDENT):
        return render("message.html", here, 403, message="Your role may not open an incident.", status=403)
    return render("incident_new.html", here, **_new_context(here, {}))


def _new_context(here: Any, fields: dict[str, str]) -> dict[str, Any]:
    return {
        "fields": fields,
        "impacts": [i.value for i in IncidentImpact],
        "urgencies": [u.value for u in IncidentUrgency],
        "may_open": here.can(Capability.RESPOND_INCIDENT.value),
    }


@router.get("/incidents/ci-choices")
async def ci_choices(here: SignedIn, request: Request) -> Response:
    """The CIs a search finds, as buttons that choose one (htmx swaps this into the form)."""
    state = request.app.state
    q = (request.query_params.get("ci_search") or "").strip()
    if not q:
        return render("incident_ci_choices.html", here, items=[], q="", total=0)
    query = search_query(state.schema, q=q[:500])
    page = await full_text_errors(
        cis.list_cis(state.driver, state.settings.neo4j_database, state.schema, query, limit=CHOICES, offset=0)
    )
    return render("incident_ci_choices.html", here, items=page.items, q=q, total=page.total)


@router.get("/incidents/ci-chosen")
async def ci_chosen(here: SignedIn, request: Request) -> Response:
    """The chosen CI as the form's ``affected`` field, with its name to read."""
    state = request.app.state
    uid = (request.query_params.get("uid") or "")[:100]
    record = await cis.get_ci(state.driver, state.settings.neo4j_database, state.schema, uid)
    if record is None:
        raise Unprocessable(f"no CI with uid {uid!r}", field="affected")
    return render("incident_ci_chosen.html", here, ci=record)


@router.post("/incidents/new")
async def open_incident(here: SignedIn, request: Request) -> Response:
    state = request.app.state
    fields = await posted_form(request, here, Capability.RESPOND_INCIDENT)
    body = form_model(
        IncidentCreate,
        {
            "title": fields.get("title", "").strip(),
            "impact": fields.get("impact") or None,
            "urgency": fields.get("urgency") or None,
            "assignee": fields.get("assignee", "").strip() or None,
            "support_group": fields.get("support_group", "").strip() or None,
            "affected": [fields["affected"]] if fields.get("affected") else [],
        },
    )
    incident = await incident_service.open_incident(state.driver, state.settings.neo4j_database, body, here.principal)
    return see_other(f"/incidents/{incident['id']}")


@router.get("/incidents/{incident_id}")
async def incident_page(incident_id: str, here: SignedIn, request: Request) -> Response:
    state = request.app.state
    driver, db = state.driver, state.settings.neo4j_database
    incident_id = incident_id[:40]
    try:
        hours = float(request.query_params.get("hours") or incident_service.SUSPECT_HOURS)
    except ValueError:
        raise Unprocessable("hours must be a number", field="hours", location="query") from None
    if not 0 < hours <= 24 * 90:
        raise Unprocessable("hours must be more than 0 and at most 2160 (90 days)", field="hours", location="query")
    incident = await load_record(driver, db, records.INCIDENT, incident_id)
    triage = await incident_service.incident_suspects(driver, db, state.schema, incident_id, hours, DEFAULT_DEPTH)
    history = await record_history(driver, db, incident_id)
    moves = [
        (to, "Reopen" if to == IncidentStatus.IN_PROGRESS and incident["status"] == "resolved" else ACTIONS[to])
        for to in incident_service.next_statuses(incident["status"])
    ]
    return render(
        "incident.html",
        here,
        incident=incident,
        affected=[c for c in incident["cis"] if c["type"] == "AFFECTS"],
        problems=[r for r in incident["records"] if r["type"] == "INSTANCE_OF"],
        triage=triage,
        hours=hours,
        history=history["items"][:20],
        moves=moves,
        may_respond=here.can(Capability.RESPOND_INCIDENT.value),
        when=_when,
    )


@router.post("/incidents/{incident_id}/transition")
async def move_incident(incident_id: str, here: SignedIn, request: Request) -> Response:
    state = request.app.state
    fields = await posted_form(request, here, Capability.RESPOND_INCIDENT)
    to = fields.get("to", "")
    note = fields.get("note", "").strip()
    if to == IncidentStatus.RESOLVED and not note:
        raise Unprocessable("say how it was resolved", field="note")
    if len(note) > 5000:
        raise Unprocessable("at most 5000 characters", field="note")
    await incident_service.move_incident(
        state.driver, state.settings.neo4j_database, incident_id[:40], to[:50], note, here.principal
    )
    return see_other(f"/incidents/{incident_id[:40]}")


@router.post("/incidents/{incident_id}/assign")
async def assign_incident(incident_id: str, here: SignedIn, request: Request) -> Response:
    state = request.app.state
    fields = await posted_form(request, here, Capability.RESPOND_INCIDENT)
    body = form_model(
        IncidentUpdate,
        {k: fields[k].strip() for k in ("assignee", "support_group") if fields.get(k, "").strip()},
    )
    await incident_service.edit_incident(
        state.driver, state.settings.neo4j_database, incident_id[:40], body, here.principal
    )
    return see_other(f"/incidents/{incident_id[:40]}")


def _when(at: Any) -> str:
    return at.strftime("%Y-%m-%d %H:%M UTC") if isinstance(at, datetime) else ("-" if at is None else str(at))
