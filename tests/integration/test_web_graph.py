"""The graph page in a real browser against a real server: search, the CI page, its graph,
expanding by keyboard, filters, the impact overlay with the path that explains a service's
state, and the PNG and SVG exports; nothing asked of any other address."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import httpx
from playwright.sync_api import Page

from tests.integration.browser import offline_page, screenshot
from tests.integration.conftest import BOOTSTRAP_TOKEN
from tests.integration.estate import build_estate
from tests.integration.server_process import ServerProcess

SVG = "{http://www.w3.org/2000/svg}"


def drawn(page: Page, layouts: int) -> None:
    """Wait for the page's ``layouts``-th drawing."""
    page.wait_for_function(f"Number(document.body.dataset.layouts || 0) >= {layouts}")


def graph(page: Page, expression: str) -> Any:
    return page.evaluate(f"(() => {{ const cy = window.cmdbGraph; return {expression}; }})()")


def test_search_ci_page_graph_impact_overlay_path_and_exports(server: ServerProcess, tmp_path: Path) -> None:
    with httpx.Client(base_url=server.url, timeout=60) as api:
        uids = build_estate(api)  # web shop -> shop <- app1:8080, app2:8080 (members); shop -> db1:5432; sw1
    app1 = uids["app1"]
    with offline_page(server.url) as (page, refused):
        page.goto(server.url + "/sign-in")
        page.get_by_label("API token").fill(BOOTSTRAP_TOKEN)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(server.url + "/")
        page.goto(server.url + "/search?q=app1")
        page.get_by_role("link", name="app1", exact=True).first.click()  # also named as the parts' host
        page.wait_for_url(f"{server.url}/ci/{app1}")
        page.get_by_role("link", name="Graph").click()
        page.wait_for_url(f"{server.url}/ci/{app1}/graph")
        drawn(page, 1)
        assert page.get_by_role("heading", name="Graph of app1").is_visible()
        shown = graph(page, "cy.nodes().map(n => n.data('name')).sort()")
        assert shown == ["app1", "app1:8080", "eth0"]  # one hop: what runs on it, its interface; not shop
        rows = graph(page, "Object.fromEntries(cy.nodes().map(n => [n.data('name'), n.position('y')]))")
        assert rows["app1:8080"] < rows["app1"] < rows["eth0"]  # layered: what runs on it, the host, its parts
        assert page.get_by_role("status").inner_text() == "3 CIs and 2 relationships shown."
        screenshot(page, "graph")

        # Keyboard: the list beside the graph expands a CI on Enter.
        page.get_by_role("button", name="Expand app1:8080 (ListeningService)").focus()
        page.keyboard.press("Enter")
        drawn(page, 2)
        assert "shop" in graph(page, "cy.nodes().map(n => n.data('name'))")
        rows = graph(page, "Object.fromEntries(cy.nodes().map(n => [n.data('name'), n.position('y')]))")
        assert rows["shop"] < rows["app1:8080"]  # an application above what runs on hosts

        # Filters: a class unticked leaves the drawing (and the list).
        page.get_by_text("Filters").click()
        page.get_by_label("Interface", exact=True).uncheck()
        drawn(page, 3)
        assert graph(page, "cy.nodes('[class = \"Interface\"]').every(n => n.hasClass('filtered'))")
        assert page.get_by_role("button", name="Expand eth0 (Interface)").count() == 0
        page.get_by_label("Interface", exact=True).check()
        drawn(page, 4)

        # Impact overlay: app1 goes down.
        page.get_by_role("button", name="This CI goes down").click()
        drawn(page, 5)
        impacted = page.locator("#impact-list li").all_inner_texts()
        assert "web shop BusinessService DEGRADED" in impacted[0]  # the services first
        assert any(t.startswith("shop Application DEGRADED") for t in impacted)  # app2 still serves
        assert any(t.startswith("app1:8080 ListeningService DOWN") for t in impacted)
        assert "web shop" in graph(page, "cy.nodes().map(n => n.data('name'))")  # added, was not shown
        states = graph(
            page,
            "Object.fromEntries(cy.nodes().filter(n => n.data('state')).map(n => [n.data('name'), n.data('label')]))",
        )
        assert states["web shop"].endswith("DEGRADED")
        assert states["app1:8080"].endswith("DOWN")
        assert states["app1"].endswith("DOWN")  # the CI chosen
        assert graph(page, f"cy.getElementById('{uids['service']}').hasClass('degraded')")
        assert graph(page, f"cy.getElementById('{uids['app1:svc']}').hasClass('down')")
        assert page.locator(".legend").get_by_text("DEGRADED").is_visible()

        page.locator("#impact-list").get_by_role("button", name="web shop").click()
        on_path = graph(page, "cy.elements('.path').map(e => e.id()).sort()")
        path_nodes = [app1, uids["app1:svc"], uids["shop"], uids["service"]]
        path_edges = [
            f"{uids['app1:svc']}>RUNS_ON>{app1}",
            f"{uids['app1:svc']}>MEMBER_OF>{uids['shop']}",
            f"{uids['service']}>DEPENDS_ON>{uids['shop']}",
        ]
        assert on_path == sorted(path_nodes + path_edges)
        assert graph(page, "cy.elements().not('.path').every(e => e.hasClass('faded'))")
        words = page.locator("#impact-path").inner_text()
        assert "Why web shop is DEGRADED:" in words
        assert "app1 (LinuxHost) goes down." in words
        assert "app1:8080 RUNS_ON app1, so app1:8080 (ListeningService) is DOWN." in words
        assert "app1:8080 MEMBER_OF shop, so shop (Application) is DEGRADED." in words
        assert "web shop DEPENDS_ON shop, so web shop (BusinessService) is DEGRADED." in words
        screenshot(page, "graph-impact")

        # A click on an impacted CI in the graph shows its path too.
        graph(page, f"cy.getElementById('{uids['app1:svc']}').emit('tap')")
        assert "Why app1:8080 is DOWN:" in page.locator("#impact-path").inner_text()

        with page.expect_download() as png:
            page.get_by_role("button", name="Export PNG").click()
        assert png.value.suggested_filename == "app1-graph.png"
        assert Path(png.value.path()).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        with page.expect_download() as svg:
            page.get_by_role("button", name="Export SVG").click()
        assert svg.value.suggested_filename == "app1-graph.svg"
        root = ET.fromstring(Path(svg.value.path()).read_bytes())  # noqa: S314 (the page's own output)
        assert root.tag == f"{SVG}svg"
        texts = {"".join(t.itertext()) for t in root.iter(f"{SVG}text")}
        assert any(t.startswith("web shop") and t.endswith("DEGRADED") for t in texts)
        assert len(root.findall(f".//{SVG}path")) == graph(page, "cy.edges().not('.filtered').length")

        page.set_viewport_size({"width": 400, "height": 800})  # a narrow window: the graph, then the lists
        box = page.locator("#cy").bounding_box()
        assert box is not None
        assert box["width"] <= 400
        assert page.locator("#impact-list").is_visible()
        # Cytoscape follows its container, and the drawing is fitted to it again.
        page.wait_for_function("window.cmdbGraph.width() <= 400")
        page.wait_for_function("window.cmdbGraph.elements().renderedBoundingBox().x2 <= window.cmdbGraph.width()")
        assert page.evaluate("document.documentElement.scrollWidth") <= 400  # nothing wider than the window
        screenshot(page, "graph-narrow")

        page.goto(f"{server.url}/ci/{app1}/graph?depth=9")
        assert "(field 'depth')" in page.get_by_role("alert").inner_text()
        page.goto(f"{server.url}/ci/no-such-ci/graph")
        assert "no CI with uid 'no-such-ci'" in page.get_by_role("alert").inner_text()
    assert refused == []
