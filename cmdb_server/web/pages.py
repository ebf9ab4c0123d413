"""The web UI's entry pages: sign in and out, and the home page (the estate at a glance).

Pages call the same services and repositories as the API; who may do what is the API
token's role, read from the session (``session.py``, ``common.py``).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from cmdb_server import audit
from cmdb_server.auth import authenticate, may
from cmdb_server.errors import ApiError
from cmdb_server.repositories import cis, records
from cmdb_server.web import session
from cmdb_server.web.common import SignedIn, check_form, page_router, read_form, render, secret_box, session_of
from schema import Capability, CIStatus
from schema.itsm import CHANGE_OPEN, INCIDENT_OPEN

router = page_router()


def _safe_next(target: str | None) -> str:
    """Where to go after signing in: a path on this server only (never ``//elsewhere``)."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/"


def _sign_in_page(message: str = "", status: int = 200, next_url: str = "/") -> HTMLResponse:
    csrf = session.new_csrf()
    page = render("sign_in.html", None, status, message=message, csrf=csrf, next_url=_safe_next(next_url))
    page.set_cookie(session.SIGN_IN_COOKIE, csrf, httponly=True, samesite="strict", path="/sign-in")
    return page


@router.get("/sign-in")
async def sign_in_page(next: str | None = None) -> HTMLResponse:
    return _sign_in_page(next_url=next or "/")


@router.post("/sign-in")
async def sign_in(request: Request) -> Response:
    fields = await read_form(request)
    next_url = _safe_next(fields.get("next"))
    if not session.same(request.cookies.get(session.SIGN_IN_COOKIE), fields.get("csrf")):
        return _sign_in_page("The form was out of date; sign in again.", 403, next_url)
    token = fields.get("token", "").strip()
    client = request.client.host if request.client else "unknown"
    try:
        principal = await authenticate(request.app.state, f"Bearer {token}", client)
    except ApiError as exc:
        return _sign_in_page(exc.message, exc.status, next_url)
    if not may(principal.role, Capability.READ):
        return _sign_in_page(
            f"A token of role {principal.role.value} has no pages: sign in as a person.", 403, next_url
        )
    cookie, _ = session.seal(secret_box(request), token)
    answer = RedirectResponse(next_url, status_code=303)
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
    here = await session_of(request)
    fields = await read_form(request)
    if here is not None:
        check_form(here, fields, Capability.READ)
    answer = RedirectResponse("/sign-in", status_code=303)
    answer.delete_cookie(session.SESSION_COOKIE, path="/")
    return answer


HOME_LATEST_CHANGES = 200
"""The home page looks at the latest discovered changes only (the audit page has them all)."""


@router.get("/")
async def home(here: SignedIn, request: Request) -> Response:
    state = request.app.state
    driver, db = state.driver, state.settings.neo4j_database
    classes = await cis.count_by_class(driver, db, cis.CIQuery(), state.schema)
    by_status = await cis.count_by_status(driver, db, cis.CIQuery())
    statuses = [(status.value, by_status.get(status.value, 0)) for status in CIStatus]
    incidents, incident_total = await records.page_records(
        driver, db, records.INCIDENT, {"status": sorted(INCIDENT_OPEN)}, None, 0, 10
    )
    changes, change_total = await records.page_records(
        driver, db, records.CHANGE, {"state": sorted(CHANGE_OPEN)}, None, 0, 10
    )
    unauthorised = await audit.unauthorised_changes(
        driver, db, datetime.now(UTC) - timedelta(hours=24), newest=HOME_LATEST_CHANGES
    )
    return render(
        "home.html",
        here,
        total=sum(classes.values()),
        classes=sorted(classes.items()),
        statuses=statuses,
        incidents={"items": incidents, "total": incident_total},
        changes={"items": changes, "total": change_total},
        unauthorised=unauthorised,
    )
