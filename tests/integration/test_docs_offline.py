"""/docs and /redoc load everything from the server itself: they work without internet."""

from __future__ import annotations

import re

import httpx

from tests.integration.browser import offline_page
from tests.integration.server_process import ServerProcess


def test_the_documentation_pages_name_only_the_servers_own_assets(server: ServerProcess) -> None:
    for path in ("/docs", "/redoc"):
        page = httpx.get(server.url + path, timeout=10)
        assert page.status_code == 200
        assets = re.findall(r'(?:src|href)="([^"]+)"', page.text)
        assert assets, path
        assert all(a.startswith("/static/vendor/") for a in assets), assets
        for asset in assets:
            served = httpx.get(server.url + asset, timeout=10)
            assert served.status_code == 200, asset
            assert len(served.content) > 500, asset


def test_swagger_ui_renders_the_api_in_a_browser_without_internet(server: ServerProcess) -> None:
    with offline_page(server.url) as (page, refused):
        page.goto(server.url + "/docs")
        page.wait_for_selector(".opblock-summary-path", timeout=30_000)
        paths = page.locator(".opblock-summary-path").all_inner_texts()
        assert any("/api/v1/cis" in p for p in paths)
        page.goto(server.url + "/redoc")
        page.locator("h2", has_text="Search CIs").first.wait_for(timeout=30_000)  # an operation's heading
    assert refused == []  # nothing was asked of any other address
