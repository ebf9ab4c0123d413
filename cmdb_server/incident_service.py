"""Incidents as the API and the web UI both handle them: opening one (its priority from impact
and urgency), editing, moving it along its states, and triage (its suspects).

One implementation for both callers: ``api/routes/incidents.py`` and ``web/incidents.py``
call these functions, so a page and the API cannot disagree on a priority or a suspect.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from neo4j import AsyncDriver

from cmdb_server.api.records import actor, apply_transition, checked_cis, load_record, requested_edits, save_edits
from cmdb_server.auth import Principal
from cmdb_server.errors import Unprocessable
from cmdb_server.impact import upstream
from cmdb_server.impact_service import DEFAULT_DEPTH, upstream_graph
from cmdb_server.models.records import IncidentCreate, IncidentUpdate
from cmdb_server.reconcile import decode_event
from cmdb_server.repositories import records
from schema import Schema
from schema.itsm import INCIDENT_TRANSITIONS, IncidentImpact, IncidentPriority, IncidentStatus, IncidentUrgency
from schema.service_desk import load_service_desk_rules
from schema.values import quoted

FUTURE_SKEW = timedelta(minutes=5)
"""How far ahead of the server's clock an incident's opening may be (clocks differ a little)."""

SUSPECT_HOURS = 72.0
"""How far back before an incident opened triage looks for changes, unless asked otherwise."""


def priority_of(
    priority: IncidentPriority | None, impact: IncidentImpact | None, urgency: IncidentUrgency | None
) -> IncidentPriority:
    """The priority given, or the one the matrix gives impact and urgency (schema/service_desk.toml)."""
    if impact is not None and urgency is not None:
        return load_service_desk_rules().priority(impact, urgency)
    return priority or IncidentPriority.MEDIUM


async def open_incident(
    driver: AsyncDriver, database: str, body: IncidentCreate, principal: Principal
) -> dict[str, Any]:
    """A new incident on the CIs it affects (each must exist), status ``new``; 422 naming the field
    when impact comes without urgency, both a priority and a rating, or an opening in the future."""
    now = datetime.now(UTC)
    if (body.impact is None) != (body.urgency is None):
        missing = "urgency" if body.urgency is None else "impact"
        raise Unprocessable("give impact and urgency together: the priority comes from both", field=missing)
    if body.impact is not None and body.priority is not None:
        raise Unprocessable("give a priority, or impact and urgency, not both", field="priority")
    if body.opened_at is not None and body.opened_at > now + FUTURE_SKEW:
        raise Unprocessable("an incident cannot have opened in the future", field="opened_at")
    affected = await checked_cis(driver, database, body.affected, "affected")
    problems = [body.problem] if body.problem else []
    if problems and await records.missing_records(driver, database, "Problem", problems):
        raise Unprocessable(f"no problem {quoted(body.problem)}", field="problem")
    props = {
        "title": body.title,
        "priority": priority_of(body.priority, body.impact, body.urgency).value,
        "status": IncidentStatus.NEW.value,
        "opened_at": body.opened_at or now,
        **{k: v for k, v in body.model_dump(include={"impact", "urgency", "assignee", "support_group"}).items() if v},
    }
    incident_id = await records.create_record(
        driver,
        database,
        records.INCIDENT,
        props,
        {"AFFECTS": affected},
        {"INSTANCE_OF": problems},
        actor(principal),
        now,
    )
    return await load_record(driver, database, records.INCIDENT, incident_id)


async def edit_incident(
    driver: AsyncDriver, database: str, incident_id: str, body: IncidentUpdate, principal: Principal
) -> dict[str, Any]:
    """Assign, re-rate (impact and urgency give the priority again), link to a problem (its
    earlier link replaced); every change in its history, 409 when it changed meanwhile."""
    incident = await load_record(driver, database, records.INCIDENT, incident_id)
    updates = requested_edits(body)
    links = None
    if "problem" in updates:
        problem = updates.pop("problem")
        if await records.missing_records(driver, database, "Problem", [problem]):
            raise Unprocessable(f"no problem {quoted(problem)}", field="problem")
        old = [r["id"] for r in incident["records"] if r["type"] == "INSTANCE_OF"]
        links = ("INSTANCE_OF", old, [problem])
    if "impact" in updates or "urgency" in updates:
        impact = IncidentImpact(updates.get("impact") or incident.get("impact") or "medium")
        urgency = IncidentUrgency(updates.get("urgency") or incident.get("urgency") or "medium")
        updates |= {
            "impact": impact.value,
            "urgency": urgency.value,
            "priority": priority_of(None, impact, urgency).value,
        }
    await save_edits(driver, database, records.INCIDENT, incident, updates, principal, links, link_label="Problem")
    return await load_record(driver, database, records.INCIDENT, incident_id)


def _times(target: IncidentStatus) -> dict[str, Any]:
    """When it was resolved or closed, kept with the record."""
    now = datetime.now(UTC)
    if target is IncidentStatus.RESOLVED:
        return {"resolved_at": now}
    if target is IncidentStatus.CLOSED:
        return {"closed_at": now}
    return {}


async def move_incident(
    driver: AsyncDriver, database: str, incident_id: str, to: str, note: str, principal: Principal
) -> dict[str, Any]:
    """new -> in_progress -> resolved -> closed (resolved may reopen); 409 naming the allowed
    next states otherwise. ``note``: why (the resolution, when resolving)."""
    incident = await load_record(driver, database, records.INCIDENT, incident_id)
    await apply_transition(
        driver, database, records.INCIDENT, incident, INCIDENT_TRANSITIONS, "status", to, principal, _times, note=note
    )
    return await load_record(driver, database, records.INCIDENT, incident_id)


def next_statuses(status: str) -> list[str]:
    """The states an incident in ``status`` may move to (what a page offers)."""
    return [s.value for s in INCIDENT_TRANSITIONS.get(IncidentStatus(status), ())]


async def incident_suspects(
    driver: AsyncDriver,
    database: str,
    schema: Schema,
    incident_id: str,
    hours: float = SUSPECT_HOURS,
    depth: int = DEFAULT_DEPTH,
) -> dict[str, Any]:
    """CIs upstream of the affected ones (whose trouble would reach them) that changed or
    drifted shortly before the incident opened, ranked nearest and most recent first."""
    incident = await load_record(driver, database, records.INCIDENT, incident_id)
    affected = await records.linked_ci_uids(driver, database, records.INCIDENT, incident_id)
    graph = await upstream_graph(affected, depth, driver, database, schema)
    paths = upstream(schema, graph, affected, depth)
    candidates: dict[str, list[Any]] = {uid: [] for uid in affected} | dict(paths)
    opened = incident["opened_at"]
    since = opened - timedelta(hours=hours)
    found = await records.events_between(driver, database, sorted(candidates), since, opened)
    events = [decode_event(e) for e in found]
    changes = await records.changes_touching(driver, database, sorted(candidates), since, opened)
    suspects = []
    for uid, path in candidates.items():
        node = graph.nodes[uid]
        first_seen = node.properties.get("first_seen")
        # Relations started when the CI was first seen are its discovery, not a change.
        evidence = [
            e for e in events if e["ci_uid"] == uid and not (e["kind"] == "relation_started" and e["at"] == first_seen)
        ]
        touching = [c for c in changes if uid in c["targets"]]
        if not evidence and not touching:
            continue
        latest = max([e["at"] for e in evidence] + [c["planned_start"] for c in touching])
        suspects.append(
            {
                "uid": uid,
                "name": node.name,
                "class": node.ci_class,
                "distance": max(0, len(path) - 1),
                "latest": latest,
                "hours_before": round((opened - latest).total_seconds() / 3600, 2),
                "path": [
                    {"uid": s.uid, "name": graph.nodes[s.uid].name, "via": s.via, "direction": s.direction}
                    for s in path
                ],
                "events": evidence,
                "changes": [{"id": c["id"], "title": c["title"], "state": c["state"]} for c in touching],
            }
        )
    suspects.sort(key=lambda s: (s["distance"], s["hours_before"], s["name"] or ""))
    return {"incident": incident_id, "opened_at": opened, "since": since, "suspects": suspects}
