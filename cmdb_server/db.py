"""The Neo4j driver: created from settings, owned by the app's lifespan."""

from __future__ import annotations

from neo4j import AsyncDriver, AsyncGraphDatabase, NotificationMinimumSeverity

from cmdb_server.config import Settings


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
