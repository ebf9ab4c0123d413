"""The agent's queue goes on past a report the server keeps failing, loses nothing in an
outage, and waits as long as the server's ``Retry-After`` asks.

The peer is a small HTTP server on 127.0.0.1 that answers like the CMDB: 500 for the
reports it is told to fail, 503 with ``Retry-After`` while it is told its database is
away, 200 for the others, and remembers what it was sent and when.
"""

from __future__ import annotations

import gzip
import json
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from agent.spool import Spool
from agent.transport import FlushResult, Transport, TransportSettings, retry_after_seconds
from schema.report import SPOOL_DEPTH_HEADER


class Peer(ThreadingHTTPServer):
    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.failing: set[str] = set()  # report ids answered 500; "*" fails them all
        self.away: int = 0  # answer this many more requests 503 with Retry-After
        self.retry_after = "1"
        self.received: list[str] = []
        self.arrivals: list[float] = []  # time.monotonic() of each request
        self.spool_depths: list[str | None] = []  # the X-CMDB-Spool-Depth of each request

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _Handler(BaseHTTPRequestHandler):
    server: Peer

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        report_id = json.loads(gzip.decompress(body))["report_id"]
        self.server.received.append(report_id)
        self.server.arrivals.append(time.monotonic())
        self.server.spool_depths.append(self.headers.get(SPOOL_DEPTH_HEADER))
        failing = report_id in self.server.failing or "*" in self.server.failing
        status, answer = (500, {"error": {"status": 500, "message": "internal error"}}) if failing else (200, {})
        away = self.server.away > 0
        if away:
            self.server.away -= 1
            status, answer = 503, {"error": {"status": 503, "message": "the graph database is unavailable"}}
        payload = json.dumps(answer).encode()
        self.send_response(status)
        if away:
            self.send_header("Retry-After", self.server.retry_after)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def peer() -> Iterator[Peer]:
    server = Peer()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.fixture
def transport(peer: Peer) -> Iterator[Transport]:
    client = Transport(TransportSettings(server_url=peer.url, token="cmdb_test", retries=2, backoff_seconds=0.01))
    try:
        yield client
    finally:
        client.close()


def _spool(directory: Path, *report_ids: str) -> tuple[Spool, list[Path]]:
    spool = Spool(directory, max_reports=10)
    return spool, [spool.put({"report_id": report_id}) for report_id in report_ids]


def _flush_until_empty(transport: Transport, spool: Spool, at_most: int = 10) -> list[FlushResult]:
    results = []
    for _ in range(at_most):
        results.append(transport.flush(spool))
        if not spool.pending():
            break
    return results


