"""Integration fixtures: one real Neo4j per session, an empty graph for every test."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator

import pytest
from fastapi.testclient import TestClient
from neo4j import AsyncGraphDatabase, Driver, GraphDatabase

from cmdb_server.app import create_app
from cmdb_server.config import Settings
from cmdb_server.repositories import cis, tokens
from cmdb_server.repositories.cis import CIRecord
from schema import Role, check_attributes, load_schema
from tests.integration.neo4j_service import Neo4jService, neo4j_service
from tests.integration.server_process import ServerProcess

BOOTSTRAP_TOKEN = "cmdb_Bootstrap-Token-for-Tests-7f3a9c2e5b81d4"  # strong enough for the server
SECRET_KEY = "Y21kYi10ZXN0cy1zZWNyZXQta2V5LTMyLWJ5dGVzISE="  # Fernet key sealing webhook secrets


@pytest.fixture(scope="session")
def neo4j() -> Iterator[Neo4jService]:
    with neo4j_service() as service:
        yield service


@pytest.fixture(scope="session")
def neo4j_driver(neo4j: Neo4jService) -> Iterator[Driver]:
    with GraphDatabase.driver(neo4j.uri, auth=neo4j.auth()) as driver:
        driver.verify_connectivity()
        yield driver


@pytest.fixture(autouse=True)
def empty_graph(neo4j_driver: Driver) -> None:
    """Every integration test starts from a graph with no nodes (constraints stay)."""
    neo4j_driver.execute_query("MATCH (n) DETACH DELETE n")


@pytest.fixture
def settings(neo4j: Neo4jService) -> Settings:
    return Settings(
        neo4j_uri=neo4j.uri,
        neo4j_user=neo4j.user or "neo4j",
        neo4j_password=neo4j.password,
        bootstrap_admin_token=BOOTSTRAP_TOKEN,
        secret_key=SECRET_KEY,
    )


@pytest.fixture
def client(settings: Settings, empty_graph: None) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as test_client:
        yield test_client


@pytest.fixture
def server(settings: Settings, empty_graph: None) -> Iterator[ServerProcess]:
    """The API as its own process (cmdb-server), on a free port, stopped after the test."""
    process = ServerProcess(settings)
    process.start()
    try:
        yield process
    finally:
        process.stop()


ANY_COLLECTOR_SOURCE = ("ssh:*", "snmp:*")
"""What a test's collector token speaks for unless the test says otherwise."""


@pytest.fixture
def make_token(settings: Settings) -> Callable[..., str]:
    """Create a real token of a role in the graph and return it (a collector's: for ``sources``)."""

    def make(role: Role, sources: tuple[str, ...] = ANY_COLLECTOR_SOURCE) -> str:
        async def create() -> str:
            async with AsyncGraphDatabase.driver(settings.neo4j_uri, auth=settings.neo4j_auth()) as driver:
                _, token = await tokens.create_token(
                    driver,
                    settings.neo4j_database,
                    role,
                    f"test {role.value}",
                    sources if role is Role.COLLECTOR else None,
                )
                return token

        return asyncio.run(create())

    return make


SeedCI = Callable[..., CIRecord]


@pytest.fixture
def seed_ci(settings: Settings) -> SeedCI:
    """Create a CI through the server's repository (the same code the API's writers use)."""
    schema = load_schema()

    def seed(class_name: str, parent_uid: str | None = None, **attributes: object) -> CIRecord:
        ci_class = schema.ci_class(class_name)
        checked = check_attributes(ci_class, attributes)

        async def create() -> CIRecord:
            async with AsyncGraphDatabase.driver(settings.neo4j_uri, auth=settings.neo4j_auth()) as driver:
                return await cis.create_ci(
                    driver, settings.neo4j_database, schema, ci_class, checked, parent_uid=parent_uid
                )

        return asyncio.run(create())

    return seed


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def estate(client: TestClient) -> dict[str, str]:
    """The impact estate (tests/integration/estate.py): uids by name."""
    from tests.integration.estate import build_estate

    return build_estate(client)
