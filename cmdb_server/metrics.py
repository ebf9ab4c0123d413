"""The server's own operational metrics, for Prometheus at ``GET /metrics`` (text format).

What is measured where it happens (ingest, impact queries, webhook deliveries, agents' spool
depth sent with their reports) is kept in prometheus_client's metrics; what the graph holds
(stale CIs by class) is counted when scraped. Several worker processes (``--workers``): the
CLI gives them a shared PROMETHEUS_MULTIPROC_DIR (cmdb_server/cli/server.py), and a scrape,
whichever worker answers it, adds up every worker's counters and histograms.

Access: with CMDB_METRICS_TOKEN set, a scrape must bring it as a bearer token; without one,
only a client on the loopback network (127.0.0.0/8, ::1) is answered: the safe default for
a server that also listens on other addresses.
"""

from __future__ import annotations

import asyncio
import hmac
import ipaddress
import logging
import os
import time
from collections.abc import Iterable, Iterator
from typing import Annotated

from fastapi import APIRouter, Header, Request, Response
from neo4j.exceptions import DriverError, Neo4jError
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.metrics_core import GaugeMetricFamily, Metric

from cmdb_server.config import Settings
from cmdb_server.db import DatabaseHealth
from cmdb_server.errors import Forbidden, Unauthorized
from cmdb_server.repositories import health as health_repo

log = logging.getLogger(__name__)

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"

SPOOL_DEPTH_MAX = 1_000_000
"""The largest spool depth believed; a header beyond it (or not a number) is ignored."""

REPORTS = Counter(
    "cmdb_reports_ingested",
    "Reports POSTed to /api/v1/reports, by the kind of their source and what became of them: applied (changed "
    "the record), unchanged (nothing to record), replayed (applied before), refused (status says why).",
    ["source_kind", "outcome", "status"],
)
INGEST_SECONDS = Histogram(
    "cmdb_report_ingest_seconds",
    "Time from a report's request to its answer (reading, checking and writing it), by source kind.",
    ["source_kind"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0),
)
SPOOL_DEPTH = Gauge(
    "cmdb_agent_spool_depth",
    "Reports waiting in a source's spool, the one sent included, as its last report said (X-CMDB-Spool-Depth).",
    ["source"],
    multiprocess_mode="mostrecent",
)
IMPACT_SECONDS = Histogram(
    "cmdb_impact_query_seconds",
    "Time to answer an impact query, by query: ci (GET /cis/{uid}/impact), combined (POST /impact).",
    ["query"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
WEBHOOK_DELIVERIES = Counter(
    "cmdb_webhook_deliveries",
    "Webhook delivery attempts by outcome: delivered (a 2xx answer), failed (retried later), given_up (the "
    "last attempt allowed failed).",
    ["outcome"],
)
STALE_CIS = "cmdb_stale_cis"


def report_outcome(replayed: bool, events: int) -> str:
    """What became of a report the server took: replayed, unchanged (no history event), applied."""
    if replayed:
        return "replayed"
    return "applied" if events else "unchanged"


def record_report(source_kind: str | None, outcome: str, status: int, started: float) -> None:
    kind = source_kind or "unknown"
    REPORTS.labels(kind, outcome, str(status)).inc()
    INGEST_SECONDS.labels(kind).observe(time.perf_counter() - started)


def record_spool_depth(source: str, header: str | None) -> None:
    """Keep the depth an agent's (or collector's) report said its spool had; ignore a value
    that is no whole number within bounds (the report itself is taken all the same)."""
    if header is None:
        return
    try:
        depth = int(header.strip())
    except ValueError:
        return
    if 0 <= depth <= SPOOL_DEPTH_MAX:
        SPOOL_DEPTH.labels(source).set(depth)


class _Fixed:
    """Metric families computed for one scrape."""

    def __init__(self, families: list[Metric]) -> None:
        self.families = families

    def collect(self) -> Iterable[Metric]:
        return self.families


class _Forward:
    """This process's metrics (no multiprocess directory): the default registry's."""

    def collect(self) -> Iterator[Metric]:
        yield from REGISTRY.collect()


def exposition(extra: list[Metric]) -> bytes:
    """Every metric in the text format: all workers' when a multiprocess directory is set."""
    registry = CollectorRegistry()
    if os.environ.get(MULTIPROC_ENV):
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    else:
        registry.register(_Forward())
    registry.register(_Fixed(extra))
    return generate_latest(registry)


async def stale_family(request: Request) -> list[Metric]:
    """Stale CIs by class, counted now; nothing when the database is away (the scrape still answers)."""
    settings: Settings = request.app.state.settings
    health: DatabaseHealth = request.app.state.db_health
    if not (request.app.state.schema_ready and health.available):
        return []
    try:
        async with asyncio.timeout(settings.neo4j_connection_timeout):
            counts = await health_repo.stale_by_class(request.app.state.driver, settings.neo4j_database)
    except (Neo4jError, DriverError, OSError, TimeoutError) as exc:
        log.info("metrics: stale CIs not counted: %s", exc)
        return []
    family = GaugeMetricFamily(
        STALE_CIS, "CIs in status stale (no source saw them in time), by class.", labels=["class"]
    )
    for ci_class, count in sorted(counts.items()):
        family.add_metric([ci_class], count)
    return [family]


def _loopback(host: str | None) -> bool:
    try:
        return host is not None and ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_access(settings: Settings, client_host: str | None, authorization: str | None) -> None:
    """CMDB_METRICS_TOKEN as a bearer token when set (401 otherwise); else loopback clients only (403)."""
    if settings.metrics_token is not None:
        scheme, _, given = (authorization or "").partition(" ")
        expected = settings.metrics_token.get_secret_value()
        if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), expected.encode()):
            raise Unauthorized("/metrics needs the bearer token CMDB_METRICS_TOKEN")
        return
    if not _loopback(client_host):
        raise Forbidden("/metrics answers loopback clients only; set CMDB_METRICS_TOKEN to scrape it from elsewhere")


router = APIRouter(tags=["health"])


@router.get("/metrics", summary="Operational metrics (Prometheus text format)", response_class=Response)
async def metrics(request: Request, authorization: Annotated[str | None, Header()] = None) -> Response:
    check_access(request.app.state.settings, request.client.host if request.client else None, authorization)
    extra = await stale_family(request)
    return Response(exposition(extra), media_type=CONTENT_TYPE_LATEST)