def test_a_report_that_keeps_failing_is_set_aside_and_the_ones_behind_it_go_through(
    peer: Peer, transport: Transport, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    spool, (poison, second, third) = _spool(tmp_path / "spool", "poison", "second", "third")
    peer.failing = {"poison"}
    results = _flush_until_empty(transport, spool)
    assert spool.pending() == []  # before: the first report held the others back for good

    limit = transport.config.set_aside_after_failures
    assert len(results) == limit  # the failing report had its chances first, in order
    assert all(r.delivered == [] and r.pending == 3 for r in results[:-1])
    assert results[-1].delivered == [second.name, third.name]
    assert results[-1].rejected == [poison.name]
    assert peer.received == ["poison"] * (2 * limit) + ["second", "third"]  # 2 attempts a delivery

    kept = spool.directory / "rejected" / poison.name
    assert json.loads(gzip.decompress(kept.read_bytes()))["report_id"] == "poison"
    reason = kept.with_suffix(".reason.txt").read_text()
    assert "HTTP 500: internal error" in reason
    assert f"failed {limit} deliveries" in reason
    assert f"set aside {poison.name}" in caplog.text
    assert sorted(p.name for p in spool.directory.iterdir()) == ["rejected"]  # no counters left behind


def test_while_the_server_fails_every_report_nothing_is_set_aside(
    peer: Peer, transport: Transport, tmp_path: Path
) -> None:
    spool, paths = _spool(tmp_path / "spool", "first", "second", "third")
    peer.failing = {"*"}
    results = _flush_until_empty(transport, spool, at_most=transport.config.set_aside_after_failures + 3)
    assert all(r.delivered == r.rejected == [] for r in results)
    assert spool.pending() == paths
    assert results[-1].pending == 3
    assert "HTTP 500" in (results[-1].last_error or "")

    peer.failing = set()
    peer.received.clear()
    back = transport.flush(spool)
    assert back.delivered == [p.name for p in paths]
    assert peer.received == ["first", "second", "third"]
    assert list(spool.directory.iterdir()) == []  # the failure counts went with their reports


def test_a_report_failing_once_waits_and_goes_through_when_the_server_takes_it(
    peer: Peer, transport: Transport, tmp_path: Path
) -> None:
    spool, paths = _spool(tmp_path / "spool", "first", "second")
    peer.failing = {"first"}
    assert transport.flush(spool).pending == 2
    peer.failing = set()
    assert transport.flush(spool).delivered == [p.name for p in paths]
    assert list(spool.directory.iterdir()) == []


def test_the_agent_waits_as_long_as_retry_after_asks_before_sending_again(
    peer: Peer, transport: Transport, tmp_path: Path
) -> None:
    spool, paths = _spool(tmp_path / "spool", "first", "second")
    peer.away = 1  # the first answer: 503, Retry-After: 1 (the backoff alone is 0.01 s)
    result = transport.flush(spool)
    assert result.delivered == [p.name for p in paths]
    assert peer.received == ["first", "first", "second"]
    assert peer.arrivals[1] - peer.arrivals[0] >= 1.0


def test_retry_after_holds_back_the_next_flush_too(peer: Peer, tmp_path: Path) -> None:
    """The wait outlasts one delivery's attempts: the next send (the full report after a
    short one, the next flush) also waits for it."""
    single = Transport(TransportSettings(server_url=peer.url, token="cmdb_test", retries=1, backoff_seconds=0.01))
    try:
        spool, paths = _spool(tmp_path / "spool", "first")
        peer.away = 1
        assert single.flush(spool).pending == 1
        assert single.flush(spool).delivered == [paths[0].name]
    finally:
        single.close()
    assert peer.received == ["first", "first"]
    assert peer.arrivals[1] - peer.arrivals[0] >= 1.0


def test_a_database_outage_503_never_sets_a_report_aside(peer: Peer, transport: Transport, tmp_path: Path) -> None:
    """503 says the server is away, not that the report is bad: it is not counted as a failure."""
    spool, paths = _spool(tmp_path / "spool", "first", "second")
    peer.retry_after = "0"
    peer.away = 2 * (transport.config.set_aside_after_failures + 2)
    results = _flush_until_empty(transport, spool, at_most=transport.config.set_aside_after_failures + 2)
    assert all(r.rejected == [] and r.delivered == [] for r in results)
    assert spool.pending() == paths
    assert transport.flush(spool).delivered == [p.name for p in paths]


def test_retry_after_as_seconds_or_an_http_date() -> None:
    now = datetime(2026, 12, 1, 12, 0, 0, tzinfo=UTC)
    assert retry_after_seconds("5") == 5.0
    assert retry_after_seconds("Tue, 01 Dec 2026 12:00:30 GMT", now) == 30.0
    assert retry_after_seconds("Tue, 01 Dec 2026 11:00:00 GMT", now) == 0.0
    assert retry_after_seconds("soon") is None
    assert retry_after_seconds(None) is None


def test_each_report_tells_the_server_how_many_wait_in_the_spool(
    peer: Peer, transport: Transport, tmp_path: Path
) -> None:
    spool, _ = _spool(tmp_path / "spool", "r1", "r2", "r3")
    peer.away = 1  # the first is answered 503 once and sent again: the same depth
    peer.retry_after = "0"
    _flush_until_empty(transport, spool)
    assert peer.received == ["r1", "r1", "r2", "r3"]
    assert peer.spool_depths == ["3", "3", "2", "1"]
    assert transport.send(gzip.compress(json.dumps({"report_id": "r4"}).encode()))[1] == "ok"
    assert peer.spool_depths[-1] is None  # a report sent without a spool says nothing of one
