"""The database enforces the schema: constraints exist, are idempotent, and refuse duplicates."""

from __future__ import annotations

import asyncio

import pytest
from fastapi.testclient import TestClient
from neo4j import AsyncGraphDatabase, Driver
from neo4j.exceptions import ConstraintError

from cmdb_server.config import Settings
from cmdb_server.repositories import schema_setup
from schema import derive_index_specs, load_schema
from tests.integration.conftest import SeedCI


def _apply(settings: Settings) -> schema_setup.SchemaReport:
    async def run() -> schema_setup.SchemaReport:
        async with AsyncGraphDatabase.driver(settings.neo4j_uri, auth=settings.neo4j_auth()) as driver:
            return await schema_setup.apply_schema(driver, settings.neo4j_database, derive_index_specs(load_schema()))

    return asyncio.run(run())


def _missing(settings: Settings) -> list[str]:
    async def run() -> list[str]:
        async with AsyncGraphDatabase.driver(settings.neo4j_uri, auth=settings.neo4j_auth()) as driver:
            return await schema_setup.missing_schema_objects(
                driver, settings.neo4j_database, derive_index_specs(load_schema())
            )

    return asyncio.run(run())


def test_start_up_applies_every_constraint_and_index_of_the_schema(client: TestClient, settings: Settings) -> None:
    assert _missing(settings) == []


def test_applying_again_changes_nothing(client: TestClient, settings: Settings) -> None:
    report = _apply(settings)
    assert report.created == []
    assert report.replaced == []
    assert len(report.present) == len(derive_index_specs(load_schema()))


def test_a_changed_definition_is_replaced(client: TestClient, settings: Settings, neo4j_driver: Driver) -> None:
    neo4j_driver.execute_query("DROP INDEX host_fqdn_range")
    neo4j_driver.execute_query("CREATE RANGE INDEX host_fqdn_range FOR (n:Host) ON (n.hostname)")
    assert "host_fqdn_range" in _missing(settings)
    report = _apply(settings)
    assert report.replaced == ["host_fqdn_range"]
    assert _missing(settings) == []


def test_the_database_refuses_a_duplicate_uid(client: TestClient, seed_ci: SeedCI, neo4j_driver: Driver) -> None:
    host = seed_ci("Host", name="web1", machine_id="m-1")
    with pytest.raises(ConstraintError):
        neo4j_driver.execute_query("CREATE (:CI:Application {uid: $uid, name: 'other'})", uid=host.uid)
    records, _, _ = neo4j_driver.execute_query("MATCH (n:CI {uid: $uid}) RETURN count(n) AS n", uid=host.uid)
    assert records[0]["n"] == 1


def test_the_database_refuses_a_second_host_with_the_same_machine_id(client: TestClient, seed_ci: SeedCI) -> None:
    seed_ci("LinuxHost", name="web1", machine_id="m-1")
    with pytest.raises(ConstraintError):
        seed_ci("Host", name="web1-again", machine_id="m-1")


def test_dependent_identity_is_scoped_to_the_parent(client: TestClient, seed_ci: SeedCI) -> None:
    web1 = seed_ci("Host", name="web1", machine_id="m-1")
    web2 = seed_ci("Host", name="web2", machine_id="m-2")
    seed_ci("Interface", parent_uid=web1.uid, name="eth0")
    seed_ci("Interface", parent_uid=web2.uid, name="eth0")  # same name, other host: fine
    with pytest.raises(ConstraintError):
        seed_ci("Interface", parent_uid=web1.uid, name="eth0")


def test_servers_starting_together_apply_the_schema_once(settings: Settings, neo4j_driver: Driver) -> None:
    """Two workers or replicas on a fresh database race to create the same indexes."""
    specs = derive_index_specs(load_schema())
    neo4j_driver.execute_query("DROP INDEX host_fqdn_range IF EXISTS")
    neo4j_driver.execute_query("DROP CONSTRAINT application_name_unique IF EXISTS")

    async def race() -> list[schema_setup.SchemaReport]:
        async with AsyncGraphDatabase.driver(settings.neo4j_uri, auth=settings.neo4j_auth()) as driver:
            return list(
                await asyncio.gather(
                    *(schema_setup.apply_schema(driver, settings.neo4j_database, specs) for _ in range(4))
                )
            )

    reports = asyncio.run(race())
    assert all("host_fqdn_range" in r.created + r.present for r in reports)
    assert _missing(settings) == []


def test_a_constraint_an_earlier_version_made_is_dropped(
    client: TestClient, settings: Settings, neo4j_driver: Driver
) -> None:
    """Report ids were unique across sources; now per source, so the old constraint must go."""
    neo4j_driver.execute_query(
        "CREATE CONSTRAINT ingestedreport_report_id_unique FOR (n:IngestedReport) REQUIRE n.report_id IS UNIQUE"
    )
    _apply(settings)
    records, _, _ = neo4j_driver.execute_query("SHOW CONSTRAINTS YIELD name RETURN collect(name) AS names")
    assert "ingestedreport_report_id_unique" not in records[0]["names"]
    assert "ingestedreport_source_report_id_unique" in records[0]["names"]
