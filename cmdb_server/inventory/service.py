"""Taking an inventory agent's request: who sent it, what it says, and what it becomes.

FusionInventory and OCS agents authenticate with HTTP Basic, and only after a challenge:
the first POST of every message comes without credentials, with the whole inventory in its
body (fusion sends each message three times: 401, 401, 200). So the credentials are checked
from the headers alone, before the body is read. The password is an API token (a collector
token issued for ``inventory:*``, a host's agent token, or an admin's); the user name is the
agent's to choose and only logged.

The source of an inventory is ``inventory:<DEVICEID>``: the agent's installation (host name
and first-run time), so a reinstalled agent is a new source of the same host. Its report
(cmdb_server/inventory/mapping.py) goes the one way every report goes (report_service.py):
recognised as unchanged by its fingerprint, held to one host (authority.check_agent_scope),
refusals noted on the source.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import logging
import uuid
from datetime import UTC, datetime
from typing import Any

from neo4j import AsyncDriver

from cmdb_server import authority
from cmdb_server.api.body import PayloadTooLarge
from cmdb_server.auth import Principal, principal_of_token
from cmdb_server.config import Settings
from cmdb_server.discovery_status import note_refused
from cmdb_server.errors import ApiError, BadRequest, Forbidden, Unprocessable
from cmdb_server.ingest import IngestSummary
from cmdb_server.intake import IncomingReport
from cmdb_server.inventory.document import InventoryDocument
from cmdb_server.inventory.mapping import inventory_report
from cmdb_server.inventory.xml_reader import InventoryRejected, read_inventory
from cmdb_server.metrics import record_report
from cmdb_server.report_service import take_report
from schema import Role, Schema, SourceKind
from schema.report import ReportHeader

log = logging.getLogger(__name__)

REPORTER_ROLES = frozenset({Role.AGENT, Role.COLLECTOR, Role.ADMIN})
"""The roles that send inventories, as they send reports (POST /reports)."""


class AgentUnauthorized(ApiError):
    """No or wrong Basic credentials: the challenge the agents wait for before they send theirs.
    Its realm must be quoted exactly so (fusion matches ``^Basic realm="(.*)"``), and OCS
    answers only a realm equal to its ``--realm``."""

    status = 401

    def __init__(self, message: str, realm: str) -> None:
        super().__init__(message, field="Authorization", location="header")
        self.headers = {"WWW-Authenticate": f'Basic realm="{realm}"'}


def basic_credentials(authorization: str) -> tuple[str, str] | None:
    """(user, password) of an ``Authorization: Basic`` header; None when it is not one."""
    scheme, _, encoded = authorization.strip().partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    user, colon, password = decoded.partition(":")
    return (user, password) if colon else None


async def agent_principal(state: Any, authorization: str | None, client: str, realm: str) -> tuple[Principal, str]:
    """The token behind an agent's Basic credentials, and the user name it gave.

    No credentials: the challenge, not counted (every agent message starts so). Wrong ones:
    the challenge, counted like a bad bearer token (TooManyRequests past the limit). A token
    of another role: Forbidden.
    """
    if not authorization:
        raise AgentUnauthorized(
            "authentication required: give the agent --user NAME --password TOKEN (an API token)", realm
        )
    credentials = basic_credentials(authorization)
    principal = await principal_of_token(state, credentials[1] if credentials else None, client)
    if principal is None:
        why = "invalid or revoked token" if credentials else "malformed Authorization header: HTTP Basic expected"
        raise AgentUnauthorized(f"{why} (the password is an API token; OCS agents send it base64-encoded)", realm)
    if principal.role not in REPORTER_ROLES:
        names = ", ".join(sorted(r.value for r in REPORTER_ROLES))
        raise Forbidden(f"role '{principal.role.value}' may not send inventories; allowed: {names}")
    assert credentials is not None
    return principal, credentials[0]


def source_name(doc: InventoryDocument) -> str:
    """The name of the inventory's source (``inventory:<name>``): the agent installation."""
    return doc.device_id


def check_speaks_for(principal: Principal, doc: InventoryDocument) -> None:
    """Forbidden unless the token may speak for the document's source (at PROLOG already, so
    an agent holding a token for other sources stops before it sends its inventory)."""
    header = ReportHeader("-", SourceKind.INVENTORY, source_name(doc), datetime.now(UTC))
    authority.check_source(principal.role, principal.sources, header)


def refusal(exc: InventoryRejected) -> ApiError:
    """The API's answer to a body that is not read: 413 over a cap, 400 otherwise."""
    if exc.too_large:
        return PayloadTooLarge(f"{exc.field}: {exc.message}", field=exc.field)
    return BadRequest(f"{exc.field}: {exc.message}", field=exc.field)


async def read_request(body: bytes, *, content_type: str | None, user_agent: str | None) -> InventoryDocument:
    """The body read (inflated and parsed in a thread: a large one is CPU work), or 400/413."""
    try:
        return await asyncio.to_thread(read_inventory, body, content_type=content_type, user_agent=user_agent)
    except InventoryRejected as exc:
        raise refusal(exc) from None


def _incoming(doc: InventoryDocument, schema: Schema) -> IncomingReport:
    """The inventory as a report, fingerprinted (CPU work: run in a thread)."""
    try:
        report = inventory_report(
            doc, source_name=source_name(doc), report_id=uuid.uuid4().hex, collected_at=datetime.now(UTC)
        )
    except ValueError as exc:  # the mapping's own refusal of a document it cannot read
        raise Unprocessable(f"the inventory cannot be read as a host: {exc}", field="CONTENT") from None
    return IncomingReport.receive(report, schema)


async def refused(
    driver: AsyncDriver, database: str, doc: InventoryDocument | None, error: ApiError, started: float
) -> None:
    """A request refused before its report was taken (unreadable XML, too big, a token that may
    not send it): counted in GET /metrics like any refused report, and noted on its source when
    the XML was read far enough to name it, so GET /sources and the Discovery page show a fleet
    sending with the wrong token (fusion itself exits 0 whatever the answer)."""
    record_report(SourceKind.INVENTORY.value, "refused", error.status, started)
    if doc is not None:
        await note_refused(
            driver, database, f"{SourceKind.INVENTORY.value}:{source_name(doc)}", error, datetime.now(UTC)
        )


async def ingest_inventory(
    driver: AsyncDriver,
    settings: Settings,
    schema: Schema,
    principal: Principal,
    doc: InventoryDocument,
    started: float,
) -> IngestSummary:
    """Apply an INVENTORY request's report, the one way every report is applied (and counted,
    from ``started``, in GET /metrics). The caller has checked ``check_speaks_for`` already, in
    its own refusal handling (a 403 there is counted and noted on the source)."""
    received = asyncio.to_thread(_incoming, doc, schema)
    summary = await take_report(driver, settings, schema, principal, received, started=started)
    changed = sum(c.created + c.updated for c in summary.classes.values())
    log.info("inventory of %s (%s, %s): %d CIs created or updated", summary.source, doc.agent, doc.client, changed)
    return summary
