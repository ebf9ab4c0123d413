"""Report ingest: what agents and collectors send."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

import orjson
from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse
from neo4j.exceptions import ConstraintError

from cmdb_server.api.body import read_body
from cmdb_server.api.deps import DriverDep, SchemaDep, SettingsDep
from cmdb_server.auth import Principal, require_roles
from cmdb_server.errors import BadRequest, Conflict, Unprocessable
from cmdb_server.ingest import Caller, ingest_report
from cmdb_server.intake import IncomingReport, NotJson, decode_json
from cmdb_server.models.bulk import IngestSummary
from schema import Role
from schema.report import ReportError

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
