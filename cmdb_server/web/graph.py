"""The graph page: a CI's neighbourhood drawn in layers (services above applications above
hosts above the network), expanded a CI at a time, with the impact of this CI going down.

The page loads its data from two JSON endpoints of the signed-in session, which call the
services the API calls: :func:`cmdb_server.neighbourhood.neighbourhood_of` (as
``GET /api/v1/cis/{uid}/neighbourhood``) and :func:`cmdb_server.impact_service.impact_of`
(as ``GET /api/v1/cis/{uid}/impact``). Their errors are the API's JSON errors, which the
page's script shows. The drawing is ``static/graph.js`` (Cytoscape.js, layered with dagre).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from cmdb_server import neighbourhood
from cmdb_server.api.routes.impact import check_filters
from cmdb_server.errors import Unprocessable
from cmdb_server.impact_service import DEFAULT_DEPTH as IMPACT_DEPTH
from cmdb_server.impact_service import impact_of
from cmdb_server.web.common import SignedIn, ci_of_page, page_router, render

router = page_router()
data_router = APIRouter(include_in_schema=False)  # JSON for the page's script: errors as the API's

MAX_PAGE_DEPTH = 2
IMPACT_SHOWN = 300  # impacted CIs the page lists and draws, nearest first; the rest are counted

Depth = Annotated[int, Query(ge=1, le=MAX_PAGE_DEPTH, description="Hops from the CI.")]
Names = Annotated[list[str] | None, Query(max_length=50)]


@router.get("/ci/{uid}/graph")
async def graph_page(uid: str, here: SignedIn, request: Request, depth: str = "1") -> Response:
    """The page (its script loads the data); a depth out of range is a 422 page naming it."""
    if depth not in {str(d) for d in range(1, MAX_PAGE_DEPTH + 1)}:
        raise Unprocessable(f"depth is a number of hops from 1 to {MAX_PAGE_DEPTH}", field="depth", location="query")
    schema = request.app.state.schema
    record = await ci_of_page(request, uid)
    uid = record.uid
    classes = sorted(schema.concrete_classes(), key=lambda c: (c.layer if c.layer is not None else 99, c.name))
    data = {
        "uid": uid,
        "name": record.attributes.get("name") or uid,
        "class": record.ci_class,
        "depth": int(depth),
        "limit": neighbourhood.DEFAULT_NODES,
    }
    return render(
        "graph.html",
        here,
        ci_uid=uid,
        ci_name=data["name"],
        ci_class=record.ci_class,
        depth=int(depth),
        max_depth=MAX_PAGE_DEPTH,
        types=sorted(schema.relationships),
        classes=[c.name for c in classes],
        # Package versions (shared CIs) crowd out everything else around a host: shown on demand.
        hidden_classes={c.name for c in classes if c.shared and c.name != record.ci_class},
        data=data,
    )


@data_router.get("/ci/{uid}/graph.json")
async def graph_data(
    uid: str, here: SignedIn, request: Request, depth: Depth = 1, types: Names = None, classes: Names = None
) -> dict[str, Any]:
    """The neighbourhood the page draws (or adds to the drawing when a CI is expanded)."""
    state = request.app.state
    check_filters(state.schema, types, classes, "query")
    return await neighbourhood.neighbourhood_of(
        uid[:100], depth, state.driver, state.settings.neo4j_database, state.schema, types, classes
    )


@data_router.get("/ci/{uid}/impact.json")
async def impact_data(uid: str, here: SignedIn, request: Request) -> dict[str, Any]:
    """What this CI going down affects, with the path explaining each: the business services
    all, the other CIs nearest first up to :data:`IMPACT_SHOWN`; each CI with its layer."""
    state = request.app.state
    schema = state.schema
    result = await impact_of([uid[:100]], IMPACT_DEPTH, state.driver, state.settings.neo4j_database, schema)
    services = {item["uid"] for item in result["business_services"]}
    shown = [i for i in result["items"] if i["uid"] in services]
    shown += [i for i in result["items"] if i["uid"] not in services][: max(IMPACT_SHOWN - len(shown), 0)]
    for item in shown:
        item["layer"] = neighbourhood.layer_of(schema, item["class"])
        for step in item["path"]:
            step["layer"] = neighbourhood.layer_of(schema, step["class"])
    return {
        "roots": result["roots"],
        "total": result["total"],
        "by_state": result["by_state"],
        "left_out": result["total"] - len(shown),
        "items": shown,
    }
