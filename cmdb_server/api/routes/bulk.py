"""Bulk import (CSV, JSON; with a dry run), export of a search, and a streaming backup of the graph."""

from __future__ import annotations

import asyncio
import csv
import io
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any, Literal

import orjson
from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import StreamingResponse
from neo4j import AsyncDriver
from neo4j.exceptions import ConstraintError

from cmdb_server import bulk
from cmdb_server.api.body import read_body
from cmdb_server.api.deps import DriverDep, SchemaDep, SettingsDep
from cmdb_server.api.routes.cis import SearchDep, full_text_errors
from cmdb_server.api.streams import csv_marker, guarded, json_marker, ndjson_marker, primed
from cmdb_server.auth import Admin, Curator, Reader
from cmdb_server.errors import BadRequest, Conflict, Unprocessable
from cmdb_server.ingest import Caller, ingest_report
from cmdb_server.intake import IncomingReport, NotJson, check_size, decode_json
from cmdb_server.models.bulk import ExportDocument, GraphLine, ImportResult
from cmdb_server.models.common import inline_schema
from cmdb_server.repositories import cis
from schema import Schema, SourceKind
from schema.report import Report, ReportError

router = APIRouter(tags=["bulk"])


def _rows(body: bytes, content_type: str, schema: SchemaDep) -> tuple[list[Any], list[Any]]:
    """(CI rows, relationship rows) of a CSV or JSON import file."""
    if content_type.startswith("text/csv"):
        try:
            kind, rows = bulk.rows_from_csv(body.decode("utf-8-sig"))
        except UnicodeDecodeError:
            raise BadRequest("a CSV file must be UTF-8", field="body") from None
        except (bulk.ImportFileError, csv.Error) as exc:
            raise Unprocessable(str(exc), field="body") from None
        if kind == "cis":
            return bulk.ci_rows_from_csv(rows, schema), []
        return [], bulk.relation_rows_from_csv(rows)
    if not content_type.startswith("application/json"):
        raise Unprocessable("send text/csv or application/json", field="Content-Type", location="header")
    try:
        data = decode_json(body)
    except NotJson as exc:
        raise BadRequest(f"body is not JSON: {exc}", field="body") from None
    if not isinstance(data, dict) or not set(data) <= {"cis", "relationships"} or not data:
        raise Unprocessable('a JSON import is {"cis": [...], "relationships": [...]}', field="body")
    for key in ("cis", "relationships"):
        if not isinstance(data.get(key, []), list):
            raise Unprocessable(f"{key} must be a list", field=key)
    return list(data.get("cis", [])), list(data.get("relationships", []))


@router.post(
    "/import",
    summary="Import CIs and relationships from CSV or JSON (with a dry run)",
    response_model=ImportResult,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "text/csv": {"schema": {"type": "string", "description": "A CSV of CIs or of relationships."}},
                "application/json": {
                    "schema": {
                        "type": "object",
                        "properties": {
                            "cis": {"type": "array", "items": {"type": "object"}},
                            "relationships": {"type": "array", "items": {"type": "object"}},
                        },
                        "additionalProperties": False,
                    }
                },
            },
        }
    },
)
async def import_file(
    request: Request,
    principal: Curator,
    driver: DriverDep,
    settings: SettingsDep,
    schema: SchemaDep,
    dry_run: Annotated[bool, Query(description="Report what would happen, change nothing.")] = False,
    source: Annotated[
        str | None,
        Query(min_length=1, max_length=100, description="Name of the import source (default: the caller's name)."),
    ] = None,
) -> Response:
    """Every row is checked on its own; the rows that pass go in as one report of the
    ``import`` source (the lowest precedence), all or nothing. The answer has a line per row:
    created, updated, unchanged, accepted (a relationship) or rejected with its reasons.
    The same file again changes nothing."""
    body = await read_body(request, settings.max_report_bytes)
    ci_rows, relation_rows = await asyncio.to_thread(_rows, body, request.headers.get("content-type", ""), schema)
    check_size({"records": ci_rows, "relations": relation_rows})  # one transaction applies it all
    named = sorted(bulk.uid_references(ci_rows, relation_rows))
    existing = await cis.get_many(driver, settings.neo4j_database, named) if named else {}
    plan = bulk.plan_import(ci_rows, relation_rows, schema, existing)
    summary = None
    if plan.records:
        now = datetime.now(UTC)
        report = Report(
            report_id=str(uuid.uuid4()),
            source_kind=SourceKind.IMPORT,
            source_name=source or principal.name,
            collected_at=now,
            complete=False,
            records=plan.records,
            relations=plan.relations,
        )
        data = {"records": plan.raw_records}
        incoming = IncomingReport(header=report, data=data, schema=schema, fingerprint=None, _parsed=report)
        try:
            summary = await ingest_report(
                driver,
                settings.neo4j_database,
                schema,
                incoming,
                Caller(token_id=principal.token_id, role=principal.role, sources=principal.sources),
                timedelta(hours=settings.stale_after_hours),
                dry_run=dry_run,
            )
        except ReportError as exc:  # pragma: no cover - every row was checked before
            raise Unprocessable(f"the import breaks the contract: {exc}") from None
        except ConstraintError as exc:
            raise Conflict(f"the import conflicts with the graph: {exc.message}") from None
        for result in plan.rows:
            if result.kind == "ci" and result.outcome != "rejected" and result.ref is not None:
                result.outcome = summary.outcomes.get(result.ref, "unchanged")
                result.uid = summary.cis.get(result.ref)
    counts: dict[str, int] = {}
    for result in plan.rows:
        counts[result.outcome] = counts.get(result.outcome, 0) + 1
    answer = {
        "dry_run": dry_run,
        "source": f"{SourceKind.IMPORT.value}:{source or principal.name}",
        "counts": counts,
        "relations": {k: vars(v) for k, v in sorted(summary.relations.items())} if summary else {},
        "events": summary.events if summary else 0,
        "rows": [{k: v for k, v in vars(r).items() if v not in (None, [])} for r in plan.rows],
    }
    return Response(orjson.dumps(answer), media_type="application/json")


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ";".join(str(v) for v in value)
    if isinstance(value, date | datetime):
        return value.isoformat()
    return str(value)


