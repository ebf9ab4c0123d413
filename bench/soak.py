"""A bounded soak: mixed ingest, search and impact on two server replicas sharing one Neo4j.

    python -m bench.soak --neo4j-uri bolt://127.0.0.1:7687 --minutes 3
    bench/with_server -- .venv/bin/python -m bench.soak --minutes 3   (its Neo4j; its own server idles)

Starts two ``cmdb-server`` processes of its own (the replicas, each running the stale check
and the webhook dispatcher), a webhook receiver on 127.0.0.1, and for ``--minutes``:
agents re-reporting their hosts (a changed kernel every other report, so that there are
events and deliveries), readers searching and asking for impact, alternating between the
replicas. Prints p50/p95 per operation, the replicas' RSS at start, each minute and at the
end, the errors, and whether any webhook delivery arrived twice.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import secrets
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import psutil

from bench.estate import Host, host_report, make_hosts, switch_reports
from bench.ingest_impact import percentiles

TOKEN = "cmdb_soak_" + secrets.token_hex(16)  # the bootstrap admin token of this run


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Replica:
    def __init__(self, neo4j_uri: str, log_dir: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = open(log_dir / f"replica-{self.port}.log", "w")  # noqa: SIM115 (as long as the process)
        env = dict(os.environ, CMDB_NEO4J_URI=neo4j_uri, CMDB_BOOTSTRAP_ADMIN_TOKEN=TOKEN, CMDB_LOG_LEVEL="warning")
        env["CMDB_STALE_CHECK_INTERVAL_SECONDS"] = "10"  # often, so that its lease is exercised
        env["CMDB_WEBHOOK_ALLOWED_NETWORKS"] = "127.0.0.0/8"  # the receiver is on loopback
        self.process = subprocess.Popen(
            [str(Path(sys.executable).parent / "cmdb-server"), "--host", "127.0.0.1", "--port", str(self.port)],
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{self.url}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline or self.process.poll() is not None:
                raise SystemExit(f"replica on {self.port} did not start; see {self.log.name}")
            time.sleep(0.3)

    def rss_mib(self) -> float:
        return float(psutil.Process(self.process.pid).memory_info().rss) / 2**20

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=20)


class Receiver(ThreadingHTTPServer):
    def __init__(self) -> None:
        self.deliveries: Counter[str] = Counter()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers["Content-Length"]))
                receiver.deliveries[self.headers.get("X-CMDB-Delivery", "")] += 1
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        super().__init__(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server_address[1]}/hook"


def trimmed_hosts(count: int, packages: int) -> list[Host]:
    hosts = make_hosts(count, seed=14)
    for host in hosts:
        host.packages = host.packages[:packages]
    return hosts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--neo4j-uri", default=os.environ.get("CMDB_BENCH_NEO4J_URI", "bolt://127.0.0.1:7687"))
    parser.add_argument("--minutes", type=float, default=3.0)
    parser.add_argument("--hosts", type=int, default=60)
    parser.add_argument("--packages", type=int, default=300, help="packages per host (the estate draws 800-1,500)")
    parser.add_argument("--agents", type=int, default=3, help="concurrent ingest clients")
    parser.add_argument("--readers", type=int, default=2, help="concurrent search/impact clients")
    args = parser.parse_args()

    hosts = trimmed_hosts(args.hosts, args.packages)
    log_dir = Path(tempfile.mkdtemp(prefix="cmdb-soak-"))
    receiver = Receiver()
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    replicas = [Replica(args.neo4j_uri, log_dir), Replica(args.neo4j_uri, log_dir)]
    headers = {"Authorization": f"Bearer {TOKEN}"}
    clients = [httpx.Client(base_url=r.url, headers=headers, timeout=120) for r in replicas]
    latencies: dict[str, list[float]] = defaultdict(list)
    errors: Counter[str] = Counter()
    lock = threading.Lock()
    stop = threading.Event()

    def record(op: str, started: float, response: httpx.Response | None, error: str | None = None) -> None:
        with lock:
            if response is not None and response.is_success:
                latencies[op].append(time.perf_counter() - started)
            else:
                why = error if response is None else f"HTTP {response.status_code}"
                errors[f"{op}: {why}"] += 1

    def call(op: str, client: httpx.Client, method: str, path: str, **kwargs: Any) -> httpx.Response | None:
        started = time.perf_counter()
        try:
            response = client.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            record(op, started, None, type(exc).__name__)
            return None
        record(op, started, response)
        return response

    # The estate: every host once, the switches, a webhook subscription.
    clients[0].post("/api/v1/webhooks", json={"url": receiver.url, "events": ["ci.created", "ci.updated"]})
    start = datetime.now(UTC)
    body_headers = {"Content-Type": "application/json", "Content-Encoding": "gzip"}
    for n, report in enumerate([host_report(h, hosts, now=start) for h in hosts] + switch_reports(hosts, start)):
        call(
            "ingest (first)",
            clients[n % 2],
            "POST",
            "/api/v1/reports",
            content=gzip.compress(json.dumps(report).encode()),
            headers=body_headers,
        )
    uids = [
        item["uid"]
        for item in clients[0].get("/api/v1/cis", params={"class": "LinuxHost", "limit": 500}).json()["items"]
    ]

    def agent(worker: int) -> None:
        mine = hosts[worker :: args.agents]
        round_ = 0
        while not stop.is_set():
            round_ += 1
            for host in mine:
                if stop.is_set():
                    return
                now = start + timedelta(seconds=round_)
                report = host_report(host, hosts, now=now, kernel=f"6.1.0-{round_ % 2}-amd64")
                body = gzip.compress(json.dumps(report).encode())
                call(
                    "ingest",
                    clients[(worker + round_) % 2],
                    "POST",
                    "/api/v1/reports",
                    content=body,
                    headers=body_headers,
                )

    def reader(worker: int) -> None:
        n = 0
        while not stop.is_set():
            n += 1
            client = clients[(worker + n) % 2]
            call("search (words)", client, "GET", "/api/v1/cis", params={"q": f"host000{n % 60:02d}", "limit": 20})
            call(
                "search (class, sorted)",
                client,
                "GET",
                "/api/v1/cis",
                params={"class": "SoftwarePackage", "limit": 50, "offset": (n * 50) % 2000},
            )
            call(
                "impact (host, depth 6)",
                client,
                "GET",
                f"/api/v1/cis/{uids[n % len(uids)]}/impact",
                params={"depth": 6},
            )

    rss: list[tuple[float, list[float]]] = [(0.0, [r.rss_mib() for r in replicas])]
    threads = [threading.Thread(target=agent, args=(w,)) for w in range(args.agents)]
    threads += [threading.Thread(target=reader, args=(w,)) for w in range(args.readers)]
    began = time.monotonic()
    for thread in threads:
        thread.start()
    deadline = began + args.minutes * 60
    while (left := deadline - time.monotonic()) > 0:
        time.sleep(min(60.0, left))
        rss.append((time.monotonic() - began, [r.rss_mib() for r in replicas]))
    stop.set()
    for thread in threads:
        thread.join()
    time.sleep(5)  # the last deliveries
    for r in replicas:
        r.stop()
    receiver.shutdown()

    print(
        f"soak: {args.minutes:g} min, {len(hosts)} hosts x {args.packages} packages, {args.agents} agents, "
        f"{args.readers} readers, 2 replicas"
    )
    print(f"{'operation':28} {'count':>7} {'p50 ms':>8} {'p95 ms':>8}")
    for op, samples in sorted(latencies.items()):
        stats = percentiles(samples)
        print(f"{op:28} {len(samples):7d} {stats['p50']:8.1f} {stats['p95']:8.1f}")
    print("replica RSS (MiB): " + "; ".join(f"{t:5.0f}s {' / '.join(f'{v:.0f}' for v in values)}" for t, values in rss))
    print(f"errors: {dict(errors) or 'none'}")
    twice = sum(1 for n in receiver.deliveries.values() if n > 1)
    print(f"webhook deliveries: {len(receiver.deliveries)} distinct, {twice} received more than once")
    print(f"replica logs: {log_dir}")


if __name__ == "__main__":
    main()
