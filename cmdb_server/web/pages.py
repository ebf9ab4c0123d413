"""The web UI's pages (server-rendered with Jinja2): sign in and out, the home page.

Pages call the same services and repositories as the API; who may do what is the API
token's role, read from the session (``session.py``).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape

from cmdb_server import audit
from cmdb_server.api.body import read_body
from cmdb_server.api.params import MAX_OFFSET
from cmdb_server.api.routes.cis import full_text_errors, search_query
from cmdb_server.auth import READ_ROLES, Principal, authenticate
from cmdb_server.errors import ApiError, Forbidden
from cmdb_server.models.ci import CIPublic
from cmdb_server.reconcile import decode_event
from cmdb_server.repositories import cis, records
from cmdb_server.web import session
from schema import CIStatus
from schema.itsm import CHANGE_OPEN, INCIDENT_OPEN

router = APIRouter(include_in_schema=False)
templates = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"), autoescape=select_autoescape(["html"])
)
FORM_BYTES = 64 * 1024


def render(name: str, status: int = 200, **context: Any) -> HTMLResponse:
    return HTMLResponse(templates.get_template(name).render(**context), status_code=status)


async def form(request: Request) -> dict[str, str]:
    """A posted form's fields (the first value of each)."""
    body = await read_body(request, FORM_BYTES)
    return {k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace")).items()}


def _box(request: Request) -> Any:
    box = request.app.state.settings.secret_box()
    if box is None:
        raise ApiError("the web UI needs CMDB_SECRET_KEY: its sign-in is sealed with it")
    return box


async def signed_in(request: Request) -> tuple[Principal, session.Session] | None:
    """Who the session says is here (a reader), or None: send them to sign in."""
    opened = session.open_session(_box(request), request.cookies.get(session.SESSION_COOKIE))
    if opened is None:
        return None
    client = request.client.host if request.client else "unknown"
    try:
        principal = await authenticate(request.app.state, f"Bearer {opened.token}", client)
    except ApiError:
        return None  # revoked meanwhile, or the database away: sign in again
    if principal.role not in READ_ROLES:
        return None
    return principal, opened


def _sign_in_page(message: str = "", status: int = 200) -> HTMLResponse:
    csrf = session.new_csrf()
    page = render("sign_in.html", status, message=message, csrf=csrf, principal=None)
    page.set_cookie(session.SIGN_IN_COOKIE, csrf, httponly=True, samesite="strict", path="/sign-in")
    return page


@router.get("/sign-in")
async def sign_in_page() -> HTMLResponse:
    return _sign_in_page()


@router.post("/sign-in")
async def sign_in(request: Request) -> Response:
    fields = await form(request)
    if not session.same(request.cookies.get(session.SIGN_IN_COOKIE), fields.get("csrf")):
        return _sign_in_page("The form was out of date; sign in again.", 403)
    token = fields.get("token", "").strip()
    client = request.client.host if request.client else "unknown"
    try:
        principal = await authenticate(request.app.state, f"Bearer {token}", client)
    except ApiError as exc:
        return _sign_in_page(exc.message, exc.status)
    if principal.role not in READ_ROLES:
        return _sign_in_page(f"A token of role {principal.role.value} has no pages: sign in as a person.", 403)
    cookie, _ = session.seal(_box(request), token)
    answer = RedirectResponse("/", status_code=303)
    answer.set_cookie(
        session.SESSION_COOKIE,
        cookie,
        max_age=session.SESSION_SECONDS,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path="/",
    )
    answer.delete_cookie(session.SIGN_IN_COOKIE, path="/sign-in")
    return answer


@router.post("/sign-out")
async def sign_out(request: Request) -> Response:
    here = await signed_in(request)
    fields = await form(request)
    if here is not None and not session.same(here[1].csrf, fields.get("csrf")):
        raise Forbidden("the form's CSRF value does not match this sign-in", field="csrf")
    answer = RedirectResponse("/sign-in", status_code=303)
    answer.delete_cookie(session.SESSION_COOKIE, path="/")
    return answer


@router.get("/")
async def home(request: Request) -> Response:
    here = await signed_in(request)
    if here is None:
        return RedirectResponse("/sign-in", status_code=303)
    principal, opened = here
    state = request.app.state
    driver, db = state.driver, state.settings.neo4j_database
    classes = await cis.count_by_class(driver, db, cis.CIQuery())
    statuses = [
        (status.value, sum((await cis.count_by_class(driver, db, cis.CIQuery(status=status))).values()))
        for status in CIStatus
    ]
    incidents, incident_total = await records.page_records(
        driver, db, records.INCIDENT, {"status": sorted(INCIDENT_OPEN)}, None, 0, 10
    )
    changes, change_total = await records.page_records(
        driver, db, records.CHANGE, {"state": sorted(CHANGE_OPEN)}, None, 0, 10
    )
    unauthorised = await audit.unauthorised_changes(driver, db, datetime.now(UTC) - timedelta(hours=24))
    return render(
        "home.html",
        principal=principal,
        csrf=opened.csrf,
        total=sum(classes.values()),
        classes=sorted(classes.items()),
        statuses=statuses,
        incidents={"items": incidents, "total": incident_total},
        changes={"items": changes, "total": change_total},
        unauthorised=unauthorised,
    )


PAGE_SIZE = 50


@router.get("/search")
async def search(request: Request) -> Response:
    """One box and a few facets; the URL holds the search, so it can be shared. The same
    query checks and the same repository as ``GET /api/v1/cis``."""
    here = await signed_in(request)
    if here is None:
        return RedirectResponse("/sign-in", status_code=303)
    principal, opened = here
    state = request.app.state
    params = request.query_params
    form = {
        "q": params.get("q") or None,
        "class_name": params.get("class") or None,
        "status": params.get("status") or None,
    }
    try:
        offset = max(0, min(int(params.get("offset", "0")), MAX_OFFSET))
    except ValueError:
        offset = 0
    context: dict[str, Any] = {
        "principal": principal,
        "csrf": opened.csrf,
        "form": form,
        "class_names": sorted(n for n, c in state.schema.classes.items() if not c.abstract),
        "statuses": [s.value for s in CIStatus],
        "page": None,
        "offset": offset,
        "previous": None,
        "next": None,
        "message": "",
    }
    if any(form.values()):
        try:
            query = search_query(
                state.schema,
                class_name=form["class_name"],
                status=CIStatus(form["status"]) if form["status"] else None,
                q=form["q"],
            )
            page = await full_text_errors(
                cis.list_cis(
                    state.driver, state.settings.neo4j_database, state.schema, query, limit=PAGE_SIZE, offset=offset
                )
            )
        except (ApiError, ValueError) as exc:
            context["message"] = getattr(exc, "message", str(exc))
            return render("search.html", 422, **context)
        shown = {k: v for k, v in (("q", form["q"]), ("class", form["class_name"]), ("status", form["status"])) if v}
        context["page"] = page
        if offset > 0:
            context["previous"] = "/search?" + urlencode({**shown, "offset": max(0, offset - PAGE_SIZE)})
        if offset + PAGE_SIZE < page.total:
            context["next"] = "/search?" + urlencode({**shown, "offset": offset + PAGE_SIZE})
    return render("search.html", **context)


@router.get("/ci/{uid}")
async def ci_page(uid: str, request: Request) -> Response:
    """A CI: its attributes with the source of each value, locks and drift, tags, its
    relationships by type with their sources, its history, what is open on it."""
    here = await signed_in(request)
    if here is None:
        return RedirectResponse("/sign-in", status_code=303)
    principal, opened = here
    state = request.app.state
    driver, db = state.driver, state.settings.neo4j_database
    uid = await cis.resolve_uid(driver, db, uid[:100])
    record = await cis.get_ci(driver, db, state.schema, uid)
    if record is None:
        return render("message.html", 404, principal=principal, csrf=opened.csrf, message=f"No CI {uid[:100]}.")
    relations = await cis.relationships_of(driver, db, uid, rel_type=None, direction="both", include_ended=False)
    by_type: dict[str, list[dict[str, Any]]] = {}
    for relation in relations:
        by_type.setdefault(relation["type"], []).append(relation)
    events, total = await cis.history_of(driver, db, uid, since=None, until=None, limit=20, offset=0)
    incidents, _ = await records.page_records(
        driver, db, records.INCIDENT, {"status": sorted(INCIDENT_OPEN)}, uid, 0, 20
    )
    changes, _ = await records.page_records(driver, db, records.CHANGE, {"state": sorted(CHANGE_OPEN)}, uid, 0, 20)
    return render(
        "ci.html",
        principal=principal,
        csrf=opened.csrf,
        ci=CIPublic.from_record(record),
        sources=record.value_sources,
        relationships=sorted(by_type.items()),
        history=[decode_event(e) for e in events],
        history_total=total,
        incidents=incidents,
        changes=changes,
    )
