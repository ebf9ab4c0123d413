"""Report ingest: what agents and collectors send."""

from __future__ import annotations

import asyncio
import time
from typing import Annotated

import orjson
from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse

from cmdb_server import memory, metrics
from cmdb_server.api.body import read_body
from cmdb_server.api.deps import DriverDep, SchemaDep, SettingsDep
from cmdb_server.auth import Principal, require_roles
from cmdb_server.errors import ApiError, BadRequest
from cmdb_server.intake import IncomingReport, NotJson, decode_json
from cmdb_server.models.bulk import IngestSummary
from cmdb_server.report_service import take_report
from schema import Role, Schema
from schema.report import SPOOL_DEPTH_HEADER
from schema.values import quoted

router = APIRouter(prefix="/reports", tags=["ingest"])

Reporter = Annotated[Principal, Depends(require_roles(Role.AGENT, Role.COLLECTOR, Role.ADMIN))]


@router.post(
    "", summary="Send a report (agents, collectors, admins)", response_class=JSONResponse, response_model=IngestSummary
)
async def post_report(
    request: Request,
    principal: Reporter,
    driver: DriverDep,
    settings: SettingsDep,
    schema: SchemaDep,
) -> Response:
    """Validate, identify, reconcile and write one report, all or nothing.

    The answer counts created / updated / unchanged CIs per class and started / ended
    relations per type. A report whose ``report_id`` was applied before is not applied
    again: the answer is the first one's, with ``replayed: true``.
    """
    started = time.perf_counter()
    try:
        body = await read_body(request, settings.max_report_bytes)
    except ApiError as exc:
        metrics.record_report(None, "refused", exc.status, started)
        raise
    large = len(body) >= memory.LARGE_BODY_BYTES
    # Decoding, fingerprinting and checking a large report is CPU work of seconds: in a
    # thread; the body is then held by nothing (a finished coroutine drops its arguments).
    received = asyncio.to_thread(_receive, body, schema)
    del body
    try:
        summary = await take_report(
            driver,
            settings,
            schema,
            principal,
            received,
            started=started,
            spool_depth=request.headers.get(SPOOL_DEPTH_HEADER),
        )
        # Encoded here: FastAPI's generic encoder walks the answer's map of ~1,000 CI uids item by item.
        answer = orjson.dumps(summary.to_json())
    finally:
        if large:  # the decoded report is dropped first, then its memory given back
            await asyncio.to_thread(memory.release)
    return Response(answer, media_type="application/json")


PARSE_AHEAD_RECORDS = 2000
"""From this many records on, a full report is checked in the thread that decodes it: checking
a host's usual report (about 1,500 records) is a few milliseconds, and an unchanged one needs
no check at all (cmdb_server/intake.py), but 20,000 records take a second of CPU."""


def _receive(body: bytes, schema: Schema) -> IncomingReport:
    """The body decoded, its size and header checked, fingerprinted, and a large one checked
    in full (ReportError, ReportTooLarge, BadRequest): the CPU-bound part of taking a report."""
    try:
        data = decode_json(body)
    except NotJson as exc:
        raise BadRequest(f"body is not JSON: {quoted(str(exc))}", field="body") from None
    incoming = IncomingReport.receive(data, schema)
    records = data.get("records") if isinstance(data, dict) else None
    if not incoming.same_as and isinstance(records, list) and len(records) >= PARSE_AHEAD_RECORDS:
        incoming.report()
    return incoming
