"""One very large report against a running server (issue 14): how long it takes to be answered,
how /healthz answers meanwhile, and the server's memory before and after.

The report: one host with ``--packages`` packages, each INSTALLED on the host and each
DEPENDS_ON the next (about two relations per package). Run it against a server of one worker
(its process is found by the port it listens on), e.g.::

    bench/with_server --workers 1 --heap 1g --pagecache 512m -- \
        .venv/bin/python -m bench.big_report --packages 9999 99999

(9,999 packages and the host are the 10,000 records schema/limits.toml allows; 99,999 is issue 14's report.)

Figures: time to the answer and its status, /healthz latency (polled every 50 ms while the
report is in flight: max and p99), and the worker's RSS before, right after, and 10 s after.
"""

from __future__ import annotations

import argparse
import os
import statistics
import threading
import time
import uuid
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlparse

import httpx
import orjson
import psutil

from bench.estate import envelope
from bench.figures import emit


def big_report(packages: int) -> dict[str, Any]:
    run = uuid.uuid4().hex[:6]  # new packages each run: every report creates all its CIs
    records: list[dict[str, Any]] = [
        {
            "ref": "host",
            "class": "LinuxHost",
            "identity": {"machine_id": uuid.uuid4().hex, "hostname": "big1"},
            "attributes": {"name": "big1"},
        }
    ]
    relations: list[dict[str, Any]] = []
    for p in range(packages):
        records.append(
            {
                "ref": f"pkg:{p}",
                "class": "SoftwarePackage",
                "identity": {
                    "package_name": f"big-{run}-{p:06d}",
                    "version": "1.0",
                    "architecture": "amd64",
                    "manager": "dpkg",
                },
                "attributes": {"name": f"big-{run}-{p:06d}"},
            }
        )
        relations.append({"type": "INSTALLED", "from": "host", "to": f"pkg:{p}"})
        if p:
            relations.append({"type": "DEPENDS_ON", "from": f"pkg:{p}", "to": f"pkg:{p - 1}"})
    return envelope("agent", "big1", records, relations, datetime.now(UTC))


def server_process(url: str) -> psutil.Process:
    """The process listening on the server's port."""
    port = urlparse(url).port
    for conn in psutil.net_connections(kind="tcp"):
        if conn.status == psutil.CONN_LISTEN and conn.laddr and conn.laddr.port == port and conn.pid:
            return psutil.Process(conn.pid)
    raise SystemExit(f"no process listens on port {port}")


def poll_health(url: str, stop: threading.Event, latencies: list[float]) -> None:
    with httpx.Client(timeout=60) as client:
        while not stop.is_set():
            started = time.perf_counter()
            client.get(f"{url}/healthz")
            latencies.append(time.perf_counter() - started)
            stop.wait(0.05)


def mib(process: psutil.Process) -> float:
    return float(process.memory_info().rss) / 2**20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", default=os.environ.get("CMDB_BENCH_URL", "http://127.0.0.1:8000"))
    parser.add_argument("--token", default=os.environ.get("CMDB_BENCH_TOKEN", ""))
    parser.add_argument("--packages", type=int, nargs="+", default=[99_999])
    args = parser.parse_args()
    process = server_process(args.url)
    for packages in args.packages:
        measure(args.url, args.token, process, packages)


def measure(url: str, token: str, process: psutil.Process, packages: int) -> None:
    body = orjson.dumps(big_report(packages))
    label = f"report of {packages:,} packages ({len(body) / 2**20:.0f} MiB)"
    before = mib(process)
    latencies: list[float] = []
    stop = threading.Event()
    poller = threading.Thread(target=poll_health, args=(url, stop, latencies))
    poller.start()
    started = time.perf_counter()
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    try:
        response = httpx.post(f"{url}/api/v1/reports", content=body, headers=headers, timeout=600)
    finally:
        stop.set()
        poller.join()
    took = time.perf_counter() - started
    after = mib(process)
    time.sleep(10)
    settled = mib(process)
    emit(f"{label}: answered", took, "s", status=response.status_code, answer=response.text[:300])
    emit(f"{label}: /healthz meanwhile, slowest", max(latencies) * 1000, "ms", polls=len(latencies))
    if len(latencies) >= 2:
        emit(f"{label}: /healthz meanwhile, p99", statistics.quantiles(latencies, n=100)[98] * 1000, "ms")
    emit(f"{label}: worker RSS before", before, "MiB")
    emit(f"{label}: worker RSS right after", after, "MiB")
    emit(f"{label}: worker RSS 10 s after", settled, "MiB")


if __name__ == "__main__":
    main()
