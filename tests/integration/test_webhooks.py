"""Webhooks end to end: a receiver on 127.0.0.1 gets signed events; failures are retried and logged."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from fastapi.testclient import TestClient

from cmdb_server.app import create_app
from cmdb_server.config import Settings
from cmdb_server.webhooks import DELIVERY_HEADER, EVENT_HEADER, SIGNATURE_HEADER, verify
from schema import Role
from tests.integration.conftest import BOOTSTRAP_TOKEN, bearer
from tests.integration.test_ingest import again, host_report, send

ADMIN = bearer(BOOTSTRAP_TOKEN)


class Receiver:
    """An HTTP endpoint on 127.0.0.1 that records what it is sent; it answers 500 to the
    first ``fail_first`` requests."""

    def __init__(self, fail_first: int = 0) -> None:
        self.fail_first = fail_first
        self.requests: list[dict[str, Any]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append({"headers": dict(self.headers), "body": body})
                failing = len(receiver.requests) <= receiver.fail_first
                self.send_response(500 if failing else 204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def events(self) -> list[dict[str, Any]]:
        return [json.loads(r["body"]) for r in self.requests]

    def wait_for(self, done: Callable[[], bool], seconds: float = 15) -> None:
        deadline = time.monotonic() + seconds
        while not done():
            if time.monotonic() > deadline:
                raise AssertionError(f"the receiver got only {[e['type'] for e in self.events()]}")
            time.sleep(0.05)


@pytest.fixture
def hooked(settings: Settings, empty_graph: None) -> Iterator[TestClient]:
    """The server with a fast dispatcher: polling every 0.1 s, retrying after 0.2 s, then 0.4 s..."""
    fast = settings.model_copy(
        update={
            "webhook_poll_seconds": 0.1,
            "webhook_retry_base_seconds": 0.2,
            "webhook_allowed_networks": "127.0.0.0/8",  # the receivers are on loopback
        }
    )
    with TestClient(create_app(fast)) as test_client:
        yield test_client


def _subscribe(client: TestClient, receiver: Receiver, events: list[str]) -> dict[str, Any]:
    response = client.post("/api/v1/webhooks", json={"url": receiver.url, "events": events}, headers=ADMIN)
    assert response.status_code == 201, response.text
    subscription: dict[str, Any] = response.json()
    return subscription


def test_a_receiver_gets_signed_events_for_a_create_an_update_and_a_change_transition(hooked: TestClient) -> None:
    receiver = Receiver()
    subscription = _subscribe(
        hooked, receiver, ["ci.created", "ci.updated", "change.state_changed", "change.unauthorised"]
    )
    assert len(subscription["secret"]) == 64
    created = hooked.post(
        "/api/v1/cis", json={"class": "Application", "attributes": {"name": "payroll"}}, headers=ADMIN
    ).json()
    hooked.patch(f"/api/v1/cis/{created['uid']}", json={"attributes": {"version": "2.1"}}, headers=ADMIN)
    start = datetime.now(UTC) + timedelta(days=1)
    change = hooked.post(
        "/api/v1/changes",
        json={
            "title": "upgrade payroll",
            "targets": [created["uid"]],
            "planned_start": start.isoformat(),
            "planned_end": (start + timedelta(hours=1)).isoformat(),
        },
        headers=ADMIN,
    ).json()
    moved = hooked.post(f"/api/v1/changes/{change['id']}/transition", json={"to": "submitted"}, headers=ADMIN)
    assert moved.status_code == 200, moved.text
    # Discovery changes a host outside any change: unauthorised.
    report = host_report()
    send(hooked, report)
    later = again(report)
    later["records"][0]["attributes"]["cpu_cores"] = 64
    send(hooked, later)

    def types() -> list[str]:
        return [e["type"] for e in receiver.events()]

    receiver.wait_for(lambda: {"change.state_changed", "change.unauthorised"} <= set(types()))
    events = receiver.events()
    # A batch is sent at once: deliveries may arrive out of order, each says when it happened.
    payroll = sorted((e for e in events if e["subject"] == created["uid"]), key=lambda e: e["at"])
    assert [e["type"] for e in payroll] == ["ci.created", "ci.updated"]
    update = payroll[1]["event"]
    assert (update["kind"], update["field"], update["old"], update["new"]) == ("attribute", "version", None, "2.1")
    assert update["source"].startswith("manual:")
    transition = next(e for e in events if e["type"] == "change.state_changed")
    assert (transition["subject"], transition["event"]["new"]) == (change["id"], "submitted")
    unauthorised = next(e for e in events if e["type"] == "change.unauthorised")
    assert (unauthorised["event"]["field"], unauthorised["event"]["new"]) == ("cpu_cores", 64)
    for request in receiver.requests:
        headers = {k.lower(): v for k, v in request["headers"].items()}
        assert verify(subscription["secret"], request["body"], headers[SIGNATURE_HEADER.lower()])
        assert not verify("another secret of some length", request["body"], headers[SIGNATURE_HEADER.lower()])
        assert headers[EVENT_HEADER.lower()] == json.loads(request["body"])["type"]
    assert len({r["headers"][DELIVERY_HEADER] for r in receiver.requests}) == len(receiver.requests)


def test_a_receiver_that_fails_twice_gets_the_event_once_and_the_log_shows_the_retries(hooked: TestClient) -> None:
    receiver = Receiver(fail_first=2)
    subscription = _subscribe(hooked, receiver, ["ci.created"])
    hooked.post("/api/v1/cis", json={"class": "Application", "attributes": {"name": "payroll"}}, headers=ADMIN)
    receiver.wait_for(lambda: len(receiver.requests) >= 3)
    time.sleep(1.0)  # no further attempt comes once one succeeded
    assert len(receiver.requests) == 3
    assert len({r["headers"][DELIVERY_HEADER] for r in receiver.requests}) == 1
    deliveries = hooked.get(f"/api/v1/webhooks/{subscription['id']}/deliveries", headers=ADMIN).json()["items"]
    assert len(deliveries) == 1
    delivery = deliveries[0]
    assert (delivery["type"], delivery["state"], delivery["attempts"]) == ("ci.created", "delivered", 3)
    assert [(a["attempt"], a["status"]) for a in delivery["log"]] == [(1, 500), (2, 500), (3, 204)]
    assert delivery["log"][0]["error"] == "HTTP 500"
    first, second, third = (datetime.fromisoformat(a["at"]) for a in delivery["log"])
    # The waits are 0.2 s then 0.4 s (doubling): lower bounds whatever the machine's load.
    assert (second - first).total_seconds() >= 0.2
    assert (third - second).total_seconds() >= 0.4


def test_only_admins_subscribe_and_a_subscription_is_checked(
    hooked: TestClient, make_token: Callable[[Role], str]
) -> None:
    engineer = bearer(make_token(Role.ENGINEER))
    body = {"url": "http://127.0.0.1:9/hook", "events": ["ci.created"]}
    assert hooked.post("/api/v1/webhooks", json=body, headers=engineer).status_code == 403
    assert hooked.get("/api/v1/webhooks", headers=engineer).status_code == 403
    for wrong, field in (({"url": "ftp://127.0.0.1/x"}, "url"), ({"events": ["ci.exploded"]}, "events")):
        response = hooked.post("/api/v1/webhooks", json=body | wrong, headers=ADMIN)
        assert response.status_code == 422, response.text
        assert response.json()["error"]["fields"][0]["field"] == field
    short_secret = hooked.post("/api/v1/webhooks", json=body | {"secret": "short"}, headers=ADMIN)
    assert short_secret.status_code == 422
    made = hooked.post("/api/v1/webhooks", json=body, headers=ADMIN).json()
    listed = hooked.get("/api/v1/webhooks", headers=ADMIN).json()["items"]
    assert [s["id"] for s in listed] == [made["id"]]
    assert "secret" not in listed[0]
    assert hooked.delete(f"/api/v1/webhooks/{made['id']}", headers=ADMIN).status_code == 200
    assert hooked.delete(f"/api/v1/webhooks/{made['id']}", headers=ADMIN).status_code == 404
    assert hooked.get("/api/v1/webhooks/nope/deliveries", headers=ADMIN).status_code == 404


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data/",
        "http://10.0.0.1/",
        "http://metadata.google.internal/computeMetadata/v1/",
        "http://127.0.0.1:7474/db/neo4j/tx",  # Neo4j's own HTTP port
        "http://localhost:7687/",
        "http://0x7f000001/hook",
        "http://2130706433/hook",
        "http://[::1]/hook",
        "http://[::ffff:7f00:1]/hook",
        "http://user:pw@example.org/hook",
        "gopher://example.org/",
        "http://no-such-host.invalid/hook",
    ],
)
def test_internal_and_odd_targets_are_refused_without_an_allow_list(client: TestClient, url: str) -> None:
    response = client.post("/api/v1/webhooks", json={"url": url, "events": ["ci.created"]}, headers=ADMIN)
    assert response.status_code == 422, response.text
    assert response.json()["error"]["fields"][0]["field"] == "url"


def test_the_target_is_checked_again_at_delivery_and_the_checked_address_is_the_one_connected_to(
    settings: Settings, empty_graph: None
) -> None:
    receiver = Receiver()
    by_name = receiver.url.replace("127.0.0.1", "localhost")
    allowed = settings.model_copy(
        update={"webhook_poll_seconds": 0.1, "webhook_allowed_networks": "127.0.0.0/8, ::1/128"}
    )
    with TestClient(create_app(allowed)) as hooked:
        made = hooked.post("/api/v1/webhooks", json={"url": by_name, "events": ["ci.created"]}, headers=ADMIN)
        assert made.status_code == 201, made.text
        subscription = made.json()
        hooked.post("/api/v1/cis", json={"class": "Application", "attributes": {"name": "one"}}, headers=ADMIN)
        receiver.wait_for(lambda: len(receiver.requests) == 1)
    port = receiver.server.server_address[1]
    assert receiver.requests[0]["headers"]["Host"] == f"localhost:{port}"
    # The operator takes the range off the allow-list: the next delivery is refused, not sent.
    closed = allowed.model_copy(update={"webhook_allowed_networks": "", "webhook_max_attempts": 1})
    with TestClient(create_app(closed)) as hooked:
        hooked.post("/api/v1/cis", json={"class": "Application", "attributes": {"name": "two"}}, headers=ADMIN)
        deadline = time.monotonic() + 15
        while True:
            items = hooked.get(f"/api/v1/webhooks/{subscription['id']}/deliveries", headers=ADMIN).json()["items"]
            if any(d["state"] == "failed" for d in items):
                break
            assert time.monotonic() < deadline, items
            time.sleep(0.1)
    failed = next(d for d in items if d["state"] == "failed")
    assert "target refused" in failed["log"][0]["error"]
    assert "loopback" in failed["log"][0]["error"]
    assert len(receiver.requests) == 1
