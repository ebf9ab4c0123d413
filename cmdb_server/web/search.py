"""The search page: one box for whatever an engineer has (a name, an address, a MAC, a
serial, an FQDN, a package), facets, paging and export; the URL holds the search so it can
be shared. The same query checks and the same repository as ``GET /api/v1/cis``."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import Response

from cmdb_server.api.params import MAX_OFFSET
from cmdb_server.api.routes.cis import full_text_errors, search_query
from cmdb_server.errors import ApiError
from cmdb_server.repositories import cis
from cmdb_server.web.common import SignedIn, page_router, render
from schema import CIStatus

router = page_router()
PAGE_SIZE = 50


@router.get("/search")
async def search(here: SignedIn, request: Request) -> Response:
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
            return render("search.html", here, 422, **context)
        shown = {k: v for k, v in (("q", form["q"]), ("class", form["class_name"]), ("status", form["status"])) if v}
        context["page"] = page
        if offset > 0:
            context["previous"] = "/search?" + urlencode({**shown, "offset": max(0, offset - PAGE_SIZE)})
        if offset + PAGE_SIZE < page.total:
            context["next"] = "/search?" + urlencode({**shown, "offset": offset + PAGE_SIZE})
    return render("search.html", here, **context)
