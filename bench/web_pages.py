"""Web UI page times at 10,000 hosts: server p95 of the search, CI and graph pages.

    bench/with_server -- .venv/bin/python -m bench.web_pages --hosts 10000

Ingests ``--hosts`` agent reports (the synthetic estate of ``bench/estate.py``, with
``--packages`` packages each so that building the estate takes minutes, not an hour; the
pages read hosts, interfaces, addresses and links, which are all there) and the switch
reports (an access switch per 40 hosts, two core switches linked to every access switch),
signs in through the sign-in form as a browser does, then asks each page ``--runs`` times
and prints p50/p95/p99 in ms. The page targets of issue 16: p95 under 300 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import time
from collections.abc import Callable
from typing import Any

import httpx

from bench.estate import host_report, make_hosts, switch_reports
from bench.ingest_impact import percentiles

TARGET_P95_MS = 300.0


async def ingest(url: str, token: str, reports: list[dict[str, Any]], concurrency: int) -> float:
    """Send the reports with ``concurrency`` senders; the reports per second."""
    queue = list(reversed(reports))
    started = time.perf_counter()
    done = 0

    async def sender(client: httpx.AsyncClient) -> None:
        nonlocal done
        while queue:
            report = queue.pop()
            answer = await client.post("/api/v1/reports", json=report)
            answer.raise_for_status()
            done += 1
            if done % 1000 == 0:
                print(f"  {done} reports, {done / (time.perf_counter() - started):.0f}/s", flush=True)

    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=120) as client:
        await asyncio.gather(*(sender(client) for _ in range(concurrency)))
    return len(reports) / (time.perf_counter() - started)


def signed_in(url: str, token: str) -> httpx.Client:
    """A client holding a session cookie, signed in through the form as a browser is."""
    client = httpx.Client(base_url=url, timeout=60, follow_redirects=False)
    form = client.get("/sign-in")
    csrf = form.text.split('name="csrf" value="')[1].split('"')[0]
    answer = client.post("/sign-in", data={"token": token, "csrf": csrf, "next": "/"})
    assert answer.status_code == 303, answer.text
    return client


def timed(call: Callable[[], httpx.Response], runs: int) -> dict[str, float]:
    samples = []
    call()  # warm the query plans
    for _ in range(runs):
        started = time.perf_counter()
        answer = call()
        samples.append(time.perf_counter() - started)
        assert answer.status_code == 200, (answer.status_code, answer.text[:300])
    return percentiles(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--hosts", type=int, default=10_000)
    parser.add_argument("--packages", type=int, default=20, help="packages per host (the pool is shared)")
    parser.add_argument("--runs", type=int, default=60)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--skip-ingest", action="store_true", help="the estate is there already")
    args = parser.parse_args()
    url, token = os.environ["CMDB_BENCH_URL"], os.environ["CMDB_BENCH_TOKEN"]
    hosts = make_hosts(args.hosts)
    for host in hosts:
        host.packages = host.packages[: args.packages]
    if not args.skip_ingest:
        print(f"ingesting {len(hosts)} hosts ({args.packages} packages each) and their switches", flush=True)
        rate = asyncio.run(ingest(url, token, [host_report(h, hosts) for h in hosts], args.concurrency))
        print(f"  host reports: {rate:.0f}/s", flush=True)
        rate = asyncio.run(ingest(url, token, switch_reports(hosts), args.concurrency))
        print(f"  switch reports: {rate:.1f}/s", flush=True)
    rng = random.Random(11)
    api = httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=60)
    core = api.get("/api/v1/cis", params={"name": "core0", "class": "NetworkDevice"}).json()["items"][0]["uid"]
    sample = [hosts[rng.randrange(len(hosts))] for _ in range(args.runs)]
    host_uids = [
        api.get("/api/v1/cis", params={"q": h.machine_id, "class": "Host"}).json()["items"][0]["uid"]
        for h in sample[:10]
    ]
    browser = signed_in(url, token)
    figures: dict[str, dict[str, float]] = {}
    pick = iter(range(10**9))

    def nth(items: list[Any]) -> Any:
        return items[next(pick) % len(items)]

    figures["search by name"] = timed(lambda: browser.get("/search", params={"q": nth(sample).hostname}), args.runs)
    figures["search by IP address"] = timed(
        lambda: browser.get("/search", params={"q": nth(sample).address}), args.runs
    )
    figures["search by MAC"] = timed(lambda: browser.get("/search", params={"q": nth(sample).mac.upper()}), args.runs)
    figures["search: class facet, all hosts (page 1 of 200)"] = timed(
        lambda: browser.get("/search", params={"class": "LinuxHost"}), args.runs
    )
    figures["home page"] = timed(lambda: browser.get("/"), args.runs)
    figures["CI page of a host"] = timed(lambda: browser.get(f"/ci/{nth(host_uids)}"), args.runs)
    figures["CI page of the core switch"] = timed(lambda: browser.get(f"/ci/{core}"), args.runs)
    graph_data = "/ci/{uid}/graph.json"
    if browser.get(graph_data.format(uid=core)).status_code == 200:
        figures["graph data of the core switch's neighbourhood"] = timed(
            lambda: browser.get(graph_data.format(uid=core)), args.runs
        )
        figures["graph page of the core switch"] = timed(lambda: browser.get(f"/ci/{core}/graph"), args.runs)
    total = api.get("/api/v1/cis/counts").json()
    print(f"\nestate: {sum(total['counts'].values()) if 'counts' in total else total} CIs")
    print(f"{'page':<52} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8}  target p95 < {TARGET_P95_MS:.0f} ms")
    for name, figure in figures.items():
        verdict = "ok" if figure["p95"] < TARGET_P95_MS else "OVER"
        print(f"{name:<52} {figure['p50']:8.1f} {figure['p95']:8.1f} {figure['p99']:8.1f}  {verdict}")


if __name__ == "__main__":
    main()
