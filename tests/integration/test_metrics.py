"""GET /metrics of a real server (two worker processes), scraped and read by Prometheus'
own parser after real reports, impact queries, a stale check and webhook deliveries."""

from __future__ import annotations

import gzip
import json
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from pydantic import SecretStr

from cmdb_server.app import create_app
from cmdb_server.config import Settings
from schema.report import SPOOL_DEPTH_HEADER
from tests.integration.conftest import BOOTSTRAP_TOKEN, bearer
from tests.integration.estate import envelope
from tests.integration.server_process import ServerProcess
from tests.integration.test_webhooks import Receiver

ADMIN = bearer(BOOTSTRAP_TOKEN)
METRICS_TOKEN = "metrics-scrape-token-for-the-tests"

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def samples(text: str) -> Samples:
    """Every sample of a scrape, as Prometheus' parser reads it: (name, sorted labels) -> value."""
    found: Samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def value(found: Samples, name: str, **labels: str) -> float | None:
    return found.get((name, tuple(sorted(labels.items()))))


def host_report(machine_id: str, hostname: str, age: timedelta = timedelta(0), kind: str = "agent") -> dict[str, Any]:
    record = {
        "ref": "host",
        "class": "LinuxHost",
        "identity": {"machine_id": machine_id},
        "attributes": {"name": hostname, "hostname": hostname},
    }
    collected = (datetime.now(UTC) - age).isoformat()
    return envelope(kind, f"{kind}-{hostname}", [record], []) | {"collected_at": collected}


@pytest.fixture
def workers(settings: Settings, empty_graph: None) -> Iterator[ServerProcess]:
    """cmdb-server --workers 2 (CMDB_WORKERS), its dispatcher fast, receivers on loopback allowed."""
    process = ServerProcess(
        settings,
        env={
            "CMDB_WORKERS": "2",
            "CMDB_WEBHOOK_POLL_SECONDS": "0.2",
            "CMDB_WEBHOOK_RETRY_BASE_SECONDS": "0.3",
            "CMDB_WEBHOOK_MAX_ATTEMPTS": "2",
            "CMDB_WEBHOOK_ALLOWED_NETWORKS": "127.0.0.0/8",
        },
    )
    process.start()
    try:
        yield process
    finally:
        process.stop()


