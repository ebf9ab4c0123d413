"""A real browser for the tests: Playwright for Python driving Debian's chromium.

Playwright cannot download its own browsers here; deploy/bootstrap installs Debian's
``chromium`` and the tests point Playwright at it. Every request the page makes to any
address but the server under test is refused, so a page that needs the internet fails.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlparse

from playwright.sync_api import Page, Route, sync_playwright

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


@contextmanager
def offline_page(base_url: str) -> Iterator[tuple[Page, list[str]]]:
    """A page that may only reach ``base_url``; the list collects what it tried elsewhere."""
    allowed = urlparse(base_url).netloc
    refused: list[str] = []

    def only_the_server(route: Route) -> None:
        if urlparse(route.request.url).netloc == allowed:
            route.continue_()
        else:
            refused.append(route.request.url)
            route.abort()

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            page.route("**/*", only_the_server)
            yield page, refused
        finally:
            browser.close()


SCREENSHOTS = Path(__file__).resolve().parents[2] / ".run" / "screenshots"
"""Where the browser tests leave a screenshot of each page they check (kept out of git)."""


def screenshot(page: Page, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
