"""Ingest speed: this machine's agent report posted as N distinct new hosts, then again unchanged.

Usage: deploy/up, then  .venv/bin/python bench/ingest_bench.py [--hosts 5] [--url ...] [--token ...]
Prints seconds per report for first sight (creating every CI) and for a repeat (unchanged).
"""

from __future__ import annotations

import argparse
import copy
import os
import re
import statistics
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from agent.collectors import collect_facts
from agent.report import build_report
from agent.system import LiveSystem


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--hosts", type=int, default=5)
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    env_file = Path(".run/cmdb.env")
    default_token = os.environ.get("CMDB_TOKEN")
    if default_token is None and env_file.exists():  # lines of `export NAME=value`
        found = re.search(r"CMDB_BOOTSTRAP_ADMIN_TOKEN=(\S+)", env_file.read_text())
        default_token = found.group(1) if found else None
    parser.add_argument("--token", default=default_token)
    args = parser.parse_args()
    base = build_report(collect_facts(LiveSystem()))
    records, relations = len(base["records"]), len(base["relations"])
    client = httpx.Client(base_url=args.url, headers={"Authorization": f"Bearer {args.token}"}, timeout=300)
    first: list[float] = []
    repeat: list[float] = []
    start = datetime.now(UTC)
    for i in range(args.hosts):
        report = copy.deepcopy(base)
        machine_id = uuid.uuid4().hex
        report["records"][0]["identity"] = {"machine_id": machine_id}
        report["source"]["name"] = f"bench-{machine_id}"
        for n, timing in enumerate((first, repeat)):
            report["report_id"] = str(uuid.uuid4())
            report["collected_at"] = (start + timedelta(seconds=2 * i + n)).isoformat()
            began = time.perf_counter()
            response = client.post("/api/v1/reports", json=report)
            timing.append(time.perf_counter() - began)
            response.raise_for_status()
    print(f"report: {records} records, {relations} relations; {args.hosts} hosts")
    print(f"first sight: median {statistics.median(first):.2f}s  max {max(first):.2f}s")
    print(f"unchanged:   median {statistics.median(repeat):.2f}s  max {max(repeat):.2f}s")


if __name__ == "__main__":
    main()
