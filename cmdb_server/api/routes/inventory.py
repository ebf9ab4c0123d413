"""Inventory agents: the OCS Inventory protocol (FusionInventory, OCS agents as they are) and
``POST /inventory`` (one inventory file, what ``cmdb import`` sends).

``POST /ocsinventory`` is outside ``/api/v1``: the agents authenticate with HTTP Basic (the
password is an API token), answered here, not by the bearer middleware. Its errors are
XML for the person who reads a capture or the agent's debug log; the agents themselves read
only the status and stop the run cleanly.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse

from cmdb_server.api.body import PayloadTooLarge, read_body
from cmdb_server.api.deps import DriverDep, SchemaDep, SettingsDep
from cmdb_server.auth import Principal, require_roles
from cmdb_server.errors import ApiError, BadRequest, NotReady
from cmdb_server.inventory import protocol, service
from cmdb_server.inventory.document import InventoryDocument, InventoryQuery
from cmdb_server.inventory.xml_reader import InventoryRejected, sniff_encoding
from cmdb_server.models.bulk import IngestSummary
from schema import Role

log = logging.getLogger(__name__)

protocol_router = APIRouter(tags=["inventory agents"])
router = APIRouter(prefix="/inventory", tags=["inventory agents"])

DRAIN_BYTES = 1024 * 1024
"""An unauthenticated body up to this size is read and dropped before the 401, so the
connection stays open for the agent's next try (a real agent's inventory is 20-40 KB of zlib);
a larger one is not read at all and the connection is closed."""

_XML_ANSWER = {"schema": {"type": "string", "format": "binary"}}
AGENT_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The protocol's `<REPLY>`: `SEND` with `PROLOG_FREQ` (hours) to a PROLOG, `NO_ACCOUNT_UPDATE` "
        "to an INVENTORY; zlib-compressed for a compressed request, plain XML for a plain one.",
        "content": {protocol.COMPRESSED_MEDIA_TYPE: _XML_ANSWER, protocol.PLAIN_MEDIA_TYPE: _XML_ANSWER},
    },
    **{
        status: {"description": why, "content": {protocol.PLAIN_MEDIA_TYPE: {"schema": {"type": "string"}}}}
        for status, why in (
            (400, "Not an inventory request: `<ERROR>` names the field (body, QUERY, DEVICEID, CONTENT)."),
            (401, 'No or wrong credentials: `WWW-Authenticate: Basic realm="graph-cmdb"` (CMDB_INVENTORY_REALM).'),
            (403, "The token may not speak for this inventory source (inventory:DEVICEID)."),
            (413, "Over CMDB_MAX_REPORT_BYTES compressed, or over schema/limits.toml [inventory] once inflated."),
            (422, "The inventory breaks the report contract (noted on the source)."),
            (429, "Too many failed credentials from this address: Retry-After."),
            (503, "The graph database is unavailable: Retry-After."),
        )
    },
}
AGENT_REQUEST_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            media: {"schema": {"type": "string", "format": "binary"}}
            for media in ("application/x-compress-zlib", "application/x-compress", "application/xml")
        },
    }
}


def _xml_error(exc: ApiError, *, close: bool) -> Response:
    field = exc.field or ""
    headers = dict(exc.headers or {})
    if close:
        headers["Connection"] = "close"
    body = protocol.error_xml(exc.status, field, exc.message)
    return Response(body, status_code=exc.status, media_type=protocol.PLAIN_MEDIA_TYPE, headers=headers)


async def _drained(request: Request) -> bool:
    """Read and drop a body the server will not use, when it is small; whether all of it was."""
    length = request.headers.get("content-length")
    if length is None or not length.isdigit() or int(length) > DRAIN_BYTES:
        return False
    read = 0
    async for chunk in request.stream():
        read += len(chunk)
        if read > DRAIN_BYTES:
            return False
    return True


async def _answer_agent(request: Request) -> Response:
    started = time.perf_counter()
    state = request.app.state
    settings = state.settings
    client = request.client.host if request.client else "unknown"
    read = False
    doc: InventoryDocument | None = None
    try:
        if not state.schema_ready or not state.db_health.available:
            raise NotReady("the graph database is unavailable or not ready; retry later")
        principal, user = await service.agent_principal(
            state, request.headers.get("authorization"), client, settings.inventory_realm
        )
        length = request.headers.get("content-length")
        if length is not None and length.isdigit() and int(length) > settings.max_report_bytes:
            raise PayloadTooLarge(f"body larger than {settings.max_report_bytes} bytes", field="body")
        read = True
        body = await read_body(request, settings.max_report_bytes)
        content_type = request.headers.get("content-type")
        try:
            encoding = sniff_encoding(body, content_type)
        except InventoryRejected as exc:
            raise service.refusal(exc) from None
        doc = await service.read_request(body, content_type=content_type, user_agent=request.headers.get("user-agent"))
        del body
        service.check_speaks_for(principal, doc)
        log.info(
            "inventory %s of %s from %s (user %r, token %s)", doc.query, doc.device_id, client, user, principal.name
        )
    except ApiError as exc:
        log.info("inventory request from %s refused: %s %s", client, exc.status, exc.message)
        if exc.status == 401:  # the first try of every message: the protocol, not a refusal to count
            return _xml_error(exc, close=not await _drained(request))
        if not isinstance(exc, NotReady):
            await service.refused(state.driver, settings.neo4j_database, doc, exc, started)
        return _xml_error(exc, close=not read)
    try:
        if doc.query is InventoryQuery.INVENTORY:  # counted and noted by the one ingest path
            await service.ingest_inventory(state.driver, settings, state.schema, principal, doc, started)
    except ApiError as exc:
        log.info("inventory of %s from %s refused: %s %s", doc.device_id, client, exc.status, exc.message)
        return _xml_error(exc, close=False)
    answer = protocol.reply(doc.query, encoding, settings.inventory_prolog_freq_hours)
    return Response(answer.body, media_type=answer.media_type)


@protocol_router.post(
    "/ocsinventory",
    summary="The OCS Inventory protocol: FusionInventory and OCS agents (HTTP Basic, password = API token)",
    response_class=Response,
    responses=AGENT_RESPONSES,
    openapi_extra=AGENT_REQUEST_BODY,
)
async def ocsinventory(request: Request) -> Response:
    """One PROLOG or INVENTORY request of an agent (zlib, gzip or plain XML, told by its first
    bytes), answered in the request's encoding. The credentials are checked before the body is
    read: the agents send theirs only after a 401 with ``WWW-Authenticate: Basic realm=...``.
    An INVENTORY becomes the report of source ``inventory:<DEVICEID>``, applied like any
    report (an unchanged one is recognised as such); nothing is written on any error."""
    return await _answer_agent(request)


@protocol_router.post(
    "/",
    summary="The OCS Inventory protocol at the root (OCS agents given --server http://host:port without a path)",
    response_class=Response,
    responses=AGENT_RESPONSES,
    openapi_extra=AGENT_REQUEST_BODY,
)
async def ocsinventory_at_root(request: Request) -> Response:
    """The same as ``POST /ocsinventory``: an OCS agent given a server URL without a path
    posts to ``/``. Nothing else is posted to the root."""
    return await _answer_agent(request)


Reporter = Annotated[Principal, Depends(require_roles(Role.AGENT, Role.COLLECTOR, Role.ADMIN))]


@router.post(
    "",
    summary="Send one inventory agent's XML file (FusionInventory or OCS, --local output; zlib, gzip or plain)",
    response_class=JSONResponse,
    response_model=IngestSummary,
    openapi_extra=AGENT_REQUEST_BODY,
)
async def post_inventory(
    request: Request, principal: Reporter, driver: DriverDep, settings: SettingsDep, schema: SchemaDep
) -> Response:
    """The INVENTORY a FusionInventory or OCS agent wrote with ``--local`` (``<DEVICEID>.ocs``),
    applied as the report of source ``inventory:<DEVICEID>`` exactly as if the agent had sent
    it to ``/ocsinventory``; the answer is the ingest summary, as ``POST /reports`` answers."""
    started = time.perf_counter()
    doc: InventoryDocument | None = None
    try:
        body = await read_body(request, settings.max_report_bytes)
        doc = await service.read_request(
            body, content_type=request.headers.get("content-type"), user_agent=request.headers.get("user-agent")
        )
        del body
        if doc.query is not InventoryQuery.INVENTORY:
            raise BadRequest(f"QUERY: {doc.query.value}: this endpoint takes an INVENTORY", field="QUERY")
        service.check_speaks_for(principal, doc)
    except ApiError as exc:
        await service.refused(driver, settings.neo4j_database, doc, exc, started)
        raise
    summary = await service.ingest_inventory(driver, settings, schema, principal, doc, started)
    answer = await asyncio.to_thread(orjson.dumps, summary.to_json())
    return Response(answer, media_type="application/json")
