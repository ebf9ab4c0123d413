"""Several server processes on one Neo4j, and Neo4j killed under load (issue 14).

Real ``cmdb-server`` processes, real reports (bench/estate.py builds them as the agent and
SSH discovery send them), a real webhook receiver on 127.0.0.1; the fault test starts a
Neo4j of its own (deploy/neo4j/start) so that killing it disturbs no other test.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import subprocess
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from neo4j import AsyncGraphDatabase, Driver, GraphDatabase

from bench.estate import Host, host_report, ssh_report
from cmdb_server.config import Settings
from cmdb_server.repositories import leases
from cmdb_server.webhooks import DELIVERY_HEADER
from tests.conftest import REPO_ROOT
from tests.integration.conftest import BOOTSTRAP_TOKEN, bearer
from tests.integration.server_process import ServerProcess, free_port
from tests.integration.test_webhooks import Receiver

pytestmark = pytest.mark.slow

ADMIN = bearer(BOOTSTRAP_TOKEN)
FAST_JOBS = {
    "CMDB_NEO4J_PROBE_SECONDS": "0.2",
    "CMDB_WEBHOOK_POLL_SECONDS": "0.2",
    "CMDB_STALE_CHECK_INTERVAL_SECONDS": "0.5",
    "CMDB_WEBHOOK_ALLOWED_NETWORKS": "127.0.0.0/8",  # the receiver is on loopback
}


def small_estate(count: int, seed: int = 14) -> list[Host]:
    """Hosts sharing most of a small package pool and depending on each other's services,
    so that concurrent reports meet on the same package and address CIs."""
    rng = random.Random(seed)
    hosts = [
        Host(
            index=i,
            machine_id=f"{rng.getrandbits(128):032x}",
            hostname=f"rep{i:03d}",
            mac=f"52:54:0e:00:00:{i:02x}",
            address=f"10.214.0.{i + 1}",
            packages=sorted(rng.sample(range(40), 25)),
            services=sorted(rng.sample(range(8000, 8010), 3)),
        )
        for i in range(count)
    ]
    for host in hosts:
        other = hosts[(host.index + 1) % count]
        host.peers.append((other.index, other.services[0]))
    return hosts


def identity_duplicates(driver: Driver) -> list[dict[str, Any]]:
    """CIs that share their class and identity (what one real thing must not have twice)."""
    records, _, _ = driver.execute_query(
        """
        MATCH (n:CI) WHERE n.status <> 'merged'
        WITH n, [l IN labels(n) WHERE l <> 'CI'] AS labels,
             CASE WHEN n:SoftwarePackage THEN [n.package_name, n.version, n.architecture, n.manager]
                  WHEN n:IPAddress THEN [n.address, n.domain]
                  WHEN n:LinuxHost THEN [n.machine_id]
                  ELSE [n.parent_uid, n.name, n.port, n.protocol, n.listens] END AS identity
        WITH labels, identity, count(*) AS copies WHERE copies > 1
        RETURN labels, identity, copies
        """
    )
    return [dict(r) for r in records]


def edge_duplicates(driver: Driver) -> int:
    records, _, _ = driver.execute_query(
        """
        MATCH (a:CI)-[r]->(b:CI)
        WITH a, b, type(r) AS t, coalesce(r.port, -1) AS port, count(*) AS copies WHERE copies > 1
        RETURN count(*) AS duplicated
        """
    )
    duplicated: int = records[0]["duplicated"]
    return duplicated


@pytest.fixture
def two_replicas(settings: Settings, empty_graph: None) -> Iterator[list[ServerProcess]]:
    replicas = [ServerProcess(settings, env=FAST_JOBS), ServerProcess(settings, env=FAST_JOBS)]
    try:
        for replica in replicas:
            replica.start()
        yield replicas
    finally:
        for replica in replicas:
            replica.stop()


def test_two_replicas_with_concurrent_sources_make_each_ci_edge_and_webhook_once(
    two_replicas: list[ServerProcess], neo4j_driver: Driver
) -> None:
    receiver = Receiver()
    first = httpx.Client(base_url=two_replicas[0].url, headers=ADMIN, timeout=120)
    clients = [first, httpx.Client(base_url=two_replicas[1].url, headers=ADMIN, timeout=120)]
    subscribed = first.post("/api/v1/webhooks", json={"url": receiver.url, "events": ["ci.created", "ci.updated"]})
    assert subscribed.status_code == 201, subscribed.text

    hosts = small_estate(8)
    statuses: list[int] = []
    base = datetime.now(UTC)
    for round_ in range(2):  # every source twice, the second time later with a new kernel
        now = base + timedelta(seconds=round_)
        kernel = f"6.1.0-{30 + round_}-amd64"
        reports = [host_report(h, hosts, kernel=kernel, now=now) for h in hosts]
        reports += [ssh_report(h, hosts, kernel=kernel, now=now) for h in hosts]
        random.Random(round_).shuffle(reports)

        def send(numbered: tuple[int, dict[str, Any]]) -> int:
            n, report = numbered
            return clients[n % 2].post("/api/v1/reports", json=report).status_code

        with ThreadPoolExecutor(max_workers=6) as pool:
            statuses += list(pool.map(send, enumerate(reports)))
    assert Counter(statuses) == {200: 4 * len(hosts)}  # no 5xx, nothing refused

    assert identity_duplicates(neo4j_driver) == []
    assert edge_duplicates(neo4j_driver) == 0
    records, _, _ = neo4j_driver.execute_query("MATCH (h:LinuxHost) RETURN count(h) AS hosts, collect(h.kernel) AS k")
    assert records[0]["hosts"] == len(hosts)
    assert set(records[0]["k"]) == {"6.1.0-31-amd64"}

    # Webhooks: one delivery per event, though both replicas run a dispatcher.
    expected = _hooked_events(neo4j_driver)
    receiver.wait_for(lambda: len(receiver.requests) >= expected, seconds=120)  # room on a loaded machine
    time.sleep(2)  # a second sending of anything would arrive by now
    sent = Counter(r["headers"][DELIVERY_HEADER] for r in receiver.requests)
    assert len(sent) == expected
    assert max(sent.values()) == 1, [d for d, n in sent.items() if n > 1]
    events = [json.loads(r["body"]) for r in receiver.requests]
    keys = Counter(json.dumps([e["subject"], e["at"], e["type"], e["event"]], sort_keys=True) for e in events)
    assert max(keys.values()) == 1, [k for k, n in keys.items() if n > 1]

    # Stale marking: make every CI old; both replicas check every 0.5 s.
    neo4j_driver.execute_query("MATCH (n:CI) SET n.last_seen = datetime() - duration('P30D')")
    stale_query = "MATCH (n:CI {status: 'stale'}) RETURN count(n) AS n"
    deadline = time.monotonic() + 30
    while _count(neo4j_driver, stale_query) == 0:
        assert time.monotonic() < deadline, "the stale check did not run"
        time.sleep(0.2)
    time.sleep(2)  # four more turns of each replica
    stale_events = _count(
        neo4j_driver, "MATCH (e:Event {kind: 'status', source: 'cmdb:stale-check'}) RETURN count(e) AS n"
    )
    assert stale_events == _count(neo4j_driver, stale_query) >= len(hosts)

    holders = asyncio.run(_lease_holders(two_replicas[0].settings))
    assert set(holders) == {"stale-check", "webhook-dispatcher"}
    for client in clients:
        client.close()
    receiver.server.shutdown()


def _count(driver: Driver, query: str) -> int:
    records, _, _ = driver.execute_query(query)
    count: int = records[0]["n"]
    return count


def _hooked_events(driver: Driver) -> int:
    """Events of the subscribed kinds (created; attribute changes), waiting until the
    dispatcher has queued all of them: how many deliveries there must be."""
    deadline = time.monotonic() + 60
    while _count(driver, "MATCH (e:Event) WHERE e.hooked IS NULL RETURN count(e) AS n"):
        assert time.monotonic() < deadline, "the dispatcher did not queue every event"
        time.sleep(0.2)
    return _count(driver, "MATCH (d:WebhookDelivery) RETURN count(d) AS n")


async def _lease_holders(settings: Settings) -> dict[str, str]:
    async with AsyncGraphDatabase.driver(settings.neo4j_uri, auth=settings.neo4j_auth()) as driver:
        return await leases.holders(driver, settings.neo4j_database)


def test_a_lease_has_one_holder_at_a_time_and_passes_on_when_it_expires(settings: Settings) -> None:
    async def contend() -> None:
        async with AsyncGraphDatabase.driver(settings.neo4j_uri, auth=settings.neo4j_auth()) as driver:
            db = settings.neo4j_database
            won = await asyncio.gather(*(leases.acquire(driver, db, "job", f"p{n}", 1.5) for n in range(8)))
            assert won.count(True) == 1
            holder = f"p{won.index(True)}"
            other = "p9"
            assert await leases.acquire(driver, db, "job", holder, 1.5)  # renewed
            assert not await leases.acquire(driver, db, "job", other, 1.5)
            await asyncio.sleep(1.7)
            assert await leases.acquire(driver, db, "job", other, 1.5)  # expired: taken over
            assert not await leases.acquire(driver, db, "job", holder, 1.5)
            await leases.release(driver, db, "job", other)
            assert await leases.acquire(driver, db, "job", holder, 1.5)  # released: free at once

    asyncio.run(contend())


# --- Neo4j killed and restarted under a stream of reports -------------------------------------------


@dataclass
class DedicatedNeo4j:
    """A Neo4j of this test's own (deploy/neo4j/start), which it may kill."""

    data_dir: Path
    port: int

    @property
    def uri(self) -> str:
        return f"bolt://127.0.0.1:{self.port}"

    def start(self) -> None:
        done = subprocess.run(
            [
                str(REPO_ROOT / "deploy" / "neo4j" / "start"),
                *("--data-dir", str(self.data_dir), "--bolt-port", str(self.port), "--http-port", "0"),
                *("--heap", "512m", "--pagecache", "128m", "--timeout", "150"),
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode == 0, done.stderr

    def kill(self) -> None:
        os.kill(int((self.data_dir / "neo4j.pid").read_text()), signal.SIGKILL)

    def stop(self) -> None:
        stop = REPO_ROOT / "deploy" / "neo4j" / "stop"
        subprocess.run([str(stop), "--data-dir", str(self.data_dir)], check=False, capture_output=True)


@pytest.fixture
def own_neo4j() -> Iterator[DedicatedNeo4j]:
    with tempfile.TemporaryDirectory(prefix="cmdb-neo4j-fault-") as directory:
        service = DedicatedNeo4j(Path(directory), free_port())
        service.start()
        try:
            yield service
        finally:
            service.stop()


@dataclass
class Attempt:
    report: int
    status: int | None  # None: no answer (the connection failed)
    started: float
    seconds: float
    retry_after: str | None


def test_neo4j_killed_under_a_stream_of_reports_each_is_applied_exactly_once(own_neo4j: DedicatedNeo4j) -> None:
    settings = Settings(neo4j_uri=own_neo4j.uri, bootstrap_admin_token=BOOTSTRAP_TOKEN)
    server = ServerProcess(settings, env=FAST_JOBS)
    server.start()
    hosts = small_estate(3, seed=41)
    per_source = 10
    attempts: list[Attempt] = []
    applied: dict[str, dict[str, Any]] = {}  # report_id -> the answer that applied it
    sent: list[dict[str, Any]] = []
    lock = threading.Lock()

    def stream(host: Host) -> None:
        """An agent-like source: one report after another, each sent until the server takes
        it, waiting as long as Retry-After asks."""
        with httpx.Client(base_url=server.url, headers=ADMIN, timeout=60) as client:
            for n in range(per_source):
                report = host_report(host, hosts, kernel=f"6.1.{n}-amd64", now=datetime.now(UTC))
                with lock:
                    sent.append(report)
                while True:
                    started = time.monotonic()
                    try:
                        response = client.post("/api/v1/reports", json=report)
                    except httpx.TransportError:
                        time.sleep(0.5)
                        continue
                    attempt = Attempt(
                        n,
                        response.status_code,
                        started,
                        time.monotonic() - started,
                        response.headers.get("Retry-After"),
                    )
                    with lock:
                        attempts.append(attempt)
                    if response.status_code == 200:
                        with lock:
                            applied[report["report_id"]] = response.json()
                        break
                    assert response.status_code == 503, response.text
                    time.sleep(float(response.headers["Retry-After"]))
                time.sleep(0.3)

    reads: list[Attempt] = []
    done = threading.Event()

    def read_once(client: httpx.Client) -> None:
        started = time.monotonic()
        response = client.get("/api/v1/cis", params={"limit": 1})
        took = time.monotonic() - started
        with lock:
            reads.append(Attempt(-1, response.status_code, started, took, response.headers.get("Retry-After")))

    def read() -> None:
        """A read every 0.25 s throughout, each on its own (one held up by the outage holds
        up no other), to time the answers while the database is away."""
        with httpx.Client(base_url=server.url, headers=ADMIN, timeout=60) as client:
            pending = []
            while not done.is_set():
                pending.append(threading.Thread(target=read_once, args=(client,)))
                pending[-1].start()
                time.sleep(0.25)
            for thread in pending:
                thread.join()

    try:
        threads = [threading.Thread(target=stream, args=(host,)) for host in hosts]
        reader = threading.Thread(target=read)
        for thread in [*threads, reader]:
            thread.start()
        time.sleep(3)
        killed_at = time.monotonic()
        own_neo4j.kill()
        time.sleep(12)  # longer than the driver's retries (10 s): reports in flight meet the outage too
        restarted_at = time.monotonic()
        own_neo4j.start()
        for thread in threads:
            thread.join(timeout=150)
            assert not thread.is_alive(), "a source never got its reports in"
        done.set()
        reader.join()
    finally:
        done.set()
        server.stop()

    assert {a.status for a in attempts + reads} <= {200, 503}  # never a 500
    unavailable = [a for a in attempts + reads if a.status == 503]
    assert any(a.report >= 0 for a in unavailable), "no report met the outage"
    assert all(a.retry_after and int(a.retry_after) > 0 for a in unavailable)
    # Once the server knows the database is away (within a probe or two), a 503 is immediate;
    # a request already waiting on the database when it died takes the driver's retries.
    known = [a for a in unavailable if killed_at + 1.0 < a.started < restarted_at]
    assert len(known) >= 10
    assert max(a.seconds for a in known) < 2.0, sorted(a.seconds for a in known)
    assert max(reads, key=lambda a: a.started).status == 200  # recovered by itself

    with GraphDatabase.driver(own_neo4j.uri) as driver:
        records, _, _ = driver.execute_query(
            "MATCH (r:IngestedReport) RETURN r.report_id AS id, count(*) AS copies ORDER BY id"
        )
        stored = {r["id"]: r["copies"] for r in records}
        assert stored == {report["report_id"]: 1 for report in sent}  # every report once, none lost
        assert set(applied) == set(stored)
        assert identity_duplicates(driver) == []
        assert edge_duplicates(driver) == 0
        # None half-applied: each host is as its last report says, packages and all.
        records, _, _ = driver.execute_query(
            """
            MATCH (h:LinuxHost) OPTIONAL MATCH (h)-[:INSTALLED]->(p:SoftwarePackage)
            RETURN h.hostname AS host, h.kernel AS kernel, count(p) AS packages
            """
        )
        seen = {r["host"]: (r["kernel"], r["packages"]) for r in records}
        assert seen == {h.hostname: (f"6.1.{per_source - 1}-amd64", len(h.packages)) for h in hosts}
    # Reports sent again after an outage were recognised, not applied twice.
    replayed = [rid for rid, answer in applied.items() if answer.get("replayed")]
    assert len(replayed) <= len(hosts)
