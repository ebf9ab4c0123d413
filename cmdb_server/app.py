"""The FastAPI application factory."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta

from fastapi import APIRouter, Depends, FastAPI
from neo4j.exceptions import DriverError, Neo4jError, ServiceUnavailable, SessionExpired

from cmdb_server import accuracy_series, dispatcher, metrics, web
from cmdb_server.api.body import BodyLimit
from cmdb_server.api.deps import refuse_nul, require_ready
from cmdb_server.api.headers import SecurityHeaders
from cmdb_server.api.routes import (
    audit,
    bulk,
    changes,
    cis,
    curation,
    freezes,
    health,
    impact,
    incidents,
    inventory,
    maintenance,
    merges,
    releases,
    reports,
    service_report,
    services,
    sources,
    tags,
    webhooks,
)
from cmdb_server.auth import AuthenticateApi, AuthFailures, TokenCache
from cmdb_server.config import Settings
from cmdb_server.db import DatabaseHealth, QueryTimeoutMiddleware, create_driver
from cmdb_server.errors import ERROR_RESPONSES, install_error_handlers
from cmdb_server.repositories import cis as cis_repo
from cmdb_server.repositories import health as health_repo
from cmdb_server.repositories import leases, schema_setup, tokens
from schema import derive_index_specs, load_schema

log = logging.getLogger(__name__)

API_PREFIX = "/api/v1"


async def prepare_database(app: FastAPI) -> None:
    """Apply constraints and indexes, and store the bootstrap admin token, if any."""
    settings: Settings = app.state.settings
    driver = app.state.driver
    report = await schema_setup.apply_schema(driver, settings.neo4j_database, derive_index_specs(app.state.schema))
    if report.created or report.replaced:
        log.info("schema: created %s, replaced %s", report.created, report.replaced)
    if settings.bootstrap_admin_token is not None:
        bootstrap = await tokens.ensure_bootstrap_token(
            driver, settings.neo4j_database, settings.bootstrap_admin_token.get_secret_value()
        )
        if bootstrap.revoked:
            log.warning("CMDB_BOOTSTRAP_ADMIN_TOKEN was revoked and stays revoked; unset it")
        elif bootstrap.other_admins:
            log.warning(
                "the bootstrap admin token is still active beside %d other admin token(s); once they work, "
                "revoke it: cmdb-server token revoke %s",
                bootstrap.other_admins,
                tokens.BOOTSTRAP_TOKEN_ID,
            )
    await dispatcher.seal_plain_secrets(driver, settings.neo4j_database, settings)
    app.state.schema_ready = True
    log.info("graph database ready at %s", settings.neo4j_uri)


async def _prepare_until_ready(app: FastAPI) -> None:
    delay: float = app.state.settings.schema_retry_seconds
    while True:
        await asyncio.sleep(delay)
        try:
            await prepare_database(app)
            return
        except (ServiceUnavailable, SessionExpired, OSError) as exc:
            log.warning("Neo4j still unreachable (%s); retrying in %.0fs", exc, delay)


STALE_CHECK_LEASE = "stale-check"
DISPATCHER_LEASE = "webhook-dispatcher"
ACCURACY_LEASE = "accuracy-series"
ACCURACY_FIRST_TURN_SECONDS = 60.0
"""How soon after start-up the accuracy job first looks whether today has a point."""


def _jobs_may_run(app: FastAPI) -> bool:
    return bool(app.state.schema_ready) and app.state.db_health.available


async def _watch_database(app: FastAPI) -> None:
    """Ask the database every CMDB_NEO4J_PROBE_SECONDS whether it is there: it marks the
    database away before requests find out the slow way, and back once it answers."""
    settings: Settings = app.state.settings
    health: DatabaseHealth = app.state.db_health
    while True:
        await asyncio.sleep(settings.neo4j_probe_seconds)
        try:
            async with asyncio.timeout(settings.neo4j_connection_timeout):
                await health_repo.ping(app.state.driver, settings.neo4j_database)
        except (DriverError, Neo4jError, OSError, TimeoutError) as exc:
            health.mark_down(exc if str(exc) else type(exc).__name__)
        else:
            health.mark_up()


async def _leased(app: FastAPI, name: str, ttl_seconds: float) -> bool:
    """Whether this process holds (took or renewed) the lease on job ``name``."""
    settings: Settings = app.state.settings
    return await leases.acquire(app.state.driver, settings.neo4j_database, name, app.state.holder, ttl_seconds)


async def _mark_stale_periodically(app: FastAPI) -> None:
    """The stale check: CIs no source reported within CMDB_STALE_AFTER_HOURS become stale.
    One server process of those sharing the graph runs it (the lease's holder, which renews
    it every turn; another takes over when it stops renewing)."""
    settings: Settings = app.state.settings
    interval = settings.stale_check_interval_seconds
    while True:
        await asyncio.sleep(interval)
        if not _jobs_may_run(app):
            continue
        try:
            if not await _leased(app, STALE_CHECK_LEASE, interval * 2 + 5):
                continue
            now = datetime.now(UTC)
            cutoff = now - timedelta(hours=settings.stale_after_hours)
            shared = app.state.schema.shared_labels()
            marked = await cis_repo.mark_stale(app.state.driver, settings.neo4j_database, cutoff, now, shared)
            if marked:
                log.info("stale check: %d CI(s) marked stale", marked)
        except (Neo4jError, DriverError, OSError) as exc:
            log.warning("stale check failed: %s", exc)


async def _record_accuracy_periodically(app: FastAPI) -> None:
    """The record-accuracy series: soon after start-up, today's point unless one is kept; then
    every CMDB_ACCURACY_INTERVAL_SECONDS today's point again (it replaces the earlier one, so
    the day's last turn counts the whole day's unauthorised changes). One process runs it
    (the holder of its lease)."""
    settings: Settings = app.state.settings
    interval = settings.accuracy_interval_seconds
    first = True
    while True:
        await asyncio.sleep(min(ACCURACY_FIRST_TURN_SECONDS, interval) if first else interval)
        if not _jobs_may_run(app):
            continue
        try:
            if not await _leased(app, ACCURACY_LEASE, interval * 2 + 5):
                continue
            if first:
                recorded = await accuracy_series.record_today_if_missing(app.state.driver, settings.neo4j_database)
            else:
                now = datetime.now(UTC)
                await accuracy_series.record_accuracy(app.state.driver, settings.neo4j_database, now.date(), now)
                recorded = True
            first = False
            if recorded:
                log.info("record accuracy: today's point recorded")
        except (Neo4jError, DriverError, OSError) as exc:
            log.warning("record accuracy failed: %s", exc)


async def _dispatch_webhooks(app: FastAPI) -> None:
    """The webhook dispatcher's ticks, in the one server process holding its lease (each
    delivery is also claimed before it is sent, so an overlap at a hand-over sends none twice)."""
    settings: Settings = app.state.settings
    ttl = max(10.0, settings.webhook_poll_seconds * 5)

    async def may_tick() -> bool:
        return _jobs_may_run(app) and await _leased(app, DISPATCHER_LEASE, ttl)

    await dispatcher.run(app.state.driver, settings, may_tick)


async def _release_leases(app: FastAPI) -> None:
    """Hand the jobs over at once when this process stops (best effort: a lease expires anyway)."""
    settings: Settings = app.state.settings
    for name in (STALE_CHECK_LEASE, DISPATCHER_LEASE, ACCURACY_LEASE):
        try:
            async with asyncio.timeout(2):
                await leases.release(app.state.driver, settings.neo4j_database, name, app.state.holder)
        except (Neo4jError, DriverError, OSError, TimeoutError) as exc:
            log.info("could not release the lease %s: %s", name, exc)


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings: Settings = app.state.settings
    app.state.driver = create_driver(settings)
    app.state.schema_ready = False
    retry: asyncio.Task[None] | None = None
    try:
        await prepare_database(app)
    except (ServiceUnavailable, SessionExpired, OSError) as exc:
        # Start anyway: /healthz answers, /readyz says why not ready, and the schema is
        # applied as soon as Neo4j comes up.
        log.warning("Neo4j unreachable at %s (%s); retrying in the background", settings.neo4j_uri, exc)
        retry = asyncio.create_task(_prepare_until_ready(app))
    except Neo4jError as exc:
        log.error("could not apply the schema to Neo4j: %s", exc)
        raise
    background = [retry] if retry is not None else []
    background.append(asyncio.create_task(_watch_database(app)))
    if settings.stale_check_interval_seconds > 0:
        background.append(asyncio.create_task(_mark_stale_periodically(app)))
    if settings.webhook_poll_seconds > 0:
        background.append(asyncio.create_task(_dispatch_webhooks(app)))
    if settings.accuracy_interval_seconds > 0:
        background.append(asyncio.create_task(_record_accuracy_periodically(app)))
    try:
        yield
    finally:
        for task in background:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if app.state.schema_ready and app.state.db_health.available:
            await _release_leases(app)
        await app.state.driver.close()


def create_app(settings: Settings | None = None) -> FastAPI:
    app = FastAPI(
        title="CMDB",
        version="0.1.0",
        description="Configuration items, their relationships and history, kept true by discovery.",
        lifespan=lifespan,
        docs_url=None,  # served from the server's own assets (cmdb_server/web/assets.py), not a CDN
        redoc_url=None,
    )
    app.state.settings = settings or Settings()
    app.state.schema = load_schema()
    app.state.token_cache = TokenCache(app.state.settings.token_cache_seconds)
    app.state.auth_failures = AuthFailures(
        app.state.settings.auth_failure_limit, app.state.settings.auth_failure_window_seconds
    )
    app.state.schema_ready = False
    app.state.db_health = DatabaseHealth()
    # Names this process to the other servers on the same graph (job leases).
    app.state.holder = f"{socket.gethostname()}/{os.getpid()}/{uuid.uuid4().hex[:8]}"
    install_error_handlers(app)
    app.add_middleware(QueryTimeoutMiddleware, seconds=app.state.settings.query_timeout_seconds)
    app.include_router(health.router, responses=ERROR_RESPONSES)
    app.include_router(inventory.protocol_router)  # HTTP Basic, answered in XML: not under /api/v1
    app.include_router(metrics.router, responses=ERROR_RESPONSES)
    web.install(app)
    api = APIRouter(
        prefix=API_PREFIX, dependencies=[Depends(require_ready), Depends(refuse_nul)], responses=ERROR_RESPONSES
    )
    api.include_router(cis.router)
    api.include_router(curation.router)
    api.include_router(merges.router)
    api.include_router(tags.router)
    api.include_router(bulk.router)
    api.include_router(webhooks.router)
    api.include_router(impact.router)
    api.include_router(services.router)
    api.include_router(changes.router)
    api.include_router(freezes.router)
    api.include_router(incidents.router)
    api.include_router(releases.router)
    api.include_router(audit.router)
    api.include_router(service_report.router)
    api.include_router(reports.router)
    api.include_router(inventory.router)
    api.include_router(sources.router)
    api.include_router(maintenance.router)
    app.include_router(api)
    # The last added runs first: headers go on every answer, the token's own 401 included.
    app.add_middleware(
        BodyLimit,
        prefix=API_PREFIX,
        limit=app.state.settings.max_body_bytes,
        own_limits=("/reports", "/import", "/inventory"),
    )
    app.add_middleware(AuthenticateApi, prefix=API_PREFIX)
    app.add_middleware(SecurityHeaders, api_prefix=API_PREFIX)
    return app
