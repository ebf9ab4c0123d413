"""Discovery status: which sources report, when each collector last ran, which reports were
refused and which sources went quiet (stale), for the API and the web UI's discovery page.

A source is stale when the server has received no report of it for longer than
``CMDB_STALE_AFTER_HOURS``, the same setting that marks its CIs stale. A refused report
(4xx: a contract broken, a source the token may not speak for, out of order) is noted on the
source's state by :func:`note_refused`, since the refused report itself leaves nothing behind.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from neo4j import AsyncDriver
from neo4j.exceptions import Neo4jError

from cmdb_server.errors import ApiError
from cmdb_server.intake import ChangedSince
from cmdb_server.repositories import sources

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SourceFilter:
    """What the discovery page narrows its list of sources to."""

    stale_only: bool = False
    refused_only: bool = False
    kind: str | None = None


async def source_page(
    driver: AsyncDriver,
    database: str,
    stale_after: timedelta,
    now: datetime,
    wanted: SourceFilter,
    offset: int,
    limit: int,
) -> tuple[list[dict[str, Any]], int]:
    """A page of sources (the API's ``GET /sources`` rows), each marked ``stale`` or not."""
    cutoff = now - stale_after
    rows, total = await sources.page_sources(
        driver,
        database,
        offset,
        limit,
        stale_before=cutoff if wanted.stale_only else None,
        refused_only=wanted.refused_only,
        kind=wanted.kind,
    )
    for row in rows:
        row["stale"] = row["received_at"] is None or row["received_at"] < cutoff
    return rows, total


async def collectors(driver: AsyncDriver, database: str, stale_after: timedelta, now: datetime) -> list[dict[str, Any]]:
    """The last run of each collector (its newest report), with its stale and refused sources."""
    return await sources.collector_runs(driver, database, now - stale_after)


async def note_refused(driver: AsyncDriver, database: str, source: str, error: ApiError, now: datetime) -> None:
    """Note on the source's state that its report was refused (best effort: the answer to the
    sender is the refusal whatever happens here). A short report the sender must send in full
    (ChangedSince) is the protocol, not a failure; a token speaking for a source it may not
    (403) marks only a source that already reported, and makes none."""
    if isinstance(error, ChangedSince) or error.status >= 500:
        return
    reason = error.message if not error.field else f"{error.message} (field {error.field})"
    try:
        await sources.note_refusal(driver, database, source, error.status, reason, now, known_only=error.status == 403)
    except Neo4jError as exc:
        log.warning("could not note the refused report of %s: %s", source, exc)
