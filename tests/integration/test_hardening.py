"""Credentials stay out of what the server hands out and stores: exports, webhook secrets
at rest, the bootstrap admin token."""

from __future__ import annotations

import subprocess
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from neo4j import Driver
from pydantic import SecretStr, ValidationError

from cmdb_server.app import create_app
from cmdb_server.config import Settings
from cmdb_server.security import SecretBox, hash_token
from schema import Role
from tests.integration.conftest import BOOTSTRAP_TOKEN, bearer
from tests.integration.server_process import BIN, free_port, server_env

ADMIN = bearer(BOOTSTRAP_TOKEN)
SECRET = "a-signing-secret-of-some-length-42"


def _allowing_loopback(settings: Settings) -> Settings:
    return settings.model_copy(update={"webhook_allowed_networks": "127.0.0.0/8", "webhook_poll_seconds": 0})


def test_the_graph_export_holds_no_token_hash_and_no_secret(
    settings: Settings, empty_graph: None, make_token: Callable[[Role], str]
) -> None:
    engineer = make_token(Role.ENGINEER)
    with TestClient(create_app(_allowing_loopback(settings))) as client:
        made = client.post(
            "/api/v1/webhooks",
            json={"url": "http://127.0.0.1:9/hook", "events": ["ci.created"], "secret": SECRET},
            headers=ADMIN,
        )
        assert made.status_code == 201, made.text
        client.post("/api/v1/cis", json={"class": "Application", "attributes": {"name": "payroll"}}, headers=ADMIN)
        export = client.get("/api/v1/export/graph", headers=ADMIN)
    assert export.status_code == 200
    text = export.text
    for credential in (engineer, BOOTSTRAP_TOKEN, hash_token(engineer), hash_token(BOOTSTRAP_TOKEN), SECRET):
        assert credential not in text
    assert "ApiToken" not in text
    assert "token_hash" not in text
    assert "secret" not in text  # neither the secret nor its encrypted form
    assert "WebhookSubscription" in text  # the subscription itself is backed up
    assert '"payroll"' in text


def test_webhook_secrets_are_stored_encrypted_and_plain_ones_are_sealed_at_start(
    settings: Settings, empty_graph: None, neo4j_driver: Driver
) -> None:
    with TestClient(create_app(_allowing_loopback(settings))) as client:
        made = client.post(
            "/api/v1/webhooks",
            json={"url": "http://127.0.0.1:9/hook", "events": ["ci.created"], "secret": SECRET},
            headers=ADMIN,
        ).json()
        assert made["secret"] == SECRET  # shown once, in the answer
        listed = client.get("/api/v1/webhooks", headers=ADMIN).json()["items"]
        assert not {"secret", "secret_encrypted"} & set(listed[0])
    records, _, _ = neo4j_driver.execute_query("MATCH (s:WebhookSubscription) RETURN properties(s) AS p")
    stored = records[0]["p"]
    assert SECRET not in [str(v) for v in stored.values()]
    assert "secret" not in stored
    assert settings.secret_key is not None
    box = SecretBox(settings.secret_key.get_secret_value())
    assert box.open(stored["secret_encrypted"]) == SECRET

    # A subscription written before secrets were encrypted is sealed when the server starts.
    neo4j_driver.execute_query(
        "CREATE (:WebhookSubscription {id: 'old', url: 'http://127.0.0.1:9/x', events: ['ci.created'], "
        "secret: $secret, created_at: datetime()})",
        secret="an-old-plain-secret-0123456789",
    )
    with TestClient(create_app(_allowing_loopback(settings))):
        pass
    records, _, _ = neo4j_driver.execute_query("MATCH (s:WebhookSubscription {id: 'old'}) RETURN properties(s) AS p")
    old = records[0]["p"]
    assert "secret" not in old
    assert box.open(old["secret_encrypted"]) == "an-old-plain-secret-0123456789"


def test_without_a_secret_key_webhooks_are_refused_naming_the_setting(settings: Settings, empty_graph: None) -> None:
    keyless = _allowing_loopback(settings).model_copy(update={"secret_key": None})
    with TestClient(create_app(keyless)) as client:
        response = client.post(
            "/api/v1/webhooks", json={"url": "http://127.0.0.1:9/hook", "events": ["ci.created"]}, headers=ADMIN
        )
    assert response.status_code == 503
    assert "CMDB_SECRET_KEY" in response.json()["error"]["message"]


def test_a_weak_bootstrap_token_stops_the_server_with_the_reason(settings: Settings) -> None:
    for weak, reason in (("a", "1 characters"), ("cmdb_" + "ab" * 20, "different characters")):
        with pytest.raises(ValidationError, match=reason):
            Settings(bootstrap_admin_token=weak)
        env = server_env(settings) | {"CMDB_BOOTSTRAP_ADMIN_TOKEN": weak}
        run = subprocess.run(
            [str(BIN / "cmdb-server"), "--port", str(free_port())], env=env, capture_output=True, text=True, timeout=30
        )
        assert run.returncode == 2
        assert "CMDB_BOOTSTRAP_ADMIN_TOKEN is too weak" in run.stderr
        assert reason in run.stderr


def test_the_bootstrap_token_stays_beside_other_admins_and_a_revocation_stands_over_restarts(
    settings: Settings, empty_graph: None, make_token: Callable[[Role], str], neo4j_driver: Driver
) -> None:
    other = "cmdb_Another-Bootstrap-Value-for-Tests-51c9e0a7d2"
    with TestClient(create_app(settings)) as client:
        make_token(Role.ADMIN)
        assert client.get("/api/v1/cis", headers=ADMIN).status_code == 200  # until revoked
    subprocess.run(
        [str(BIN / "cmdb-server"), "token", "revoke", "bootstrap"], env=server_env(settings), check=True, timeout=30
    )
    with TestClient(create_app(settings)) as client:  # a restart with the variable still set
        assert client.get("/api/v1/cis", headers=ADMIN).status_code == 401
    with TestClient(create_app(settings.model_copy(update={"bootstrap_admin_token": SecretStr(other)}))) as client:
        assert client.get("/api/v1/cis", headers=bearer(other)).status_code == 200  # a new value works
        assert client.get("/api/v1/cis", headers=ADMIN).status_code == 401
    with TestClient(create_app(settings)) as client:  # the revoked value again: still revoked
        assert client.get("/api/v1/cis", headers=ADMIN).status_code == 401
        assert client.get("/api/v1/cis", headers=bearer(other)).status_code == 401  # replaced
    records, _, _ = neo4j_driver.execute_query("MATCH (t:ApiToken {token_id: 'bootstrap'}) RETURN t.revoked_at AS r")
    assert records[0]["r"] is not None
