"""The search page: one box for whatever an engineer has (a name, an address, a MAC, a
serial, an FQDN, a package), class and status facets with counts, tags, attribute filters,
sort, paging and export; the URL holds the search, so it can be shared. The same query
checks (``search_query``), repository and export as ``GET /api/v1/cis`` and ``/export``."""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Literal
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import Response

from cmdb_server.api.routes.bulk import export_search
from cmdb_server.api.routes.cis import full_text_errors, search_query
from cmdb_server.errors import ApiError, Unprocessable
from cmdb_server.repositories import cis
from cmdb_server.web.common import SignedIn, page_offset, page_router, render
from schema import CIStatus

router = page_router()
PAGE_SIZE = 50
SORTS = {
    "name": "name",
    "-last_seen": "last seen, newest first",
    "last_seen": "last seen, oldest first",
    "class": "class",
    "status": "status",
    "-first_seen": "first seen, newest first",
}


def _form(request: Request) -> dict[str, Any]:
    """The search as the URL holds it (unknown values are checked by ``search_query``)."""
    params = request.query_params
    return {
        "q": (params.get("q") or "").strip() or None,
        "class": params.get("class") or None,
        "status": params.get("status") or None,
        "tag": [t for t in params.getlist("tag") if t],
        "where": [w for w in params.getlist("where") if w.strip()],
        "sort": params.get("sort") or "name",
    }


def _query(request: Request, form: dict[str, Any]) -> cis.CIQuery:
    try:
        status = CIStatus(form["status"]) if form["status"] else None
    except ValueError:
        known = ", ".join(s.value for s in CIStatus)
        raise Unprocessable(f"unknown status '{form['status'][:40]}'; known: {known}", field="status") from None
    return search_query(
        request.app.state.schema,
        class_name=form["class"],
        status=status,
        q=form["q"],
        tag=form["tag"],
        where=form["where"],
        sort=form["sort"],
    )


def search_url(form: dict[str, Any], **changes: Any) -> str:
    """The URL of this search with some of its fields changed (None removes one)."""
    merged = {**form, **changes}
    pairs: list[tuple[str, str]] = []
    for key in ("q", "class", "status", "tag", "where", "sort", "offset"):
        value = merged.get(key)
        if key == "sort" and value == "name":
            continue
        for item in value if isinstance(value, list) else [value]:
            if item not in (None, "", 0):
                pairs.append((key, str(item)))
    return "/search?" + urlencode(pairs) if pairs else "/search"


@router.get("/search")
async def search(here: SignedIn, request: Request) -> Response:
    state = request.app.state
    driver, db = state.driver, state.settings.neo4j_database
    form = _form(request)
    offset = page_offset(request.query_params.get("offset"))
    context: dict[str, Any] = {
        "form": form,
        "url": lambda **changes: search_url(form, **changes),
        "class_names": sorted(n for n, c in state.schema.classes.items() if not c.abstract),
        "statuses": [s.value for s in CIStatus],
        "sorts": SORTS,
        "page": None,
        "owners": {},
        "class_counts": {},
        "status_counts": {},
        "offset": offset,
        "previous": None,
        "next": None,
        "message": "",
    }
    searched = any(form[k] for k in ("q", "class", "status", "tag", "where"))
    try:
        query = _query(request, form)
        context["class_counts"] = await full_text_errors(
            cis.count_by_class(driver, db, replace(query, class_name=None), state.schema)
        )
        context["status_counts"] = await full_text_errors(cis.count_by_status(driver, db, replace(query, status=None)))
        if searched:
            page = await full_text_errors(cis.list_cis(driver, db, state.schema, query, limit=PAGE_SIZE, offset=offset))
            context["page"] = page
            context["owners"] = await cis.owners_of(driver, db, [ci.uid for ci in page.items])
            if offset > 0:
                context["previous"] = search_url(form, offset=max(0, offset - PAGE_SIZE))
            if offset + PAGE_SIZE < page.total:
                context["next"] = search_url(form, offset=offset + PAGE_SIZE)
    except ApiError as exc:
        context["message"] = exc.message if exc.field is None else f"{exc.message} (field '{exc.field}')"
        return render("search.html", here, exc.status, **context)
    return render("search.html", here, **context)


@router.get("/search/export.{format}")
async def export(format: Literal["csv", "json"], here: SignedIn, request: Request) -> Response:
    """Every CI the search matches, as the API's export writes it (it imports again as it is)."""
    state = request.app.state
    query = _query(request, _form(request))
    return await export_search(state.driver, state.settings.neo4j_database, state.schema, query, format)