def test_metrics_of_a_two_worker_server_count_every_workers_reports_queries_and_deliveries(
    workers: ServerProcess,
) -> None:
    api = httpx.Client(base_url=workers.url, headers=ADMIN, timeout=30)
    good, bad = Receiver(), Receiver(fail_first=100)
    for receiver in (good, bad):
        subscribed = api.post("/api/v1/webhooks", json={"url": receiver.url, "events": ["change.state_changed"]})
        assert subscribed.status_code == 201, subscribed.text

    def post(report: Any, **headers: str) -> httpx.Response:
        return api.post("/api/v1/reports", content=json.dumps(report), headers=headers)

    first = host_report("m-1", "h1")
    applied = post(first, **{SPOOL_DEPTH_HEADER: "3"})
    assert applied.status_code == 200, applied.text
    host = applied.json()["cis"]["host"]
    assert post(first).json()["replayed"] is True  # the same report id: replayed
    unchanged = first | {"report_id": str(uuid.uuid4()), "collected_at": datetime.now(UTC).isoformat()}
    assert post(unchanged, **{SPOOL_DEPTH_HEADER: "1"}).json()["events"] == 0  # nothing new: unchanged
    ssh = host_report("m-1", "h1", kind="ssh")
    assert post(ssh, **{SPOOL_DEPTH_HEADER: "not a number"}).status_code == 200  # ignored, the report taken
    old = host_report("m-2", "h2", age=timedelta(days=10))
    assert post(old).status_code == 200
    broken = host_report("m-3", "h3") | {"records": [{"ref": "x", "class": "NoSuchClass", "identity": {}}]}
    assert post(broken).status_code == 422
    not_json = api.post("/api/v1/reports", content=gzip.compress(b"{not json"), headers={"Content-Encoding": "gzip"})
    assert not_json.status_code == 400

    for _ in range(2):
        assert api.get(f"/api/v1/cis/{host}/impact").status_code == 200
    assert api.post("/api/v1/impact", json={"uids": [host]}).status_code == 200
    marked = api.post("/api/v1/maintenance/mark-stale", params={"older_than_hours": 24})
    assert marked.json()["marked_stale"] == 1  # h2, last seen ten days ago

    change = api.post(
        "/api/v1/changes",
        json={
            "title": "patch h1",
            "planned_start": (datetime.now(UTC) + timedelta(days=1)).isoformat(),
            "planned_end": (datetime.now(UTC) + timedelta(days=1, hours=1)).isoformat(),
            "targets": [host],
        },
    ).json()
    assert api.post(f"/api/v1/changes/{change['id']}/transition", json={"to": "submitted"}).status_code == 200
    good.wait_for(lambda: len(good.requests) == 1)
    bad.wait_for(lambda: len(bad.requests) == 2)  # tried twice, then given up

    scrapes = []
    deadline = time.monotonic() + 15
    while True:  # the given-up attempt is counted just after the receiver answered it
        found = samples(httpx.get(f"{workers.url}/metrics", timeout=10).text)
        if value(found, "cmdb_webhook_deliveries_total", outcome="given_up") == 1 or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    scrapes = [found] + [samples(httpx.get(f"{workers.url}/metrics", timeout=10).text) for _ in range(5)]

    reports = "cmdb_reports_ingested_total"
    for found in scrapes:  # whichever worker answers, every worker's counts
        # Applied: h1 and h2 by the agent; replayed 1; unchanged: the agent's h1 again, and SSH's h1 (it
        # confirms what the agent said: no history event); refused: 422 (the contract) and 400 (not JSON).
        assert value(found, reports, source_kind="agent", outcome="applied", status="200") == 2
        assert value(found, reports, source_kind="ssh", outcome="unchanged", status="200") == 1
        assert value(found, reports, source_kind="agent", outcome="replayed", status="200") == 1
        assert value(found, reports, source_kind="agent", outcome="unchanged", status="200") == 1
        assert value(found, reports, source_kind="agent", outcome="refused", status="422") == 1
        assert value(found, reports, source_kind="unknown", outcome="refused", status="400") == 1
        assert value(found, "cmdb_report_ingest_seconds_count", source_kind="agent") == 5
        assert value(found, "cmdb_report_ingest_seconds_count", source_kind="ssh") == 1
        assert value(found, "cmdb_report_ingest_seconds_count", source_kind="unknown") == 1
        assert value(found, "cmdb_report_ingest_seconds_bucket", source_kind="agent", le="+Inf") == 5
        # The spool depth the agent's last report with a readable header said.
        assert value(found, "cmdb_agent_spool_depth", source="agent:agent-h1") == 1
        assert value(found, "cmdb_agent_spool_depth", source="ssh:ssh-h1") is None
        assert value(found, "cmdb_impact_query_seconds_count", query="ci") == 2
        assert value(found, "cmdb_impact_query_seconds_count", query="combined") == 1
        assert value(found, "cmdb_stale_cis", **{"class": "LinuxHost"}) == 1
        assert value(found, "cmdb_webhook_deliveries_total", outcome="delivered") == 1
        assert value(found, "cmdb_webhook_deliveries_total", outcome="failed") == 1
        assert value(found, "cmdb_webhook_deliveries_total", outcome="given_up") == 1


def test_metrics_answer_loopback_only_unless_a_token_is_set(settings: Settings, empty_graph: None) -> None:
    # The test client is no loopback address: without a token it is refused, naming the setting.
    with TestClient(create_app_with(settings, None)) as client:
        refused = client.get("/metrics")
        assert refused.status_code == 403
        assert "CMDB_METRICS_TOKEN" in refused.json()["error"]["message"]
    with TestClient(create_app_with(settings, METRICS_TOKEN)) as client:
        assert client.get("/metrics").status_code == 401
        assert client.get("/metrics", headers=bearer("wrong")).status_code == 401
        scraped = client.get("/metrics", headers=bearer(METRICS_TOKEN))
        assert scraped.status_code == 200
        assert scraped.headers["content-type"].startswith("text/plain")
        names = {family.name for family in text_string_to_metric_families(scraped.text)}
        assert {"cmdb_reports_ingested", "cmdb_report_ingest_seconds", "cmdb_webhook_deliveries"} <= names


def create_app_with(settings: Settings, token: str | None) -> FastAPI:
    return create_app(settings.model_copy(update={"metrics_token": SecretStr(token) if token else None}))
