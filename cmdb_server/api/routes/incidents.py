"""Incidents and problems: what is broken, what caused it, and what changed under it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query

from cmdb_server.api.deps import DriverDep, SchemaDep, SettingsDep
from cmdb_server.api.params import LinkedTo, PageLimit, PageOffset
from cmdb_server.api.records import (
    actor,
    apply_transition,
    checked_cis,
    load_record,
    record_history,
    record_page,
    requested_edits,
    save_edits,
)
from cmdb_server.auth import Principal, Reader, require
from cmdb_server.errors import Unprocessable
from cmdb_server.impact import upstream
from cmdb_server.impact_service import DEFAULT_DEPTH, MAX_DEPTH, upstream_graph
from cmdb_server.models.impact import IncidentSuspects
from cmdb_server.models.records import (
    IncidentCreate,
    IncidentList,
    IncidentPublic,
    IncidentUpdate,
    ProblemCreate,
    ProblemList,
    ProblemPublic,
    ProblemUpdate,
    RecordHistory,
    Transition,
)
from cmdb_server.reconcile import decode_event
from cmdb_server.repositories import records
from schema import Capability
from schema.itsm import (
    INCIDENT_TRANSITIONS,
    PROBLEM_TRANSITIONS,
    IncidentImpact,
    IncidentPriority,
    IncidentStatus,
    IncidentUrgency,
    ProblemStatus,
)
from schema.service_desk import load_service_desk_rules
from schema.values import quoted

router = APIRouter(tags=["incidents and problems"])

Responder = Annotated[Principal, Depends(require(Capability.RESPOND_INCIDENT))]
RecordId = Annotated[str, Path(min_length=1, max_length=40)]


_record = load_record

FUTURE_SKEW = timedelta(minutes=5)
"""How far ahead of the server's clock an incident's opening may be (clocks differ a little)."""


def _priority(
    priority: IncidentPriority | None, impact: IncidentImpact | None, urgency: IncidentUrgency | None
) -> IncidentPriority:
    """The priority given, or the one the matrix gives impact and urgency (schema/service_desk.toml)."""
    if impact is not None and urgency is not None:
        return load_service_desk_rules().priority(impact, urgency)
    return priority or IncidentPriority.MEDIUM


@router.get("/incidents", summary="List incidents, filtered and paged", response_model=IncidentList)
async def list_incidents(
    _: Reader,
    driver: DriverDep,
    settings: SettingsDep,
    status: Annotated[IncidentStatus | None, Query()] = None,
    priority: Annotated[IncidentPriority | None, Query()] = None,
    assignee: Annotated[str | None, Query(min_length=1, max_length=200)] = None,
    support_group: Annotated[str | None, Query(min_length=1, max_length=200)] = None,
    ci: LinkedTo = None,
    limit: PageLimit = 50,
    offset: PageOffset = 0,
) -> Any:
    filters = {"status": status, "priority": priority, "assignee": assignee, "support_group": support_group}
    return await record_page(driver, settings.neo4j_database, records.INCIDENT, filters, ci, limit, offset)


@router.patch(
    "/incidents/{incident_id}",
    summary="Edit an incident (assign it, link it to a problem)",
    response_model=IncidentPublic,
)
async def update_incident(
    incident_id: RecordId, body: IncidentUpdate, principal: Responder, driver: DriverDep, settings: SettingsDep
) -> Any:
    """Impact and urgency give the priority again; ``problem`` links it to a problem (its
    earlier link replaced). Every change is in its history."""
    db = settings.neo4j_database
    incident = await _record(driver, db, records.INCIDENT, incident_id)
    updates = requested_edits(body)
    links = None
    if "problem" in updates:
        problem = updates.pop("problem")
        if await records.missing_records(driver, db, "Problem", [problem]):
            raise Unprocessable(f"no problem {quoted(problem)}", field="problem")
        old = [r["id"] for r in incident["records"] if r["type"] == "INSTANCE_OF"]
        links = ("INSTANCE_OF", old, [problem])
    if "impact" in updates or "urgency" in updates:
        impact = IncidentImpact(updates.get("impact") or incident.get("impact") or "medium")
        urgency = IncidentUrgency(updates.get("urgency") or incident.get("urgency") or "medium")
        updates |= {
            "impact": impact.value,
            "urgency": urgency.value,
            "priority": _priority(None, impact, urgency).value,
        }
    await save_edits(driver, db, records.INCIDENT, incident, updates, principal, links, link_label="Problem")
    return await _record(driver, db, records.INCIDENT, incident_id)


@router.post(
    "/incidents", status_code=201, summary="Open an incident on the CIs it affects", response_model=IncidentPublic
)
async def create_incident(body: IncidentCreate, principal: Responder, driver: DriverDep, settings: SettingsDep) -> Any:
    db = settings.neo4j_database
    now = datetime.now(UTC)
    if (body.impact is None) != (body.urgency is None):
        missing = "urgency" if body.urgency is None else "impact"
        raise Unprocessable("give impact and urgency together: the priority comes from both", field=missing)
    if body.impact is not None and body.priority is not None:
        raise Unprocessable("give a priority, or impact and urgency, not both", field="priority")
    if body.opened_at is not None and body.opened_at > now + FUTURE_SKEW:
        raise Unprocessable("an incident cannot have opened in the future", field="opened_at")
    affected = await checked_cis(driver, db, body.affected, "affected")
    problems = [body.problem] if body.problem else []
    if problems and await records.missing_records(driver, db, "Problem", problems):
        raise Unprocessable(f"no problem {quoted(body.problem)}", field="problem")
    props = {
        "title": body.title,
        "priority": _priority(body.priority, body.impact, body.urgency).value,
        "status": IncidentStatus.NEW.value,
        "opened_at": body.opened_at or now,
        **{k: v for k, v in body.model_dump(include={"impact", "urgency", "assignee", "support_group"}).items() if v},
    }
    incident_id = await records.create_record(
        driver, db, records.INCIDENT, props, {"AFFECTS": affected}, {"INSTANCE_OF": problems}, actor(principal), now
    )
    return await _record(driver, db, records.INCIDENT, incident_id)


@router.get("/incidents/{incident_id}", summary="One incident", response_model=IncidentPublic)
async def get_incident(incident_id: RecordId, _: Reader, driver: DriverDep, settings: SettingsDep) -> Any:
    return await _record(driver, settings.neo4j_database, records.INCIDENT, incident_id)


@router.post(
    "/incidents/{incident_id}/transition",
    summary="new -> in_progress -> resolved -> closed",
    response_model=IncidentPublic,
)
async def move_incident(
    incident_id: RecordId, body: Transition, principal: Responder, driver: DriverDep, settings: SettingsDep
) -> Any:
    db = settings.neo4j_database
    incident = await _record(driver, db, records.INCIDENT, incident_id)

    def times(target: IncidentStatus) -> dict[str, Any]:
        now = datetime.now(UTC)
        updates: dict[str, Any] = {}
        if target is IncidentStatus.RESOLVED:
            updates["resolved_at"] = now
        if target is IncidentStatus.CLOSED:
            updates["closed_at"] = now
        return updates

    await apply_transition(
        driver,
        db,
        records.INCIDENT,
        incident,
        INCIDENT_TRANSITIONS,
        "status",
        body.to,
        principal,
        times,
        note=body.note,
    )
    return await _record(driver, db, records.INCIDENT, incident_id)


@router.get(
    "/incidents/{incident_id}/suspects",
    summary="What changed upstream of the affected CIs before it opened",
    response_model=IncidentSuspects,
)
async def incident_suspects(
    incident_id: RecordId,
    _: Reader,
    driver: DriverDep,
    settings: SettingsDep,
    schema: SchemaDep,
    hours: Annotated[float, Query(gt=0, le=24 * 90, description="How far back before the incident to look.")] = 72,
    depth: Annotated[int, Query(ge=1, le=MAX_DEPTH)] = DEFAULT_DEPTH,
) -> Any:
    """CIs upstream of the affected ones (whose trouble would reach them) that changed or
    drifted shortly before the incident opened, ranked nearest and most recent first."""
    db = settings.neo4j_database
    incident = await _record(driver, db, records.INCIDENT, incident_id)
    affected = await records.linked_ci_uids(driver, db, records.INCIDENT, incident_id)
    graph = await upstream_graph(affected, depth, driver, db, schema)
    paths = upstream(schema, graph, affected, depth)
    candidates: dict[str, list[Any]] = {uid: [] for uid in affected} | dict(paths)
    opened = incident["opened_at"]
    since = opened - timedelta(hours=hours)
    events = [decode_event(e) for e in await records.events_between(driver, db, sorted(candidates), since, opened)]
    changes = await records.changes_touching(driver, db, sorted(candidates), since, opened)
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


@router.post(
    "/problems",
    status_code=201,
    summary="Record a problem and its suspected root-cause CIs",
    response_model=ProblemPublic,
)
async def create_problem(body: ProblemCreate, principal: Responder, driver: DriverDep, settings: SettingsDep) -> Any:
    db = settings.neo4j_database
    suspects = await checked_cis(driver, db, body.suspects, "suspects")
    now = datetime.now(UTC)
    props = {"title": body.title, "status": ProblemStatus.OPEN.value, "known_error": False, "opened_at": now}
    problem_id = await records.create_record(
        driver, db, records.PROBLEM, props, {"SUSPECTS": suspects}, {}, actor(principal), now
    )
    return await _record(driver, db, records.PROBLEM, problem_id)


@router.get("/problems", summary="List problems, filtered and paged", response_model=ProblemList)
async def list_problems(
    _: Reader,
    driver: DriverDep,
    settings: SettingsDep,
    status: Annotated[ProblemStatus | None, Query()] = None,
    assignee: Annotated[str | None, Query(min_length=1, max_length=200)] = None,
    support_group: Annotated[str | None, Query(min_length=1, max_length=200)] = None,
    ci: LinkedTo = None,
    limit: PageLimit = 50,
    offset: PageOffset = 0,
) -> Any:
    filters = {"status": status, "assignee": assignee, "support_group": support_group}
    return await record_page(driver, settings.neo4j_database, records.PROBLEM, filters, ci, limit, offset)


@router.patch(
    "/problems/{problem_id}", summary="Edit a problem: its root cause, workaround, owner", response_model=ProblemPublic
)
async def update_problem(
    problem_id: RecordId, body: ProblemUpdate, principal: Responder, driver: DriverDep, settings: SettingsDep
) -> Any:
    """A known error is a problem whose root cause (and workaround) is recorded: move it to
    ``known_error`` once they are."""
    db = settings.neo4j_database
    problem = await _record(driver, db, records.PROBLEM, problem_id)
    await save_edits(driver, db, records.PROBLEM, problem, requested_edits(body), principal)
    problem = await _record(driver, db, records.PROBLEM, problem_id)
    problem["incidents"] = await records.incidents_of_problem(driver, db, problem_id)
    return problem


@router.get("/problems/{problem_id}", summary="One problem, with its incidents", response_model=ProblemPublic)
async def get_problem(problem_id: RecordId, _: Reader, driver: DriverDep, settings: SettingsDep) -> Any:
    db = settings.neo4j_database
    problem = await _record(driver, db, records.PROBLEM, problem_id)
    problem["incidents"] = await records.incidents_of_problem(driver, db, problem_id)
    return problem


@router.post(
    "/problems/{problem_id}/transition",
    summary="open -> known_error -> resolved -> closed",
    response_model=ProblemPublic,
)
async def move_problem(
    problem_id: RecordId, body: Transition, principal: Responder, driver: DriverDep, settings: SettingsDep
) -> Any:
    db = settings.neo4j_database
    problem = await _record(driver, db, records.PROBLEM, problem_id)

    def flags(target: ProblemStatus) -> dict[str, Any]:
        updates: dict[str, Any] = {}
        if target is ProblemStatus.KNOWN_ERROR:
            updates["known_error"] = True
        return updates

    await apply_transition(
        driver, db, records.PROBLEM, problem, PROBLEM_TRANSITIONS, "status", body.to, principal, flags, note=body.note
    )
    return await _record(driver, db, records.PROBLEM, problem_id)


@router.get(
    "/incidents/{incident_id}/history",
    summary="Who did what to an incident, newest first",
    response_model=RecordHistory,
)
async def incident_history(incident_id: RecordId, _: Reader, driver: DriverDep, settings: SettingsDep) -> Any:
    await _record(driver, settings.neo4j_database, records.INCIDENT, incident_id)
    return await record_history(driver, settings.neo4j_database, incident_id)


@router.get(
    "/problems/{problem_id}/history", summary="Who did what to a problem, newest first", response_model=RecordHistory
)
async def problem_history(problem_id: RecordId, _: Reader, driver: DriverDep, settings: SettingsDep) -> Any:
    await _record(driver, settings.neo4j_database, records.PROBLEM, problem_id)
    return await record_history(driver, settings.neo4j_database, problem_id)