def _json_default(value: Any) -> Any:
    to_native = getattr(value, "to_native", None)
    if callable(to_native):
        return to_native().isoformat()
    raise TypeError


@router.get(
    "/export",
    summary="Export the CIs of a search as CSV or JSON (streamed)",
    response_class=StreamingResponse,
    responses={
        200: {
            "description": "Every CI the search matches; a failure midway ends it with an error marker (README).",
            "content": {
                "text/csv": {"schema": {"type": "string"}},
                "application/json": {"schema": inline_schema(ExportDocument)},
            },
        }
    },
)
async def export(
    _: Reader,
    driver: DriverDep,
    settings: SettingsDep,
    schema: SchemaDep,
    query: SearchDep,
    format: Annotated[Literal["csv", "json"], Query(description="csv or json.")] = "csv",
) -> StreamingResponse:
    """Every CI the search matches, in uid order; the file imports again as it is (an
    exported row names its CI by ``ref`` = uid and its parent as ``uid:<uid>``). The search runs
    before the first byte (a full-text query Lucene refuses is a 422); a failure later ends the
    file with an error marker and an unfinished response (see ``api/streams.py``)."""
    return await export_search(driver, settings.neo4j_database, schema, query, format)


@router.get(
    "/export/graph",
    summary="The whole graph as JSON lines, streamed (admin): a logical backup",
    response_class=StreamingResponse,
    responses={
        200: {
            "description": "One JSON object per line (kind node, relationship, or error after a failure midway).",
            "content": {"application/x-ndjson": {"schema": inline_schema(GraphLine)}},
        }
    },
)
async def export_graph(_: Admin, driver: DriverDep, settings: SettingsDep) -> StreamingResponse:
    """One JSON object per line: every node (id, labels, properties), then every relationship
    (id, type, start, end, properties). Times are ISO 8601 text. Beside Neo4j's own
    ``neo4j-admin database dump`` (see the README): this one runs while the server serves.
    A failure after the first line ends the stream with a line of kind ``error`` and an
    unfinished response (see ``api/streams.py``)."""
    items = await primed(cis.graph_dump(driver, settings.neo4j_database))

    async def lines() -> AsyncIterator[bytes]:
        async for item in items:
            yield orjson.dumps(item, default=_json_default) + b"\n"

    return StreamingResponse(guarded(lines(), ndjson_marker, "graph export"), media_type="application/x-ndjson")


async def export_search(
    driver: AsyncDriver, database: str, schema: Schema, query: cis.CIQuery, format: Literal["csv", "json"]
) -> StreamingResponse:
    """Every CI a search matches as a CSV or JSON download (the API's export and the search
    page's export links)."""
    declared = schema.classes[query.class_name].attributes if query.class_name else schema.all_attributes()
    attribute_names = sorted(declared)
    pages = await full_text_errors(primed(cis.export_pages(driver, database, schema, query)))

    def row(record: cis.CIRecord) -> dict[str, Any]:
        return {
            "uid": record.uid,
            "ref": record.uid,
            "class": record.ci_class,
            "status": record.status.value,
            "parent": f"{bulk.UID_PREFIX}{record.parent_uid}" if record.parent_uid else None,
            "tags": record.tags,
            "attributes": record.attributes,
        }

    async def as_csv() -> AsyncIterator[bytes]:
        columns = ["uid", "ref", "class", "status", "parent", "tags", *attribute_names]
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(columns)
        async for page in pages:
            for record in page:
                item = row(record)
                cells = [item[c] for c in columns[:6]] + [record.attributes.get(a) for a in attribute_names]
                writer.writerow([_cell(c) for c in cells])
            yield buffer.getvalue().encode("utf-8")
            buffer.seek(0)
            buffer.truncate()
        yield buffer.getvalue().encode("utf-8")

    async def as_json() -> AsyncIterator[bytes]:
        yield b'{"cis": ['
        first = True
        async for page in pages:
            chunk = b",".join(orjson.dumps(row(r), default=_json_default) for r in page)
            yield chunk if first else b"," + chunk
            first = False
        yield b"]}"

    if format == "csv":
        media, body = "text/csv", guarded(as_csv(), csv_marker, "CSV export")
    else:
        media, body = "application/json", guarded(as_json(), json_marker, "JSON export")
    return StreamingResponse(
        body, media_type=media, headers={"Content-Disposition": f'attachment; filename="cis.{format}"'}
    )
