"""The release pages: the list (filters, sort and paging in the URL) and a release's page
with its changes, what it touches and its readiness with the reason for each problem, from
``release_service.readiness``, the same function as ``GET /api/v1/releases/{id}/affected``."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import Response

from cmdb_server import release_service
from cmdb_server.api.records import apply_transition, load_record, record_history, record_page
from cmdb_server.repositories import records
from cmdb_server.web.changes import PAGE_SIZE
from cmdb_server.web.common import (
    SignedIn,
    page_offset,
    page_router,
    pager,
    posted_form,
    query_choice,
    render,
    see_other,
)
from schema import Capability
from schema.itsm import RELEASE_TRANSITIONS, ReleaseState

router = page_router()

SORTS = {
    "-id": "id, newest first",
    "id": "id",
    "window_start": "window start",
    "-window_start": "window start, latest first",
    "name": "name",
    "state": "state",
}
"""The orders the list offers (each a ``sort`` the repository takes for releases)."""

SHOWN_AFFECTED = 100
"""Affected CIs listed on the page (the total and the counts by class cover them all)."""


@router.get("/releases")
async def release_list(here: SignedIn, request: Request) -> Response:
    state = request.app.state
    params = request.query_params
    shown = {
        "state": query_choice(params.get("state"), [s.value for s in ReleaseState], "state"),
        "ci": (params.get("ci") or "").strip()[:100] or None,
        "sort": query_choice(params.get("sort"), list(SORTS), "sort") or "-id",
    }
    offset = page_offset(params.get("offset"))
    page = await record_page(
        state.driver,
        state.settings.neo4j_database,
        records.RELEASE,
        {"state": shown["state"]},
        shown["ci"],
        PAGE_SIZE,
        offset,
        str(shown["sort"]),
    )
    return render(
        "releases.html",
        here,
        form=shown,
        page=page,
        offset=offset,
        states=[s.value for s in ReleaseState],
        sorts=SORTS,
        **pager("/releases", shown, offset, page["total"], PAGE_SIZE),
    )


@router.get("/releases/{release_id}")
async def release_page(release_id: str, here: SignedIn, request: Request) -> Response:
    state = request.app.state
    driver, db = state.driver, state.settings.neo4j_database
    release = await load_record(driver, db, records.RELEASE, release_id[:40])
    readiness = await release_service.readiness(driver, db, state.schema, release)
    bundled = [r["id"] for r in release["records"] if r["type"] == "BUNDLES"]
    changes = []
    for change_id in bundled[:SHOWN_AFFECTED]:
        change = await records.get_record(driver, db, records.CHANGE, change_id)
        if change is not None:
            changes.append(change)
    history = await record_history(driver, db, release["id"])
    moves = [s.value for s in RELEASE_TRANSITIONS[ReleaseState(release["state"])]]
    return render(
        "release.html",
        here,
        release=release,
        readiness=readiness,
        changes=changes,
        more_changes=max(0, len(bundled) - SHOWN_AFFECTED),
        targets=[c for c in release["cis"] if c["type"] == "DEPLOYS_TO"],
        affected=(readiness["affected"].get("items") or [])[:SHOWN_AFFECTED],
        moves=moves if here.can(Capability.MANAGE_RELEASE) else [],
        history=history["items"][:50],
        history_total=history["total"],
    )


@router.post("/releases/{release_id}/transition")
async def move_release(release_id: str, here: SignedIn, request: Request) -> Response:
    fields = await posted_form(request, here, Capability.MANAGE_RELEASE)
    state = request.app.state
    driver, db = state.driver, state.settings.neo4j_database
    release = await load_record(driver, db, records.RELEASE, release_id[:40])
    await apply_transition(
        driver,
        db,
        records.RELEASE,
        release,
        RELEASE_TRANSITIONS,
        "state",
        fields.get("to", "")[:50],
        here.principal,
        note=fields.get("note", "")[:5000],
    )
    return see_other(f"/releases/{release['id']}")
