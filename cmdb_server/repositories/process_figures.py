"""Cypher of the process figures: when changes ended and how, incidents' times, problems open.

Each record's times come from its own fields where it keeps them (an incident's
``opened_at`` and ``resolved_at``, a problem's ``opened_at``) and otherwise from its history
(Event nodes keyed by the record id, read on the ``(ci_uid, at)`` index): when a change ended
and whether it failed, when an incident was first answered, a problem's status at a time.
Values in the history are JSON text, so states are compared as JSON (``$..._json``).
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from neo4j import AsyncDriver

from cmdb_server.db import read_query
from cmdb_server.reconcile import native, to_json
from schema.itsm import ChangeState, IncidentStatus


async def _rows(driver: AsyncDriver, database: str, query: str, **params: Any) -> list[dict[str, Any]]:
    records, _, _ = await driver.execute_query(read_query(query), params, database_=database, routing_="r")
    return [{k: native(v) for k, v in dict(r).items()} for r in records]


ENDED = (ChangeState.IMPLEMENTED, ChangeState.FAILED)
"""The states a change ends its implementation in (closed comes after one of them)."""


async def changes_ended(driver: AsyncDriver, database: str, start: datetime, end: datetime) -> list[dict[str, Any]]:
    """Changes whose implementation ended (first moved to implemented or failed) within
    [start, end): id, type, when it ended, whether it ever failed."""
    return await _rows(
        driver,
        database,
        """
        MATCH (c:Change) WHERE c.state IN $states
        CALL (c) {
            MATCH (e:Event {ci_uid: c.id}) WHERE e.kind = 'field' AND e.field = 'state' AND e.new IN $ended
            RETURN min(e.at) AS ended_at, any(x IN collect(e.new) WHERE x = $failed) AS failed
        }
        WITH c, ended_at, failed WHERE ended_at >= $start AND ended_at < $end
        RETURN c.id AS id, c.type AS type, ended_at, failed ORDER BY id
        """,
        states=[ChangeState.IMPLEMENTED.value, ChangeState.FAILED.value, ChangeState.CLOSED.value],
        ended=[to_json(s.value) for s in ENDED],
        failed=to_json(ChangeState.FAILED.value),
        start=start,
        end=end,
    )


async def incidents_opened(driver: AsyncDriver, database: str, start: datetime, end: datetime) -> list[str]:
    """Ids of the incidents opened within [start, end)."""
    rows = await _rows(
        driver,
        database,
        "MATCH (i:Incident) WHERE i.opened_at >= $start AND i.opened_at < $end RETURN i.id AS id ORDER BY id",
        start=start,
        end=end,
    )
    return [r["id"] for r in rows]


FIRST_ANSWERED = """
        CALL (i) {
            OPTIONAL MATCH (e:Event {ci_uid: i.id}) WHERE e.kind = 'field' AND e.field = 'status' AND e.old = $new
            RETURN min(e.at) AS answered_at
        }
"""
"""Cypher of when incident ``i`` was first answered (``answered_at``, null while it is new):
its first move out of ``new`` in its history. The query that includes it passes ``new=NEW``;
every reader of an incident's response time (these figures, a service's) uses this one."""

NEW = to_json(IncidentStatus.NEW.value)
"""``new`` as the history's JSON text holds it."""


async def incident_times(driver: AsyncDriver, database: str, start: datetime, end: datetime) -> list[dict[str, Any]]:
    """Incidents opened before ``end`` that were opened or changed since ``start`` (any answer
    or resolution in the period changed them): priority, status, opened, first answered (its
    first move out of ``new``), resolved (the latest resolution)."""
    return await _rows(
        driver,
        database,
        """
        MATCH (i:Incident) WHERE i.opened_at < $end AND (i.opened_at >= $start OR i.updated_at >= $start)
        """
        + FIRST_ANSWERED
        + """
        RETURN i.id AS id, i.priority AS priority, i.status AS status, i.opened_at AS opened_at,
               answered_at, i.resolved_at AS resolved_at ORDER BY id
        """,
        new=NEW,
        start=start,
        end=end,
    )


async def problems_at(driver: AsyncDriver, database: str, at: datetime) -> list[dict[str, Any]]:
    """Problems opened by ``at``, with their status then: the last status their history
    recorded by then; none by then: the status they left at their first move; never moved:
    the status they have."""
    rows = await _rows(
        driver,
        database,
        """
        MATCH (p:Problem) WHERE coalesce(p.opened_at, p.created_at) <= $at
        CALL (p) {
            OPTIONAL MATCH (e:Event {ci_uid: p.id}) WHERE e.kind = 'field' AND e.field = 'status' AND e.at <= $at
            WITH e ORDER BY e.at DESC LIMIT 1
            RETURN e.new AS status_then
        }
        CALL (p) {
            OPTIONAL MATCH (e:Event {ci_uid: p.id}) WHERE e.kind = 'field' AND e.field = 'status'
            WITH e ORDER BY e.at LIMIT 1
            RETURN e.old AS first_status
        }
        RETURN p.id AS id, coalesce(p.opened_at, p.created_at) AS opened_at,
               coalesce(status_then, first_status) AS status_json, p.status AS status_now
        ORDER BY id
        """,
        at=at,
    )
    for row in rows:  # the history's JSON text, or the status it has kept since it opened
        status_json = row.pop("status_json")
        row["status"] = json.loads(status_json) if status_json is not None else row["status_now"]
    return rows
