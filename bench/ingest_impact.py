"""Ingest throughput and impact latency on a synthetic estate, through the real HTTP API.

    python -m bench.ingest_impact --url URL --token TOKEN --hosts 200 --concurrency 4
    bench/with_server -- .venv/bin/python -m bench.ingest_impact --hosts 200   (URL and token from it)

Prints one JSON line per figure (bench/run collects them into docs/benchmarks.md).
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import time
from collections import Counter
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

import httpx

from agent.unchanged import short_report
from bench.estate import host_report, make_hosts, switch_reports
from bench.figures import Target, emit
from schema import load_schema


def post_all(
    client: httpx.Client, reports: Iterable[dict[str, Any]], concurrency: int, answers: list[Any] | None = None
) -> tuple[int, float]:
    """Send reports as agents do (gzipped JSON) from concurrent clients; time only the sending.

    The bodies are encoded before the clock starts: agents encode on their own hosts, and
    here the clients share the server's two cores.
    """
    items = [gzip.compress(json.dumps(report).encode("utf-8"), compresslevel=6) for report in reports]
    headers = {"Content-Type": "application/json", "Content-Encoding": "gzip"}

    def send(body: bytes) -> Any:
        response = client.post("/api/v1/reports", content=body, headers=headers)
        response.raise_for_status()
        return response.json()

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        got = list(pool.map(send, items))
    elapsed = time.perf_counter() - started
    if answers is not None:
        answers.extend(got)
    return len(items), elapsed


def percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)

    def at(p: float) -> float:
        return ordered[min(len(ordered) - 1, round(p * (len(ordered) - 1)))] * 1000

    return {"p50": at(0.5), "p95": at(0.95), "p99": at(0.99)}


def timed(call: Callable[[], httpx.Response], runs: int) -> dict[str, float]:
    call()  # warm the query plans
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        call().raise_for_status()
        samples.append(time.perf_counter() - started)
    return percentiles(samples)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", default=os.environ.get("CMDB_BENCH_URL"), help="default: $CMDB_BENCH_URL")
    parser.add_argument("--token", default=os.environ.get("CMDB_BENCH_TOKEN"), help="default: $CMDB_BENCH_TOKEN")
    parser.add_argument("--hosts", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument(
        "--skip-change-phase", action="store_true", help="no one-attribute-change phase (it is as long as the first)"
    )
    args = parser.parse_args()
    if not args.url or not args.token:
        parser.error("--url and --token are needed (bench/with_server sets both)")
    hosts = make_hosts(args.hosts)
    client = httpx.Client(
        base_url=args.url,
        headers={"Authorization": f"Bearer {args.token}"},
        timeout=600,
        limits=httpx.Limits(max_connections=args.concurrency * 2),
    )
    start = datetime.now(UTC)
    size = {"hosts": args.hosts}

    # A fresh Neo4j compiles its query plans and its JIT warms up on the first reports of each
    # kind: the first twentieth of the hosts goes first in every phase, untimed (a CMDB in
    # service is warm); the rest is timed.
    warm = max(5, len(hosts) // 20)

    def phase(
        name: str,
        make: Callable[[int], dict[str, Any]],
        answers: list[Any] | None = None,
        target: Target | None = None,
        warm_pass: bool = False,
        **extra: Any,
    ) -> None:
        """Post one report per host and emit the rate. ``warm_pass``: first a whole untimed
        pass (for reports so short that a twentieth of them is over before the JIT is warm)."""
        if warm_pass:
            post_all(client, (make(i) for i in range(len(hosts))), args.concurrency)
        post_all(client, (make(i) for i in range(warm)), args.concurrency, answers)
        n, seconds = post_all(client, (make(i) for i in range(warm, len(hosts))), args.concurrency, answers)
        emit(name, n / seconds, "reports/s", target, **size, **extra)

    phase(
        "ingest: full host reports",
        lambda i: host_report(hosts[i], hosts, now=start),
        target=(">=", 20.0),
        records=len(host_report(hosts[0], hosts)["records"]),
    )
    n, seconds = post_all(client, switch_reports(hosts, now=start), args.concurrency)
    emit("ingest: switch reports (48 ports, LLDP links)", n / seconds, "reports/s", **size)
    later = start + timedelta(seconds=1)
    answers: list[Any] = []
    phase("ingest: unchanged host re-reports (full body)", lambda i: host_report(hosts[i], hosts, now=later), answers)
    # What agents send when only volatile values changed (agent/unchanged.py).
    schema = load_schema()
    shorter = start + timedelta(seconds=1.5)
    phase(
        "ingest: unchanged host re-reports (short, as agents send them)",
        lambda i: short_report(host_report(hosts[i], hosts, now=shorter), schema, answers[i]["fingerprint"]),
        target=(">=", 300.0),
        warm_pass=True,
    )
    latest = start + timedelta(seconds=2)
    if not args.skip_change_phase:
        phase(
            "ingest: one-attribute-change reports",
            lambda i: host_report(hosts[i], hosts, now=latest, kernel="6.1.0-29-amd64"),
        )

    def uid_of(class_name: str, name: str) -> str:
        found = client.get("/api/v1/cis", params={"class": class_name, "name": name, "limit": 1}).json()["items"]
        return str(found[0]["uid"])

    depended_on = Counter(other for h in hosts for other, _ in h.peers)
    targets = {
        "core switch": uid_of("Switch", "core0"),
        "access switch": uid_of("Switch", "access000"),
        "leaf host": uid_of("Host", hosts[-1].hostname),
        "database-like host (most depended on)": uid_of("Host", hosts[depended_on.most_common(1)[0][0]].hostname),
    }
    latency_targets: dict[str, Target] = {"core switch": ("<=", 250.0), "leaf host": ("<=", 50.0)}
    for label, uid in targets.items():
        stats = timed(partial(client.get, f"/api/v1/cis/{uid}/impact", params={"depth": 6}), args.runs)
        emit(f"impact latency: {label}, depth 6", stats["p95"], "ms p95", latency_targets.get(label), **size, **stats)
    change = client.post(
        "/api/v1/changes",
        json={
            "title": "bench",
            "targets": [targets["leaf host"], targets["access switch"], targets["core switch"]],
            "planned_start": (start + timedelta(days=1)).isoformat(),
            "planned_end": (start + timedelta(days=1, hours=1)).isoformat(),
        },
    ).json()
    client.post(f"/api/v1/changes/{change['id']}/transition", json={"to": "submitted"}).raise_for_status()
    stats = timed(lambda: client.post(f"/api/v1/changes/{change['id']}/assessment"), max(5, args.runs // 3))
    emit("change assessment, 3 targets", stats["p95"], "ms p95", None, **size, **stats)


if __name__ == "__main__":
    main()
