"""What every page shares: templates, who is signed in, forms with their CSRF check, and
errors shown as pages.

A page handler takes ``here: Here`` (``Depends(signed_in_page)``): no session sends the
browser to sign in. A handler of a posted form calls :func:`posted_form`, which refuses a
form without the session's CSRF value and a role without the capability, so the server
enforces what the templates' ``can(...)`` hides. Routers are made with :func:`page_router`
(tagged ``web``): an :class:`~cmdb_server.errors.ApiError` raised under one of them is
answered as a page with the same status, not as the API's JSON.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, TypeVar
from urllib.parse import parse_qs, quote, urlencode

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape
from pydantic import BaseModel, ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from cmdb_server import ci_curation, report_document
from cmdb_server.api.body import read_body
from cmdb_server.api.params import MAX_OFFSET
from cmdb_server.auth import Principal, authenticate, may
from cmdb_server.errors import ApiError, Forbidden, Unprocessable, api_error_response, http_error
from cmdb_server.repositories import cis
from cmdb_server.web import session
from schema import Capability

WEB_TAG = "web"

templates = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"), autoescape=select_autoescape(["html"])
)
templates.filters.update(minutes=report_document.minutes, percent=report_document.percent)
"""Durations and percentages read as the service report writes them ('3 h 36 min', '99.950 %')."""


def page_router() -> APIRouter:
    """A router of pages: kept out of the OpenAPI document, its errors answered as pages."""
    return APIRouter(include_in_schema=False, tags=[WEB_TAG])


@dataclass(frozen=True)
class Here:
    """The person a page is for: their principal and their session's CSRF value."""

    principal: Principal
    csrf: str
    path: str = ""
    flags: dict[str, bool] = field(default_factory=dict)

    def can(self, capability: str) -> bool:
        """Whether to show a write control (templates: ``here.can('curate')``)."""
        return may(self.principal.role, Capability(capability))

    def context(self) -> dict[str, Any]:
        return {"here": self, "principal": self.principal, "csrf": self.csrf}


class SignInFirst(Exception):
    """No (valid) session: the page answers with a redirect to the sign-in page."""

    def __init__(self, back_to: str) -> None:
        super().__init__(back_to)
        self.back_to = back_to


def render(name: str, here: Here | None = None, status_code: int = 200, **context: Any) -> HTMLResponse:
    if here is not None:
        context = {**here.context(), **context}
    context.setdefault("principal", None)
    return HTMLResponse(templates.get_template(name).render(**context), status_code=status_code)


def secret_box(request: Request) -> Any:
    box = request.app.state.settings.secret_box()
    if box is None:
        raise ApiError("the web UI needs CMDB_SECRET_KEY: its sign-in is sealed with it")
    return box


async def session_of(request: Request) -> Here | None:
    """Who the session cookie says is here (a person's token still valid), or None."""
    opened = session.open_session(secret_box(request), request.cookies.get(session.SESSION_COOKIE))
    if opened is None:
        return None
    client = request.client.host if request.client else "unknown"
    try:
        principal = await authenticate(request.app.state, f"Bearer {opened.token}", client)
    except ApiError:
        return None  # revoked meanwhile, or the database away: sign in again
    if not may(principal.role, Capability.READ):
        return None
    return Here(principal=principal, csrf=opened.csrf, path=request.url.path)


async def signed_in_page(request: Request) -> Here:
    here = await session_of(request)
    if here is None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise SignInFirst(target)
    request.state.here = here
    return here


SignedIn = Annotated[Here, Depends(signed_in_page)]


async def read_form(request: Request) -> dict[str, str]:
    """A posted form's fields (the first value of each)."""
    body = await read_body(request, request.app.state.settings.max_body_bytes)
    return {k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True).items()}


async def read_form_lists(request: Request) -> dict[str, list[str]]:
    """A posted form's fields with every value (checkbox groups, repeated inputs)."""
    body = await read_body(request, request.app.state.settings.max_body_bytes)
    return parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)


def check_form(here: Here, fields: dict[str, Any], capability: Capability) -> None:
    """Refuse a form without this session's CSRF value (another site's forged post) or from a
    role without ``capability`` (a read-only person's hand-made post): 403 either way."""
    given = fields.get("csrf")
    if isinstance(given, list):
        given = given[0] if given else None
    if not session.same(here.csrf, given):
        raise Forbidden("the form's CSRF value does not match this sign-in", field="csrf")
    if not here.can(capability):
        raise Forbidden(f"role '{here.principal.role.value}' may not {capability.value.replace('_', ' ')}")


async def posted_form(request: Request, here: Here, capability: Capability) -> dict[str, str]:
    """The fields of a form posted by ``here`` that may do ``capability`` (the CSRF value in
    the form, or in the ``X-CSRF-Token`` header that htmx requests carry from <body>)."""
    fields = await read_form(request)
    if "csrf" not in fields and request.headers.get("x-csrf-token"):
        fields["csrf"] = request.headers["x-csrf-token"]
    check_form(here, fields, capability)
    return fields


def see_other(url: str) -> RedirectResponse:
    """After a form was applied: the browser fetches the page anew (no re-post on reload)."""
    return RedirectResponse(url, status_code=303)


