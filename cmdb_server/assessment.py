"""Change assessment: impact of the targets, what else is going on there, and the risk."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from neo4j import AsyncDriver

from cmdb_server.impact_service import DEFAULT_DEPTH, impact_of
from cmdb_server.itsm import assess_risk
from cmdb_server.repositories import records
from schema import Schema
from schema.itsm import CHANGE_OPEN, INCIDENT_OPEN, PROBLEM_OPEN, ChangeType


async def affected_set(driver: AsyncDriver, database: str, schema: Schema, targets: list[str]) -> dict[str, Any]:
    impact = await impact_of(targets, DEFAULT_DEPTH, driver, database, schema)
    names = {r["uid"]: r["name"] for r in impact["roots"]} | {i["uid"]: i["name"] for i in impact["items"]}
    return {"impact": impact, "uids": set(names), "names": names}


async def assess_change(
    driver: AsyncDriver, database: str, schema: Schema, change: dict[str, Any], targets: list[str], now: datetime
) -> dict[str, Any]:
    ours = await affected_set(driver, database, schema, targets)
    impact = ours["impact"]
    start, end = change["planned_start"], change["planned_end"]
    collisions = []
    for other in await records.changes_in_window(driver, database, sorted(CHANGE_OPEN), start, end, change["id"]):
        theirs = await affected_set(driver, database, schema, other["targets"])
        shared = sorted(ours["uids"] & theirs["uids"])
        if shared:
            collisions.append(
                {
                    "id": other["id"],
                    "title": other["title"],
                    "state": other["state"],
                    "planned_start": other["planned_start"],
                    "planned_end": other["planned_end"],
                    "shared": [{"uid": uid, "name": ours["names"][uid]} for uid in shared],
                }
            )
    service_uids = {s["uid"] for s in impact["business_services"]}
    freezes = []
    for freeze in await records.freezes_in_window(driver, database, start, end):
        limited = set(freeze["services"])
        if not limited or limited & service_uids:
            freezes.append({"id": freeze["id"], "name": freeze["name"], "start": freeze["start"], "end": freeze["end"]})
    uids = sorted(ours["uids"])
    incidents = await records.records_on_cis(driver, database, records.INCIDENT, "status", sorted(INCIDENT_OPEN), uids)
    problems = await records.records_on_cis(driver, database, records.PROBLEM, "status", sorted(PROBLEM_OPEN), uids)
    risk = assess_risk(
        ChangeType(change["type"]), impact["business_services"], impact["total"], collisions, freezes, incidents
    )
    return {
        "change": change["id"],
        "revision": change["revision"],
        "assessed_at": now,
        "targets": impact["roots"],
        "affected": {"total": impact["total"], "by_class": impact["by_class"], "items": impact["items"]},
        "business_services": impact["business_services"],
        "open_incidents": incidents,
        "open_problems": problems,
        "collisions": collisions,
        "freeze_conflicts": freezes,
        "risk": {"level": risk.level.value, "score": risk.score, "reasons": risk.reasons},
    }
