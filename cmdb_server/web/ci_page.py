"""A CI's page: its attributes with the source of each value, locks and drift, tags, its
relationships by type with their sources, its history, what is open on it."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import Response

from cmdb_server.models.ci import CIPublic
from cmdb_server.reconcile import decode_event
from cmdb_server.repositories import cis, records
from cmdb_server.web.common import SignedIn, page_router, render
from schema.itsm import CHANGE_OPEN, INCIDENT_OPEN

router = page_router()


@router.get("/ci/{uid}")
async def ci_page(uid: str, here: SignedIn, request: Request) -> Response:
    state = request.app.state
    driver, db = state.driver, state.settings.neo4j_database
    uid = await cis.resolve_uid(driver, db, uid[:100])
    record = await cis.get_ci(driver, db, state.schema, uid)
    if record is None:
        return render("message.html", here, 404, message=f"No CI {uid[:100]}.")
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
        here,
        ci=CIPublic.from_record(record),
        sources=record.value_sources,
        relationships=sorted(by_type.items()),
        history=[decode_event(e) for e in events],
        history_total=total,
        incidents=incidents,
        changes=changes,
    )
