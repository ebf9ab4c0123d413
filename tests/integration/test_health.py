"""Probes tell the truth about the database, and the API refuses work while it is away."""

from __future__ import annotations

import socket
import time
from urllib.parse import urlsplit

from fastapi.testclient import TestClient

from cmdb_server.app import create_app
from cmdb_server.config import Settings
from tests.integration.conftest import BOOTSTRAP_TOKEN, bearer
from tests.integration.tcp_cut import CuttableLink


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


def test_while_neo4j_is_known_away_the_api_answers_503_at_once_and_recovers_by_itself(settings: Settings) -> None:
    """Before: every request waited out the driver's connection retries (15-16 s) for its 503."""
    host, port = urlsplit(settings.neo4j_uri).hostname or "127.0.0.1", urlsplit(settings.neo4j_uri).port or 7687
    with CuttableLink(host, port) as link:
        linked = settings.model_copy(update={"neo4j_uri": f"bolt://127.0.0.1:{link.port}", "neo4j_probe_seconds": 0.2})
        with TestClient(create_app(linked)) as client:
            assert client.get("/api/v1/cis", headers=bearer(BOOTSTRAP_TOKEN)).status_code == 200
            link.cut()
            time.sleep(1.0)  # a few probes: the server knows the database is away
            for _ in range(5):
                started = time.monotonic()
                away = client.get("/api/v1/cis", headers=bearer(BOOTSTRAP_TOKEN))
                assert time.monotonic() - started < 1.0
                assert away.status_code == 503
                assert int(away.headers["Retry-After"]) > 0
                assert "unavailable" in away.json()["error"]["message"]
            link.restore()
            deadline = time.monotonic() + 10
            while (back := client.get("/api/v1/cis", headers=bearer(BOOTSTRAP_TOKEN))).status_code != 200:
                assert time.monotonic() < deadline, back.text
                time.sleep(0.1)
