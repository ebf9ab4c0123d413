"""Taking one report, whoever sent it: the one path from a received report to the graph.

``POST /reports`` (agents, collectors), ``POST /ocsinventory`` and ``POST /inventory``
(FusionInventory and OCS agents, ``cmdb import``) all end here, so a report is decoded,
held to its sender's authority, applied (or recognised as unchanged by its fingerprint) and,
when refused, noted on its source the same way whatever the door it came in by.
"""

from __future__ import annotations

from collections.abc import Awaitable
from datetime import UTC, datetime, timedelta

from neo4j import AsyncDriver
from neo4j.exceptions import ConstraintError

from cmdb_server import discovery_status, metrics
from cmdb_server.auth import Principal
from cmdb_server.config import Settings
from cmdb_server.errors import ApiError, Conflict, Unprocessable
from cmdb_server.ingest import Caller, IngestSummary, ingest_report
from cmdb_server.intake import IncomingReport
from schema import Schema
from schema.report import ReportError


async def take_report(
    driver: AsyncDriver,
    settings: Settings,
    schema: Schema,
    principal: Principal,
    received: Awaitable[IncomingReport],
    *,
    started: float,
    spool_depth: str | None = None,
) -> IngestSummary:
    """Receive the report and apply it in one transaction, all or nothing.

    ``received``: the CPU-bound decoding and checks, ``asyncio.to_thread(...)`` so the event
    loop keeps answering /healthz meanwhile; once it has run, its frame (and a large body it
    was given) is freed before the transaction starts. A refusal is an ApiError naming the
    field at fault (422 for a report that breaks the contract, 409 for one that conflicts with
    the graph), noted on the report's source when its header named one. Every outcome is
    counted (GET /metrics) by source kind, with the time since ``started``; ``spool_depth``:
    what the sender said of its spool (X-CMDB-Spool-Depth), kept per source.
    """
    incoming: IncomingReport | None = None
    try:
        incoming = await received
        metrics.record_spool_depth(incoming.header.source_key, spool_depth)
        summary = await ingest_report(
            driver,
            settings.neo4j_database,
            schema,
            incoming,
            Caller(token_id=principal.token_id, role=principal.role, sources=principal.sources),
            timedelta(hours=settings.stale_after_hours),
            max_future=timedelta(seconds=settings.max_clock_skew_seconds),
        )
    except ReportError as exc:
        broken = Unprocessable(
            f"the report breaks the contract: {exc}",
            fields=[{"field": p.path, "in": "body", "message": p.message} for p in exc.problems],
        )
        await _refused(driver, settings.neo4j_database, incoming, broken, started)
        raise broken from None
    except ConstraintError as exc:
        conflict = Conflict(f"the report conflicts with the graph: {exc.message}")
        await _refused(driver, settings.neo4j_database, incoming, conflict, started)
        raise conflict from None
    except ApiError as exc:
        await _refused(driver, settings.neo4j_database, incoming, exc, started)
        raise
    outcome = metrics.report_outcome(summary.replayed, summary.events)
    metrics.record_report(incoming.header.source_kind.value, outcome, 200, started)
    return summary


async def _refused(
    driver: AsyncDriver, database: str, incoming: IncomingReport | None, error: ApiError, started: float
) -> None:
    """Count the refusal, and note it on the report's source when its header named one (discovery status)."""
    metrics.record_report(incoming.header.source_kind.value if incoming else None, "refused", error.status, started)
    if incoming is not None:
        await discovery_status.note_refused(driver, database, incoming.header.source_key, error, datetime.now(UTC))
