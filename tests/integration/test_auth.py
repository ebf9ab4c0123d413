"""Every /api/v1 endpoint needs a bearer token of an allowed role; tokens are stored hashed."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from neo4j import Driver

from cmdb_server.app import create_app
from cmdb_server.auth import TokenCache
from cmdb_server.config import Settings
from cmdb_server.security import hash_token
from schema import Role
from tests.integration.conftest import BOOTSTRAP_TOKEN, bearer


def test_without_a_token_the_api_answers_401_with_a_challenge(client: TestClient) -> None:
    response = client.get("/api/v1/cis")
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert "bearer token" in response.json()["error"]["message"]


@pytest.mark.parametrize("header", ["Bearer cmdb_not-a-real-token", "Basic dXNlcjpwYXNz", "Bearer "])
def test_a_wrong_or_malformed_token_is_401(client: TestClient, header: str) -> None:
    response = client.get("/api/v1/cis", headers={"Authorization": header})
    assert response.status_code == 401
    assert response.json()["error"]["status"] == 401


def test_the_bootstrap_token_from_the_environment_is_an_admin(client: TestClient) -> None:
    assert client.get("/api/v1/cis", headers=bearer(BOOTSTRAP_TOKEN)).status_code == 200


@pytest.mark.parametrize("role", [Role.ADMIN, Role.ENGINEER, Role.CHANGE_MANAGER])
def test_readers_may_list_cis(client: TestClient, make_token: Callable[[Role], str], role: Role) -> None:
    response = client.get("/api/v1/cis", headers=bearer(make_token(role)))
    assert response.status_code == 200
    assert response.json()["items"] == []


@pytest.mark.parametrize("role", [Role.AGENT, Role.COLLECTOR])
def test_agents_and_collectors_may_not_read(client: TestClient, make_token: Callable[[Role], str], role: Role) -> None:
    response = client.get("/api/v1/cis", headers=bearer(make_token(role)))
    assert response.status_code == 403
    assert f"role '{role.value}'" in response.json()["error"]["message"]


def test_a_revoked_token_is_refused(
    client: TestClient, make_token: Callable[[Role], str], neo4j_driver: Driver
) -> None:
    client.app.state.token_cache = TokenCache(ttl_seconds=0.5)  # type: ignore[attr-defined]
    token = make_token(Role.ENGINEER)
    assert client.get("/api/v1/cis", headers=bearer(token)).status_code == 200
    neo4j_driver.execute_query("MATCH (t:ApiToken {token_hash: $h}) SET t.revoked_at = datetime()", h=hash_token(token))
    # A verified token is trusted for the cache's time, then asked for again.
    deadline = time.monotonic() + 5
    while client.get("/api/v1/cis", headers=bearer(token)).status_code == 200:
        assert time.monotonic() < deadline, "a revoked token was still accepted after 5 s"
        time.sleep(0.1)
    assert client.get("/api/v1/cis", headers=bearer(token)).status_code == 401


def test_tokens_are_stored_hashed_never_in_clear(
    client: TestClient, make_token: Callable[[Role], str], neo4j_driver: Driver
) -> None:
    token = make_token(Role.ENGINEER)
    records, _, _ = neo4j_driver.execute_query("MATCH (t:ApiToken) RETURN properties(t) AS p")
    assert len(records) == 2  # the bootstrap token and this one
    stored_values = [str(v) for r in records for v in r["p"].values()]
    assert token not in stored_values
    assert BOOTSTRAP_TOKEN not in stored_values
    assert hash_token(token) in stored_values


def test_probes_need_no_token(client: TestClient) -> None:
    assert client.get("/healthz").status_code == 200
    assert client.get("/readyz").status_code == 200


def test_a_body_is_not_parsed_before_the_token_is_checked(client: TestClient) -> None:
    for headers in ({}, {"Authorization": "Bearer cmdb_not-a-real-token"}):
        response = client.post(
            "/api/v1/cis", content=b"{not json", headers=headers | {"Content-Type": "application/json"}
        )
        assert response.status_code == 401, response.text
    response = client.post(
        "/api/v1/cis", content=b"{not json", headers=bearer(BOOTSTRAP_TOKEN) | {"Content-Type": "application/json"}
    )
    assert response.status_code == 400  # with a token: read, and not JSON


def test_every_answer_carries_the_security_headers(client: TestClient) -> None:
    admin = bearer(BOOTSTRAP_TOKEN)
    for path, headers in (("/healthz", {}), ("/docs", {}), ("/api/v1/cis", {}), ("/api/v1/cis", admin)):
        response = client.get(path, headers=headers)
        assert response.headers["x-content-type-options"] == "nosniff", path
        assert response.headers["x-frame-options"] == "DENY"
        assert response.headers["referrer-policy"] == "no-referrer"
        assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
        assert ("no-store" in response.headers.get("cache-control", "")) == path.startswith("/api/")


DELAY = 2.5
"""The delay a client past the failure limit waits: long, so that an undelayed answer on a
loaded machine is still told apart from a delayed one."""


def test_repeated_failures_from_one_client_are_slowed_and_valid_tokens_are_not(settings: Settings) -> None:
    strict = settings.model_copy(
        update={"auth_failure_limit": 3, "auth_failure_window_seconds": 30, "auth_failure_delay_seconds": DELAY}
    )
    with TestClient(create_app(strict)) as client:
        wrong = {"Authorization": "Bearer cmdb_guess"}
        for _ in range(3):
            started = time.perf_counter()
            assert client.get("/api/v1/cis", headers=wrong).status_code == 401
            assert time.perf_counter() - started < DELAY
        started = time.perf_counter()
        refused = client.get("/api/v1/cis", headers=wrong)
        assert time.perf_counter() - started >= DELAY
        assert refused.status_code == 429
        assert 1 <= int(refused.headers["retry-after"]) <= 30
        # The same client with a real token is answered at once.
        started = time.perf_counter()
        assert client.get("/api/v1/cis", headers=bearer(BOOTSTRAP_TOKEN)).status_code == 200
        assert time.perf_counter() - started < DELAY
        # A missing token is no guess: 401 as before, not counted.
        assert client.get("/api/v1/cis").status_code == 401
