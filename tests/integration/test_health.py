"""Probes tell the truth about the database, and the API refuses work while it is away."""

from __future__ import annotations

import socket

from fastapi.testclient import TestClient

from cmdb_server.app import create_app
from cmdb_server.config import Settings
from tests.integration.conftest import BOOTSTRAP_TOKEN, bearer


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_ready_when_neo4j_answers_and_the_schema_is_applied(client: TestClient) -> None:
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ready", "checks": {"neo4j": "ok", "schema": "applied"}}


def test_not_ready_while_neo4j_is_unreachable(settings: Settings) -> None:
    unreachable = settings.model_copy(
        update={"neo4j_uri": f"bolt://127.0.0.1:{_closed_port()}", "neo4j_connection_timeout": 1.0}
    )
    with TestClient(create_app(unreachable)) as client:
        assert client.get("/healthz").status_code == 200
        ready = client.get("/readyz")
        assert ready.status_code == 503
        assert ready.json()["checks"]["neo4j"].startswith("unreachable")
        assert ready.json()["checks"]["schema"] == "not applied yet"
        api = client.get("/api/v1/cis", headers=bearer(BOOTSTRAP_TOKEN))
        assert api.status_code == 503
        assert "not ready" in api.json()["error"]["message"]
