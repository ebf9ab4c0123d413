"""Report ingest: what agents and collectors send."""

from __future__ import annotations

import zlib
from datetime import timedelta
from typing import Annotated

import orjson
from fastapi import APIRouter, Depends, Request, Response
from neo4j.exceptions import ConstraintError

from cmdb_server.api.deps import DriverDep, SchemaDep, SettingsDep
from cmdb_server.auth import Principal, require_roles
from cmdb_server.errors import ApiError, BadRequest, Conflict, Unprocessable
from cmdb_server.ingest import Caller, ingest_report
from cmdb_server.intake import IncomingReport, NotJson, decode_json
from schema import Role
from schema.report import ReportError

router = APIRouter(prefix="/reports", tags=["ingest"])

Reporter = Annotated[Principal, Depends(require_roles(Role.AGENT, Role.COLLECTOR, Role.ADMIN))]


class PayloadTooLarge(ApiError):
    status = 413


async def read_body(request: Request, limit: int) -> bytes:
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise PayloadTooLarge(f"body larger than {limit} bytes", field="body")
    encoding = request.headers.get("content-encoding", "identity").lower()
    if encoding == "identity":
        return bytes(body)
    if encoding != "gzip":
        raise BadRequest(f"unsupported Content-Encoding {encoding!r}; use gzip or none", field="Content-Encoding")
    inflater = zlib.decompressobj(wbits=31)
    try:
        data = inflater.decompress(bytes(body), limit + 1)
    except zlib.error as exc:
        raise BadRequest(f"body is not valid gzip: {exc}", field="body") from None
    if len(data) > limit or inflater.unconsumed_tail:
        raise PayloadTooLarge(f"body larger than {limit} bytes once decompressed", field="body")
    return data


@router.post("", summary="Send a report (agents, collectors, admins)", response_class=Response)
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
    body = await read_body(request, settings.max_report_bytes)
    try:
        data = decode_json(body)
    except NotJson as exc:
        raise BadRequest(f"body is not JSON: {exc}", field="body") from None
    try:
        summary = await ingest_report(
            driver,
            settings.neo4j_database,
            schema,
            IncomingReport.receive(data, schema),
            Caller(token_id=principal.token_id, role=principal.role),
            timedelta(hours=settings.stale_after_hours),
        )
    except ReportError as exc:
        raise Unprocessable(
            f"the report breaks the contract: {exc}",
            fields=[{"field": p.path, "in": "body", "message": p.message} for p in exc.problems],
        ) from None
    except ConstraintError as exc:
        raise Conflict(f"the report conflicts with the graph: {exc.message}") from None
    # Encoded here: FastAPI's generic encoder walks the answer's map of ~1,000 CI uids item by item.
    return Response(orjson.dumps(summary.to_json()), media_type="application/json")
