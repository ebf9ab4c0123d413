"""What every ITSM record's routes share: loading, CI checks, transitions, history."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, TypeVar

from neo4j import AsyncDriver
from pydantic import BaseModel

from cmdb_server.auth import Principal
from cmdb_server.errors import Conflict, NotFound, Unprocessable
from cmdb_server.itsm import IllegalTransition, check_transition
from cmdb_server.reconcile import decode_event
from cmdb_server.repositories import records
from cmdb_server.repositories.cis import history_of
from schema.values import quoted

S = TypeVar("S", bound=StrEnum)


def actor(principal: Principal) -> str:
    return f"user:{principal.name}"


async def checked_cis(driver: AsyncDriver, database: str, uids: list[str], field: str) -> list[str]:
    """The uids, each once, or 422 naming the field and the uids that are no CI."""
    unique = list(dict.fromkeys(uids))
    missing = await records.missing_cis(driver, database, unique)
    if missing:
        raise Unprocessable(f"no CI with uid {', '.join(repr(m) for m in missing)}", field=field)
    return unique


async def load_record(driver: AsyncDriver, database: str, kind: records.RecordKind, record_id: str) -> dict[str, Any]:
    record = await records.get_record(driver, database, kind, record_id)
    if record is None:
        raise NotFound(f"no {kind.label.lower()} {quoted(record_id)}", field="id", location="path")
    return record


async def apply_transition(
    driver: AsyncDriver,
    database: str,
    kind: records.RecordKind,
    record: dict[str, Any],
    machine: Mapping[S, tuple[S, ...]],
    field: str,
    to: str,
    principal: Principal,
    extra: Callable[[S], dict[str, Any]] | None = None,
    now: datetime | None = None,
    note: str = "",
) -> S:
    """Move a record along its state machine, or 409 with the allowed states; no lost updates.

    ``note`` (why) is kept as the record's ``note`` unless ``extra`` files it elsewhere.
    """
    current = type(next(iter(machine)))(record[field])
    try:
        target = check_transition(machine, current, to)
    except IllegalTransition as exc:
        raise Conflict.refused_transition(str(exc), exc.allowed) from None
    updates = {field: target.value} | ({"note": note} if note else {}) | (extra(target) if extra else {})
    ok = await records.update_record(
        driver,
        database,
        kind,
        record["id"],
        {field: current.value},
        updates,
        actor(principal),
        now or datetime.now(UTC),
        current=record,
    )
    if not ok:
        raise Conflict(f"the {kind.label.lower()} moved meanwhile; read it again", field=field)
    return target


async def record_history(driver: AsyncDriver, database: str, record_id: str) -> dict[str, Any]:
    """The history of any ITSM record: its events, newest first, values decoded."""
    events, total = await history_of(driver, database, record_id, since=None, until=None, limit=500, offset=0)
    return {"id": record_id, "items": [decode_event(e) for e in events], "total": total}


async def record_page(
    driver: AsyncDriver,
    database: str,
    kind: records.RecordKind,
    filters: Mapping[str, StrEnum | str | None],
    ci: str | None,
    limit: int,
    offset: int,
    sort: str = "id",
) -> dict[str, Any]:
    """A page of records of a kind, filtered by field values (None: any) and a linked CI, sorted
    by one of ``kind.sortable`` (``-field`` descends; 422 naming ``sort`` for another)."""
    if sort.removeprefix("-") not in kind.sortable:
        raise Unprocessable(
            f"cannot sort by {quoted(sort)}; use one of {', '.join(kind.sortable)}", field="sort", location="query"
        )
    wanted = {
        field: [value.value if isinstance(value, StrEnum) else value] for field, value in filters.items() if value
    }
    items, total = await records.page_records(driver, database, kind, wanted, ci, offset, limit, sort)
    return {
        "items": items,
        "total": total,
        "limit": limit,
        "offset": offset,
        "next_offset": offset + limit if offset + limit < total else None,
    }


def requested_edits(body: BaseModel) -> dict[str, Any]:
    """The fields an edit body sets (those it leaves out stay), or 422 when it sets none."""
    updates = body.model_dump(exclude_none=True)
    if not updates:
        raise Unprocessable("nothing to change", field="body")
    return updates


def _kind_name(kind: records.RecordKind) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", " ", kind.label).lower()  # FreezeWindow: "freeze window"


async def save_edits(
    driver: AsyncDriver,
    database: str,
    kind: records.RecordKind,
    record: dict[str, Any],
    updates: Mapping[str, Any],
    principal: Principal,
    links: tuple[str, list[str], list[str]] | None = None,
    link_label: str = "CI",
) -> None:
    """An edit as the record's next revision, each field (and a replaced link) in its history;
    409 when someone else changed it since it was read (no lost update)."""
    ok = await records.update_record(
        driver,
        database,
        kind,
        record["id"],
        {"revision": record["revision"]},
        {k: v.value if isinstance(v, StrEnum) else v for k, v in updates.items()},
        actor(principal),
        datetime.now(UTC),
        bump_revision=True,
        current=record,
        links=links,
        link_label=link_label,
    )
    if not ok:
        raise Conflict(f"the {_kind_name(kind)} was modified meanwhile; read it again", field="revision")