def _is_page(request: Request) -> bool:
    return WEB_TAG in (getattr(request.scope.get("route"), "tags", None) or [])


def install_page_errors(app: FastAPI) -> None:
    """Answer a page's errors as pages: a missing session redirects to sign in; an ApiError
    (a 4xx the services raise, with the field it names) is a message page of the same status."""

    async def page_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, ApiError)
        if not _is_page(request):
            return api_error_response(exc)
        here = getattr(request.state, "here", None)
        message = exc.message if exc.field is None else f"{exc.message} (field '{exc.field}')"
        page = render("message.html", here, exc.status, message=message, status=exc.status)
        for name, value in (exc.headers or {}).items():
            page.headers[name] = value
        return page

    async def sign_in_first(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, SignInFirst)
        query = "" if exc.back_to == "/" else "?next=" + quote(exc.back_to, safe="/")
        return RedirectResponse("/sign-in" + query, status_code=303)

    async def not_a_page(request: Request, exc: Exception) -> Response:
        """404 and 405 outside the API: a browser gets a page, not the API's JSON. A GET of a
        form's action (a reloaded or bookmarked address after a refused form) goes to the
        page the form is on, its parent path."""
        assert isinstance(exc, StarletteHTTPException)
        path = request.url.path
        if path.startswith(NOT_PAGES) or "text/html" not in request.headers.get("accept", ""):
            return await http_error(request, exc)
        if exc.status_code == 405 and request.method == "GET" and path.count("/") > 1:
            return RedirectResponse(path.rsplit("/", 1)[0], status_code=303)
        here = await session_of(request)
        message = "No such page." if exc.status_code == 404 else str(exc.detail)
        return render("message.html", here, exc.status_code, message=message, status=exc.status_code)

    app.add_exception_handler(ApiError, page_error)
    app.add_exception_handler(SignInFirst, sign_in_first)
    app.add_exception_handler(StarletteHTTPException, not_a_page)


NOT_PAGES = ("/api/", "/static/", "/openapi.json", "/healthz", "/readyz", "/docs", "/redoc")


async def posted_form_lists(request: Request, here: Here, capability: Capability) -> dict[str, list[str]]:
    """:func:`posted_form` for a form with repeated fields (every value of each field)."""
    fields = await read_form_lists(request)
    if "csrf" not in fields and request.headers.get("x-csrf-token"):
        fields["csrf"] = [request.headers["x-csrf-token"]]
    check_form(here, fields, capability)
    return fields


M = TypeVar("M", bound=BaseModel)


def checked_model(model: type[M], data: dict[str, Any]) -> M:
    """A form's fields read as the API's request model (the same limits), or 422 naming the
    first field it refuses and why."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        error = exc.errors()[0]
        name = ".".join(str(p) for p in error.get("loc", ())) or "form"
        raise Unprocessable(_in_words(error), field=name) from None


def _in_words(error: Any) -> str:
    """A validation error as a person filling a form reads it, not in the validator's terms."""
    kind, ctx = str(error.get("type", "")), error.get("ctx", {})
    if kind.startswith(("datetime", "date_", "time_")):
        return "is not a time: use YYYY-MM-DD HH:MM (UTC)"
    if kind == "string_too_short" and ctx.get("min_length") == 1:
        return "is required"
    if kind == "too_short" and ctx.get("min_length") == 1:
        return "choose at least one"
    if kind == "enum":
        return f"must be one of {ctx.get('expected', 'the values offered')}"
    return str(ctx.get("error", error.get("msg", "invalid value")))


def page_offset(raw: str | None) -> int:
    """A list page's ``offset`` from the URL (empty: the first page); anything but a whole
    number from 0 to MAX_OFFSET is a 422 naming it, as the API answers."""
    try:
        offset = int(raw or "0")
    except ValueError:
        offset = -1
    if not 0 <= offset <= MAX_OFFSET:
        raise Unprocessable(f"offset is a whole number from 0 to {MAX_OFFSET}", field="offset", location="query")
    return offset


def query_choice(raw: str | None, allowed: list[str], name: str) -> str | None:
    """A list filter's value from the URL: empty is any; one not offered is 422 naming the filter."""
    if not raw:
        return None
    if raw not in allowed:
        raise Unprocessable(f"{name} must be one of {', '.join(allowed)}", field=name, location="query")
    return raw


def pager(path: str, shown: dict[str, Any], offset: int, total: int, size: int) -> dict[str, Any]:
    """The previous and next page links of a list (None at either end), keeping its filters."""
    kept = {k: v for k, v in shown.items() if v}

    def link(at: int) -> str:
        return f"{path}?" + urlencode({**kept, "offset": at})

    return {
        "previous": link(max(0, offset - size)) if offset > 0 else None,
        "next": link(offset + size) if offset + size < total else None,
    }


async def ci_of_page(request: Request, uid: str) -> Any:
    """The CI a page is about (a merged CI's uid names the CI it was merged into); a 404 page
    naming the uid when there is none."""
    state = request.app.state
    driver, db = state.driver, state.settings.neo4j_database
    return await ci_curation.existing(driver, db, state.schema, await cis.resolve_uid(driver, db, uid[:100]))
