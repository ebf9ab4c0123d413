"""How long the graph page takes to draw a neighbourhood of 300 CIs in a real browser (issue 16: under 2 s).

    bench/with_server -- .venv/bin/python -m bench.web_graph_layout
    python -m bench.web_graph_layout --url URL --token TOKEN [--runs 5]

Builds, through the bulk import, an application with 4 business services depending on it,
59 hosts it runs on and 4 interfaces on each: 300 CIs within two hops of the application,
in four layers. Then Debian's chromium (Playwright) signs in and opens the application's
graph page at depth 2, once to warm up and ``--runs`` times measured. Figures, as JSON lines
(bench/figures.py): the time from navigation start until the page's first layout is drawn
(``document.body.dataset.layoutMs``: page, scripts, the JSON request, dagre, Cytoscape),
and the layout alone (dagre and Cytoscape's placing, ``layoutOnlyMs``); medians.
"""

from __future__ import annotations

import argparse
import os
import statistics
from typing import Any

import httpx
from playwright.sync_api import sync_playwright

from bench.figures import emit
from tests.integration.browser import CHROMIUM

SERVICES, HOSTS, INTERFACES = 4, 59, 4


def build(api: httpx.Client) -> str:
    """The neighbourhood, imported in one file; the application's uid."""
    cis: list[dict[str, Any]] = [{"ref": "app", "class": "Application", "attributes": {"name": "bench-graph-app"}}]
    relationships: list[dict[str, Any]] = []
    for s in range(SERVICES):
        cis.append({"ref": f"s{s}", "class": "BusinessService", "attributes": {"name": f"bench service {s}"}})
        relationships.append({"type": "DEPENDS_ON", "from": f"s{s}", "to": "app"})
    for h in range(HOSTS):
        name = f"bench-host-{h:02d}"
        cis.append({"ref": f"h{h}", "class": "LinuxHost", "attributes": {"name": name, "machine_id": f"bench-mid-{h}"}})
        relationships.append({"type": "RUNS_ON", "from": "app", "to": f"h{h}"})
        for i in range(INTERFACES):
            cis.append({"ref": f"h{h}i{i}", "class": "Interface", "parent": f"h{h}", "attributes": {"name": f"eth{i}"}})
    response = api.post("/api/v1/import", json={"cis": cis, "relationships": relationships})
    response.raise_for_status()
    found = api.get("/api/v1/cis", params={"class": "Application", "name": "bench-graph-app"}).json()["items"]
    return str(found[0]["uid"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", default=os.environ.get("CMDB_BENCH_URL", "http://127.0.0.1:8000"))
    parser.add_argument("--token", default=os.environ.get("CMDB_BENCH_TOKEN"))
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--screenshot", help="write a PNG of the page as last drawn here")
    args = parser.parse_args()
    with httpx.Client(base_url=args.url, headers={"Authorization": f"Bearer {args.token}"}, timeout=300) as api:
        app = build(api)
        graph = api.get(f"/api/v1/cis/{app}/neighbourhood", params={"depth": 2}).json()
    nodes, edges = len(graph["nodes"]), len(graph["edges"])
    page_times: list[float] = []
    layout_times: list[float] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        page.goto(args.url + "/sign-in")
        page.get_by_label("API token").fill(args.token or "")
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(args.url + "/")
        for run in range(args.runs + 1):
            page.goto(f"{args.url}/ci/{app}/graph?depth=2")
            page.wait_for_function("document.body.dataset.layoutMs !== undefined", timeout=60_000)
            shown = page.evaluate("window.cmdbGraph.nodes().length")
            assert shown == nodes, (shown, nodes)
            if run:  # the first visit warms the server and the browser's cache
                page_times.append(float(page.evaluate("document.body.dataset.layoutMs")))
                layout_times.append(float(page.evaluate("document.body.dataset.layoutOnlyMs")))
        if args.screenshot:
            page.screenshot(path=args.screenshot)
        browser.close()
    detail = {"nodes": nodes, "edges": edges, "runs": args.runs}
    emit(
        f"graph page, {nodes} CIs: navigation start to the first layout drawn",
        statistics.median(page_times),
        "ms",
        ("<=", 2000),
        **detail,
        max=max(page_times),
    )
    emit(
        f"graph page, {nodes} CIs: the layout alone (dagre + Cytoscape)",
        statistics.median(layout_times),
        "ms",
        **detail,
    )


if __name__ == "__main__":
    main()
