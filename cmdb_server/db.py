"""The Neo4j driver, created from settings and owned by the app's lifespan, and what the
server knows of the database's health."""

from __future__ import annotations

import logging
import time

from neo4j import AsyncDriver, AsyncGraphDatabase, NotificationMinimumSeverity

from cmdb_server.config import Settings

log = logging.getLogger(__name__)


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
