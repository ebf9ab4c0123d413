"""Releases: what a release touches and what keeps it from being ready, once for the API
(``GET /api/v1/releases/{id}/affected``) and the release page."""

from __future__ import annotations

from typing import Any

from neo4j import AsyncDriver

from cmdb_server.impact_service import DEFAULT_DEPTH, impact_of
from cmdb_server.repositories import records
from schema import Schema
from schema.itsm import CHANGE_AUTHORISED, INCIDENT_OPEN


async def readiness(driver: AsyncDriver, database: str, schema: Schema, release: dict[str, Any]) -> dict[str, Any]:
    """The release's targets and their impact, the business services touched, and each reason
    it is not ready: a bundled change not approved or planned outside the window, the window in
    a freeze covering an affected service, an open incident on a target, no target at all."""
    release_id = release["id"]
    targets = await records.linked_ci_uids(driver, database, records.RELEASE, release_id)
    impact = await impact_of(targets, DEFAULT_DEPTH, driver, database, schema) if targets else None
    problems = []
    start, end = release["window_start"], release["window_end"]
    bundled = [r["id"] for r in release["records"] if r["type"] == "BUNDLES"]
    for change_id in bundled:
        change = await records.get_record(driver, database, records.CHANGE, change_id)
        if change is None:
            continue
        if change["state"] not in CHANGE_AUTHORISED:
            problems.append(f"change {change_id} is {change['state']}, not approved")
        if change["planned_start"] < start or change["planned_end"] > end:
            problems.append(
                f"change {change_id} is planned {change['planned_start'].isoformat()} - "
                f"{change['planned_end'].isoformat()}, outside the release window"
            )
    services = {s["uid"]: s["name"] for s in impact["business_services"]} if impact else {}
    for freeze in await records.freezes_in_window(driver, database, start, end):
        covered = sorted(services[uid] or uid for uid in set(freeze["services"]) & set(services))
        if not freeze["services"] and services:
            covered = sorted(name or uid for uid, name in services.items())
        if covered:
            problems.append(
                f"the window falls in freeze window {freeze['name']} ({freeze['start'].isoformat()} - "
                f"{freeze['end'].isoformat()}) covering {', '.join(covered)}"
            )
    incidents = (
        await records.records_on_cis(driver, database, records.INCIDENT, "status", sorted(INCIDENT_OPEN), targets)
        if targets
        else []
    )
    problems += [f"open incident {i['id']} ({i['title']}) on a target" for i in incidents]
    if not targets:
        problems.append("the release deploys to no CI")
    return {
        "release": release_id,
        "targets": impact["roots"] if impact else [],
        "affected": {k: impact[k] for k in ("total", "by_class", "items")} if impact else {"total": 0},
        "business_services": impact["business_services"] if impact else [],
        "ready": not problems,
        "readiness_problems": problems,
    }
