"""A CI's past: as it was at a time, and what changed between two times, rebuilt from its
history. The API's ``GET /cis/{uid}?at=`` and ``/diff`` and the CI page both call these."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from neo4j import AsyncDriver

from cmdb_server import timeline
from cmdb_server.errors import NotFound, Unprocessable
from cmdb_server.models.ci import CIPublic
from cmdb_server.reconcile import decode_event
from cmdb_server.repositories import cis
from schema import CIStatus, Schema
from schema.values import quoted


async def ci_at(driver: AsyncDriver, database: str, schema: Schema, uid: str, at: datetime | None) -> CIPublic:
    """The CI now (``at`` None) or as it was at ``at``."""
    record = await cis.get_ci(driver, database, schema, uid)
    deletion = None
    if record is None:
        deletion = await find_deletion(driver, database, uid)
        if at is None:
            raise deleted_error(uid, deletion)  # gone now; its past answers with ?at=
        record = as_it_was(uid, deletion)
    if at is None:
        return CIPublic.from_record(record)
    past = await state_at(driver, database, schema, record, at, deleted=deletion is not None)
    if not past.existed:
        if deletion is not None and at >= deletion.at:
            raise NotFound(
                f"CI {uid} was deleted at {deletion.at.isoformat()} ({deletion.reason})", field="at", location="query"
            )
        raise NotFound(f"CI {uid} did not exist at {at.isoformat()}", field="at", location="query")
    return CIPublic.from_record(record).model_copy(
        update={
            "class_name": past.ci_class,
            "status": CIStatus(past.status) if past.status else None,
            "name": past.attributes.get("name"),
            "attributes": past.attributes,
            "last_seen": None,
            "locks": {},
            "drift": {},
        }
    )


async def ci_diff(
    driver: AsyncDriver, database: str, schema: Schema, uid: str, since: datetime, until: datetime | None
) -> dict[str, Any]:
    """Field-level changes (class, status, attributes) from ``since`` to ``until`` (now if None)."""
    if until is not None and until < since:
        raise Unprocessable("'to' is before 'from'", field="to", location="query")
    record = await cis.get_ci(driver, database, schema, uid)
    deleted = record is None
    if record is None:
        record = as_it_was(uid, await find_deletion(driver, database, uid))
    before = await state_at(driver, database, schema, record, since, deleted=deleted)
    after = await state_at(driver, database, schema, record, until, deleted=deleted) if until else None
    if after is None and deleted:
        after = timeline.PastState(existed=False, ci_class=None, status=None)
    elif after is None:
        volatile = schema.classes[record.ci_class].volatile_attributes
        after = timeline.state_at(record.ci_class, record.status.value, record.attributes, [], volatile)
    return {
        "uid": uid,
        "from": since.isoformat(),
        "to": until.isoformat() if until else None,
        "existed": {"from": before.existed, "to": after.existed},
        "changes": timeline.diff(before, after),
    }


async def state_at(
    driver: AsyncDriver, database: str, schema: Schema, record: cis.CIRecord, at: datetime, *, deleted: bool = False
) -> timeline.PastState:
    """The CI at a time; a ``deleted`` one from its history alone (``record`` as it was when deleted)."""
    events = [decode_event(e) for e in await cis.events_after(driver, database, record.uid, at)]
    ci_class = schema.classes.get(record.ci_class)
    volatile = ci_class.volatile_attributes if ci_class else frozenset()
    if deleted:
        return timeline.state_at(None, None, {}, events, volatile, existed=False)
    return timeline.state_at(record.ci_class, record.status.value, record.attributes, events, volatile)


async def find_deletion(driver: AsyncDriver, database: str, uid: str) -> cis.Deletion:
    """Why a CI is not in the graph: deleted for good (its history stays), or 404, never was."""
    deletion = await cis.deletion_of(driver, database, uid)
    if deletion is None:
        raise NotFound(f"no CI with uid {quoted(uid)}", field="uid", location="path")
    return deletion


def deleted_error(uid: str, deletion: cis.Deletion) -> NotFound:
    return NotFound(
        f"CI {uid} was deleted at {deletion.at.isoformat()} by {deletion.source}: {deletion.reason}",
        field="uid",
        location="path",
    )


def as_it_was(uid: str, deletion: cis.Deletion) -> cis.CIRecord:
    """A deleted CI as its ``deleted`` event kept it; deletes older than that record cannot answer for the past."""
    if deletion.record is None:
        raise NotFound(
            f"CI {uid} was deleted at {deletion.at.isoformat()} ({deletion.reason}) before deletes kept the CI's "
            "last state: its past cannot be rebuilt; see its history",
            field="uid",
            location="path",
        )
    return deletion.record
