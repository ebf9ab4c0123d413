"""A token speaks for its own source only: the server decides a report's source from the token.

Each case is one the issue measured from outside: an agent token ending another host's
relations, a collector sending agent and manual reports, an agent report creating
applications and switches, a second token taking a bound host, report ids shared by two
sources, and a report dated in the future blocking its source for ever.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient
from neo4j import AsyncGraphDatabase, Driver

from cmdb_server.config import Settings
from cmdb_server.repositories import tokens
from schema import Role
from tests.integration.conftest import BOOTSTRAP_TOKEN, bearer
from tests.integration.test_ingest import again, counts, host_report, send

ADMIN = bearer(BOOTSTRAP_TOKEN)


def installed(neo4j_driver: Driver, hostname: str) -> list[str]:
    """The packages the host has INSTALLED edges to, by name."""
    records, _, _ = neo4j_driver.execute_query(
        "MATCH (h:Host {hostname: $h})-[:INSTALLED]->(p) RETURN p.package_name AS name ORDER BY name", h=hostname
    )
    return [r["name"] for r in records]


def as_source(report: dict[str, Any], kind: str, name: str) -> dict[str, Any]:
    return report | {"source": {"kind": kind, "name": name}, "report_id": str(uuid.uuid4())}


def test_an_agent_token_cannot_speak_for_another_hosts_source(
    client: TestClient, make_token: Callable[..., str], neo4j_driver: Driver
) -> None:
    h1, h2 = bearer(make_token(Role.AGENT)), bearer(make_token(Role.AGENT))
    assert send(client, host_report("mid-h1", "h1"), h1).status_code == 200
    assert send(client, host_report("mid-h2", "h2"), h2).status_code == 200
    assert installed(neo4j_driver, "h2") == ["bash", "openssl"]
    before = counts(neo4j_driver)

    # h1's token, its own host, h2's source name: ending h2's INSTALLED edges is refused.
    forged = as_source(host_report("mid-h1", "h1", packages=()), "agent", "h2")
    refused = send(client, forged, h1)
    assert refused.status_code == 403
    error = refused.json()["error"]
    assert error["fields"][0]["field"] == "source.name"
    assert "speaks for agent:h1" in error["message"]
    assert counts(neo4j_driver) == before
    assert installed(neo4j_driver, "h2") == ["bash", "openssl"]

    # A fresh token may not take a source another active token speaks for.
    fresh = bearer(make_token(Role.AGENT))
    taken = send(client, host_report("mid-h2", "h2", packages=()), fresh)
    assert taken.status_code == 403
    assert "belongs to another agent token" in taken.json()["error"]["message"]
    assert installed(neo4j_driver, "h2") == ["bash", "openssl"]


def test_a_report_dated_in_the_future_is_refused_and_blocks_nothing(
    client: TestClient, make_token: Callable[..., str], neo4j_driver: Driver
) -> None:
    token = bearer(make_token(Role.AGENT))
    future = host_report("mid-h2", "h2", collected_at=datetime(2099, 1, 1, tzinfo=UTC))
    refused = send(client, future, token)
    assert refused.status_code == 422
    assert refused.json()["error"]["fields"][0]["field"] == "collected_at"
    assert counts(neo4j_driver)["cis"] == 0
    assert send(client, host_report("mid-h2", "h2"), token).status_code == 200


def test_an_admin_resets_a_source_a_skewed_clock_left_ahead(client: TestClient, make_token: Callable[..., str]) -> None:
    token = bearer(make_token(Role.AGENT))
    now = datetime.now(UTC)
    ahead = host_report("mid-h3", "h3", collected_at=now + timedelta(minutes=4))  # within the allowed skew
    assert send(client, ahead, token).status_code == 200
    blocked = send(client, host_report("mid-h3", "h3", collected_at=now), token)
    assert blocked.status_code == 409
    listed = client.get("/api/v1/sources", headers=ADMIN).json()["sources"]
    assert [(s["source"], s["cis"] >= 2) for s in listed] == [("agent:h3", True)]
    assert listed[0]["agent_token_id"] is not None

    reader = bearer(make_token(Role.ENGINEER))
    assert client.post("/api/v1/sources/reset", json={"source": "agent:h3"}, headers=reader).status_code == 403
    reset = client.post("/api/v1/sources/reset", json={"source": "agent:h3"}, headers=ADMIN)
    assert reset.status_code == 200
    assert reset.json() == {"source": "agent:h3", "unbound_tokens": []}
    assert send(client, host_report("mid-h3", "h3", collected_at=now + timedelta(seconds=1)), token).status_code == 200
    missing = client.post("/api/v1/sources/reset", json={"source": "agent:nobody"}, headers=ADMIN)
    assert missing.status_code == 404


def test_a_collector_token_speaks_for_the_sources_it_was_issued_for_only(
    client: TestClient, make_token: Callable[..., str], neo4j_driver: Driver
) -> None:
    agent = bearer(make_token(Role.AGENT))
    assert send(client, host_report("mid-h1", "h1"), agent).status_code == 200
    before = counts(neo4j_driver)
    collector = bearer(make_token(Role.COLLECTOR, ("ssh:dc1@*", "snmp:dc1@*")))
    refusals = (
        ("agent", "h1", "source.kind"),
        ("manual", "h1", "source.kind"),
        ("ssh", "dc2@10.0.0.1", "source"),
        ("import", "dc1@x", "source"),
    )
    for kind, name, field in refusals:
        refused = send(client, as_source(host_report("mid-h1", "h1", packages=()), kind, name), collector)
        assert refused.status_code == 403, (kind, name)
        assert refused.json()["error"]["fields"][0]["field"] == field
    assert counts(neo4j_driver) == before
    assert installed(neo4j_driver, "h1") == ["bash", "openssl"]
    ssh = as_source(host_report("mid-h1", "h1", packages=()), "ssh", "dc1@127.0.0.1")
    assert send(client, ssh, collector).status_code == 200


def test_an_agent_describes_its_own_host_and_its_parts_only(
    client: TestClient, make_token: Callable[..., str], neo4j_driver: Driver
) -> None:
    token = bearer(make_token(Role.AGENT))
    app = {"ref": "app", "class": "Application", "identity": {"name": "shop"}, "attributes": {}}
    switch = {"ref": "sw", "class": "Switch", "identity": {"sys_name": "sw1"}, "attributes": {"name": "sw1"}}
    partial = host_report() | {"complete": False, "records": [app, switch], "relations": []}
    refused = send(client, partial, token)
    assert refused.status_code == 403
    assert "exactly one Host record" in refused.json()["error"]["message"]
    with_host = host_report(extra_records=[switch])
    refused = send(client, with_host, token)
    assert refused.status_code == 403
    assert refused.json()["error"]["fields"][0]["field"] == f"records[{len(with_host['records']) - 1}]"
    two_hosts = host_report(extra_records=[host_report("mid-db1", "db1")["records"][0] | {"ref": "other"}])
    assert send(client, two_hosts, token).status_code == 403
    assert counts(neo4j_driver)["cis"] == 0
    # What an agent does report: its host, the host's parts, packages and addresses.
    address = {"ref": "ip", "class": "IPAddress", "identity": {"address": "192.0.2.7", "domain": "global"}}
    fine = host_report(extra_records=[address], relations=[{"type": "HAS_IP", "from": "eth0", "to": "ip"}])
    assert send(client, fine, token).status_code == 200


def test_binding_a_host_another_token_holds_needs_an_admin(
    client: TestClient, make_token: Callable[..., str], neo4j_driver: Driver
) -> None:
    first = make_token(Role.AGENT)
    assert send(client, host_report(), bearer(first)).status_code == 200
    second = bearer(make_token(Role.AGENT))
    renamed_source = as_source(host_report(), "agent", "web1-reinstalled")
    refused = send(client, renamed_source, second)
    assert refused.status_code == 403
    assert "is bound to another agent token" in refused.json()["error"]["message"]
    assert counts(neo4j_driver)["cis"] == 4

    # The admin frees the first token's host and source: the new token takes them.
    listed = client.get("/api/v1/sources", headers=ADMIN).json()["sources"]
    reset = client.post("/api/v1/sources/reset", json={"source": "agent:web1", "unbind": True}, headers=ADMIN)
    assert reset.json()["unbound_tokens"] == [listed[0]["agent_token_id"]]
    assert send(client, again(renamed_source), second).status_code == 200
    assert send(client, again(host_report()), bearer(first)).status_code == 403  # the host is the new token's now


def test_a_revoked_agent_token_lets_go_of_its_host(
    client: TestClient, make_token: Callable[..., str], neo4j_driver: Driver, settings: Settings
) -> None:
    assert send(client, host_report(), bearer(make_token(Role.AGENT))).status_code == 200
    records, _, _ = neo4j_driver.execute_query("MATCH (t:ApiToken) WHERE t.bound_ci_uid IS NOT NULL RETURN t.token_id")

    async def revoke(token_id: str) -> bool:
        async with AsyncGraphDatabase.driver(settings.neo4j_uri, auth=settings.neo4j_auth()) as driver:
            return await tokens.revoke_token(driver, settings.neo4j_database, token_id)

    assert asyncio.run(revoke(records[0][0]))
    successor = bearer(make_token(Role.AGENT))
    assert send(client, again(host_report()), successor).status_code == 200


def test_report_ids_are_recognised_per_source(client: TestClient, make_token: Callable[..., str]) -> None:
    shared_id = str(uuid.uuid4())
    h1 = host_report("mid-h1", "h1") | {"report_id": shared_id}
    h2 = host_report("mid-h2", "h2") | {"report_id": shared_id}
    first = send(client, h1, bearer(make_token(Role.AGENT)))
    second = send(client, h2, bearer(make_token(Role.AGENT)))
    assert (first.json()["replayed"], second.json()["replayed"]) == (False, False)
    assert second.json()["classes"]["LinuxHost"]["created"] == 1
    assert send(client, h1).json()["replayed"] is True  # the same source's id again: a replay


def test_a_refused_report_is_kept_on_its_source_and_a_forged_one_makes_no_source(
    client: TestClient, make_token: Callable[..., str]
) -> None:
    token = bearer(make_token(Role.AGENT))
    assert send(client, host_report("mid-h5", "h5"), token).status_code == 200
    future = host_report("mid-h5", "h5", collected_at=datetime(2099, 1, 1, tzinfo=UTC))
    assert send(client, future, token).status_code == 422
    assert send(client, future, token).status_code == 422
    (listed,) = client.get("/api/v1/sources", headers=ADMIN).json()["sources"]
    assert (listed["source"], listed["refused_status"], listed["refused_count"]) == ("agent:h5", 422, 2)
    assert "is in the future" in listed["refused_reason"]
    assert listed["received_at"] < listed["refused_at"]  # the refused reports moved nothing else

    # A token that may not speak for a source leaves no state for a source never seen...
    forged = as_source(host_report("mid-h5", "h5"), "agent", "nobody")
    assert send(client, forged, token).status_code == 403
    assert [s["source"] for s in client.get("/api/v1/sources", headers=ADMIN).json()["sources"]] == ["agent:h5"]
    # ...and a known source's state notes the attempt.
    other = bearer(make_token(Role.AGENT))
    assert send(client, host_report("mid-h5", "h5"), other).status_code == 403
    (listed,) = client.get("/api/v1/sources", headers=ADMIN).json()["sources"]
    assert (listed["refused_status"], listed["refused_count"]) == (403, 3)
