"""A CI's page: its attributes with the source of each value, locks and drift, tags, its
relationships by type with their sources, its history with a point-in-time view and a diff
between two times, what is open on it; and, for roles that may curate, the forms that
edit, lock, tag and retire it (the same ``ci_curation`` functions as the API)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import Response

from cmdb_server import ci_curation, ci_history, service_levels
from cmdb_server.errors import Unprocessable
from cmdb_server.models.ci import CIPublic
from cmdb_server.reconcile import decode_event
from cmdb_server.repositories import cis, records
from cmdb_server.web import service_level_form
from cmdb_server.web.common import Here, SignedIn, ci_of_page, page_router, posted_form, render, see_other
from schema import AttributeType, Capability
from schema.itsm import CHANGE_OPEN, INCIDENT_OPEN
from schema.values import AttributeValueError, check_time

router = page_router()
HISTORY_SHOWN = 50
BUSINESS_SERVICE = "BusinessService"
"""The class whose page shows a service level (and its subclasses)."""


def form_time(value: str | None, field: str) -> datetime | None:
    """A time from a form (``datetime-local`` has no zone: it is UTC, as the page says)."""
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        raise Unprocessable(f"{field} is not a time (YYYY-MM-DDTHH:MM)", field=field, location="query") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    try:
        return check_time(field, parsed)
    except AttributeValueError as exc:
        raise Unprocessable(exc.message, field=field, location="query") from None


def _ci_url(uid: str) -> str:
    return "/ci/" + quote(uid, safe="")


@router.get("/ci/{uid}")
async def ci_page(uid: str, here: SignedIn, request: Request) -> Response:
    return await _ci_response(uid, here, request)


async def _ci_response(
    uid: str, here: Here, request: Request, status_code: int = 200, level_form: dict[str, Any] | None = None
) -> Response:
    """The page; ``level_form``: a refused service level form, shown again with its error."""
    state = request.app.state
    driver, db, schema = state.driver, state.settings.neo4j_database, state.schema
    record = await ci_of_page(request, uid)
    uid = record.uid
    params = request.query_params
    at = form_time(params.get("at"), "at")
    since, until = form_time(params.get("from"), "from"), form_time(params.get("to"), "to")
    past = await ci_history.ci_at(driver, db, schema, uid, at) if at else None
    diff = await ci_history.ci_diff(driver, db, schema, uid, since, until) if since else None
    relations = await cis.relationships_of(driver, db, uid, rel_type=None, direction="both", include_ended=False)
    by_type: dict[str, list[dict[str, Any]]] = {}
    for relation in relations:
        by_type.setdefault(relation["type"], []).append(relation)
    events, total = await cis.history_of(driver, db, uid, since=None, until=at, limit=HISTORY_SHOWN, offset=0)
    incidents, _ = await records.page_records(
        driver, db, records.INCIDENT, {"status": sorted(INCIDENT_OPEN)}, uid, 0, 20
    )
    changes, _ = await records.page_records(driver, db, records.CHANGE, {"state": sorted(CHANGE_OPEN)}, uid, 0, 20)
    ci_class = schema.classes[record.ci_class]
    unique_keys = {k for rule in ci_class.identity for k in rule.keys if rule.unique}
    editable = sorted(
        name
        for name, attribute in ci_class.attributes.items()
        if name not in unique_keys and attribute.type is not AttributeType.STRING_LIST
    )
    service_level = None
    if ci_class.is_a(BUSINESS_SERVICE):
        service_level = await service_level_form.panel(request, uid)
        service_level["form"] = level_form or service_level_form.form_values(service_level["level"])
    return render(
        "ci.html",
        here,
        status_code,
        service_level=service_level,
        ci=CIPublic.from_record(record),
        shown=past,
        at=params.get("at", ""),
        diff=diff,
        since=params.get("from", ""),
        until=params.get("to", ""),
        sources=record.value_sources,
        relationships=sorted(by_type.items()),
        history=[decode_event(e) for e in events],
        history_total=total,
        incidents=incidents,
        changes=changes,
        editable=editable,
        lockable=ci_class.manual_locks,
        ci_url=_ci_url(uid),
    )


@router.post("/ci/{uid}/edit")
async def edit(uid: str, here: SignedIn, request: Request) -> Response:
    fields = await posted_form(request, here, Capability.CURATE)
    state = request.app.state
    attribute = fields.get("attribute", "")
    if not attribute:
        raise Unprocessable("choose the attribute to set", field="attribute")
    value: Any = fields.get("value", "")
    declared = state.schema.all_attributes().get(attribute)
    if declared is not None and declared.type in (AttributeType.INTEGER, AttributeType.FLOAT):
        try:
            value = int(value) if declared.type is AttributeType.INTEGER else float(value)
        except ValueError:
            raise Unprocessable(f"{attribute} takes a number, not {value[:40]!r}", field="value") from None
    elif declared is not None and declared.type is AttributeType.BOOLEAN:
        value = value.strip().lower() in ("true", "yes", "1", "on")
    await ci_curation.edit_attributes(
        state.driver, state.settings.neo4j_database, state.schema, uid, {attribute: value}, here.principal
    )
    return see_other(_ci_url(uid))


@router.post("/ci/{uid}/service-level")
async def service_level(uid: str, here: SignedIn, request: Request) -> Response:
    """The service level form: applied by the API's own ``put_service_level`` (the same checks);
    a refusal shows the page again with the form as typed and the field at fault, nothing saved."""
    fields = await posted_form(request, here, Capability.MANAGE_CHANGE)
    state = request.app.state
    record = await ci_of_page(request, uid)
    try:
        body = service_level_form.update_of(fields)
        await service_levels.put_service_level(
            state.driver, state.settings.neo4j_database, record.uid, body, here.principal
        )
    except Unprocessable as exc:
        field, message = service_level_form.error_text(exc, fields)
        shown = {**fields, "error_field": field, "error": message}
        return await _ci_response(record.uid, here, request, 422, shown)
    return see_other(_ci_url(record.uid) + "#service-level")


@router.post("/ci/{uid}/lock")
async def lock(uid: str, here: SignedIn, request: Request) -> Response:
    fields = await posted_form(request, here, Capability.CURATE)
    state = request.app.state
    args = (state.driver, state.settings.neo4j_database, state.schema, uid, fields.get("attribute", ""), here.principal)
    if fields.get("action") == "unlock":
        await ci_curation.unlock(*args)
    else:
        await ci_curation.lock(*args)
    return see_other(_ci_url(uid))


@router.post("/ci/{uid}/tags")
async def tag(uid: str, here: SignedIn, request: Request) -> Response:
    fields = await posted_form(request, here, Capability.CURATE)
    state = request.app.state
    present = fields.get("action") != "remove"
    await ci_curation.set_tag(
        state.driver, state.settings.neo4j_database, uid, fields.get("tag", "").strip(), present, here.principal, "body"
    )
    return see_other(_ci_url(uid))


@router.post("/ci/{uid}/retire")
async def retire(uid: str, here: SignedIn, request: Request) -> Response:
    fields = await posted_form(request, here, Capability.CURATE)
    state = request.app.state
    await ci_curation.retire_or_delete(
        state.driver, state.settings.neo4j_database, state.schema, uid, fields.get("reason", ""), False, here.principal
    )
    return see_other(_ci_url(uid))
