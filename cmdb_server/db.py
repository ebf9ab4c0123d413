"""The Neo4j driver: created from settings, owned by the app's lifespan; the time limit of
reads; and what the server knows of the database's health (``DatabaseHealth``).

Every read the API makes runs in a transaction with a timeout (``CMDB_QUERY_TIMEOUT_SECONDS``):
Neo4j ends a read that runs longer, the request answers 503 (or 422 where the client can
narrow its search), and neither the database nor the worker stays busy with it. The limit
is a context variable, set per request from the app's settings (see ``QueryTimeoutMiddleware``),
so the repositories need no settings and two apps in one process (the tests) keep their own.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from typing import Any, TypeVar

from neo4j import AsyncDriver, AsyncGraphDatabase, NotificationMinimumSeverity, Query, unit_of_work
from neo4j.exceptions import ClientError
from starlette.types import ASGIApp, Receive, Scope, Send

from cmdb_server.config import Settings

log = logging.getLogger(__name__)

T = TypeVar("T")

QUERY_TIMEOUT: ContextVar[float] = ContextVar(
    "query_timeout", default=Settings.model_fields["query_timeout_seconds"].default
)
"""Seconds a read transaction may run (Neo4j ends it then); background jobs use the default."""

TIMED_OUT_CODES = frozenset(
    {
        "Neo.ClientError.Transaction.TransactionTimedOut",
        "Neo.ClientError.Transaction.TransactionTimedOutClientConfiguration",
    }
)


def create_driver(settings: Settings) -> AsyncDriver:
    return AsyncGraphDatabase.driver(
        settings.neo4j_uri,
        auth=settings.neo4j_auth(),
        connection_timeout=settings.neo4j_connection_timeout,
        # Fail fast when the database is gone instead of holding API requests for 30 s.
        connection_acquisition_timeout=settings.neo4j_connection_timeout * 2,
        max_transaction_retry_time=settings.neo4j_connection_timeout * 2,
        # Neo4j warns about property keys and labels no node has yet (an empty graph);
        # the schema, not those warnings, says what is valid.
        notifications_min_severity=NotificationMinimumSeverity.OFF,
    )


def read_query(text: str) -> Query:
    """A read statement for ``execute_query``, with the request's time limit."""
    return Query(text, timeout=QUERY_TIMEOUT.get())


def timed(work: Callable[..., Awaitable[T]]) -> Callable[..., Awaitable[T]]:
    """A transaction function for ``execute_read``, with the request's time limit."""
    return unit_of_work(timeout=QUERY_TIMEOUT.get())(work)


def timed_out(exc: BaseException) -> bool:
    """Whether Neo4j ended a transaction because it outran its time limit."""
    return isinstance(exc, ClientError) and exc.code in TIMED_OUT_CODES


class QueryTimeoutMiddleware:
    """Sets the read time limit of every request from the app's settings (plain ASGI, so the
    context variable is seen by the endpoint, which runs in the same task)."""

    def __init__(self, app: ASGIApp, seconds: float) -> None:
        self.app = app
        self.seconds = seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> Any:
        token = QUERY_TIMEOUT.set(self.seconds)
        try:
            await self.app(scope, receive, send)
        finally:
            QUERY_TIMEOUT.reset(token)


class DatabaseHealth:
    """Whether Neo4j is known to be away, as this server process last saw it.

    Set down by any request or job that loses the database (ServiceUnavailable,
    SessionExpired) and by the background probe; set up again only by the probe. While it
    is down, API requests are answered 503 at once instead of each waiting out the
    driver's connection attempts and transaction retries (15 s), and background jobs skip
    their turn. Per process: every worker finds out for itself, within a probe interval.
    """

    def __init__(self) -> None:
        self.down_since: float | None = None  # time.monotonic() when first seen away
        self.reason = ""

    @property
    def available(self) -> bool:
        return self.down_since is None

    def mark_down(self, error: BaseException | str) -> None:
        if self.down_since is None:
            self.down_since = time.monotonic()
            log.warning("Neo4j is away (%s); answering 503 until it is back", error)
        self.reason = str(error) or type(error).__name__

    def mark_up(self) -> None:
        if self.down_since is not None:
            log.warning("Neo4j is back after %.1f s", time.monotonic() - self.down_since)
        self.down_since = None
        self.reason = ""
