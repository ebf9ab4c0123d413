"""The monthly service report through a real server and Neo4j: JSON that is the model, the
HTML document with its charts, the PDF rendered to images and looked at, the CLI saving and
summing it up, the page in a real browser, and a month that is no month refused by name."""

from __future__ import annotations

import os
import re
import subprocess
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pypdfium2
import pytest
from PIL import Image, ImageStat

from cmdb_server.models.service_report import ServiceReport
from cmdb_server.report_period import month_of
from schema import Role
from tests.integration.browser import SCREENSHOTS, offline_page, screenshot
from tests.integration.conftest import BOOTSTRAP_TOKEN, bearer
from tests.integration.server_process import BIN, ServerProcess
from tests.integration.test_ingest import host_report
from tests.integration.test_web_desk import sign_in

pytestmark = pytest.mark.slow
ADMIN = bearer(BOOTSTRAP_TOKEN)
SVG = "{http://www.w3.org/2000/svg}"


def ok(response: httpx.Response) -> Any:
    assert response.status_code in (200, 201), response.text
    return response.json()


def seed(server: ServerProcess) -> dict[str, str]:
    """A web shop with a 99.9 % target running on a host, a wiki without one; a critical
    incident on the host opened two hours ago (at most since the month began) and resolved;
    a standard change implemented."""
    now = datetime.now(UTC)
    month_start = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    opened = max(now - timedelta(hours=2), month_start + timedelta(minutes=1))
    with httpx.Client(base_url=server.url, headers=ADMIN, timeout=60) as api:
        host = ok(api.post("/api/v1/reports", json=host_report("mid-sr1", "sr1")))["cis"]["host"]
        app = ok(api.post("/api/v1/cis", json={"class": "Application", "attributes": {"name": "shop"}}))["uid"]
        shop, wiki = (
            ok(api.post("/api/v1/cis", json={"class": "BusinessService", "attributes": {"name": name}}))["uid"]
            for name in ("Web shop <EU>", "Wiki")
        )
        ok(api.post("/api/v1/relationships", json={"type": "RUNS_ON", "from_uid": app, "to_uid": host}))
        ok(api.post("/api/v1/relationships", json={"type": "DEPENDS_ON", "from_uid": shop, "to_uid": app}))
        ok(
            api.put(
                f"/api/v1/services/{shop}/service-level",
                json={"availability_target_percent": 99.9, "hours": "24x7", "time_zone": "UTC"},
            )
        )
        incident = ok(
            api.post(
                "/api/v1/incidents",
                json={
                    "title": "shop host down",
                    "priority": "critical",
                    "affected": [host],
                    "opened_at": opened.isoformat(),
                },
            )
        )["id"]
        for state in ("in_progress", "resolved"):
            ok(api.post(f"/api/v1/incidents/{incident}/transition", json={"to": state}))
        change = ok(
            api.post(
                "/api/v1/changes",
                json={
                    "title": "patch sr1",
                    "type": "standard",
                    "targets": [host],
                    "planned_start": (now - timedelta(minutes=30)).isoformat(),
                    "planned_end": (now + timedelta(minutes=30)).isoformat(),
                },
            )
        )["id"]
        for state in ("submitted", "approved", "implementing", "implemented"):
            ok(api.post(f"/api/v1/changes/{change}/transition", json={"to": state}))
    return {"host": host, "shop": shop, "wiki": wiki, "incident": incident, "month": month_of(now, "UTC")}


def check_pdf(pdf: bytes, name: str) -> list[Path]:
    """The PDF rendered page by page to PNG (kept under .run/screenshots to be looked at):
    A4 pages with ink on them, neither blank nor black."""
    assert pdf.startswith(b"%PDF-")
    document = pypdfium2.PdfDocument(pdf)
    assert 2 <= len(document) <= 5
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    paths = []
    for index in range(len(document)):
        image: Image.Image = document[index].render(scale=1.5).to_pil()
        path = SCREENSHOTS / f"{name}-page{index + 1}.png"
        image.save(path)
        paths.append(path)
        grey = image.convert("L")
        assert grey.size == (893, 1263)
        assert ImageStat.Stat(grey).stddev[0] > 20, f"page {index + 1} is blank"
        dark = sum(grey.histogram()[:128]) / (grey.size[0] * grey.size[1])
        assert 0.005 < dark < 0.5, f"page {index + 1}: {dark:.1%} dark"
    return paths


def test_the_report_as_json_html_and_pdf_and_a_bad_month_refused(server: ServerProcess, make_token: Any) -> None:
    seeded = seed(server)
    month = seeded["month"]
    viewer = bearer(make_token(Role.VIEWER))
    with httpx.Client(base_url=server.url, headers=viewer, timeout=120) as api:
        answer = api.get("/api/v1/reports/service", params={"period": month})
        assert answer.headers["content-type"] == "application/json"
        report = ServiceReport.model_validate(ok(answer))
        assert report.period.label == month
        by_uid = {s.service_uid: s for s in report.services}
        assert by_uid[seeded["shop"]].target_percent == 99.9
        assert by_uid[seeded["shop"]].service_name == "Web shop <EU>"
        assert by_uid[seeded["wiki"]].verdict.value == "no_target"
        critical = next(i for i in report.incidents if i.priority.value == "critical")
        assert critical.opened == 1
        assert report.changes.closed >= 1

        html = api.get("/api/v1/reports/service", params={"period": month, "format": "html"})
        assert html.status_code == 200, html.text
        assert html.headers["content-type"].startswith("text/html")
        svgs = re.findall(r"<svg .*?</svg>", html.text, flags=re.S)
        assert len(svgs) == 4
        availability = ET.fromstring(svgs[0])  # noqa: S314 - the server's own document
        targets = [e for e in availability.iter(f"{SVG}line") if e.get("class") == "target"]
        assert [t.get("data-service") for t in targets] == [seeded["shop"]]
        labels = ["".join(e.itertext()) for e in availability.iter(f"{SVG}text") if e.get("class") == "axis-label"]
        assert "availability (%)" in labels
        assert "Web shop &lt;EU&gt;" in html.text
        assert "<EU>" not in html.text

        pdf = api.get("/api/v1/reports/service", params={"period": month}, headers={"Accept": "application/pdf"})
        assert pdf.status_code == 200, pdf.text
        assert pdf.headers["content-type"] == "application/pdf"
        check_pdf(pdf.content, "service-report-api")

        for bad in ("2026-13", "1969-01", "november", f"{int(month[:4]) + 1}-{month[5:]}"):
            refused = api.get("/api/v1/reports/service", params={"period": bad, "format": "pdf"})
            assert refused.status_code == 422, (bad, refused.text)
            assert refused.json()["error"]["fields"][0]["field"] == "period"
        assert api.get("/api/v1/reports/service", params={"format": "docx"}).status_code == 422
    assert httpx.get(f"{server.url}/api/v1/reports/service", timeout=30).status_code == 401

    env = dict(os.environ, CMDB_URL=server.url, CMDB_TOKEN=BOOTSTRAP_TOKEN)

    def cmdb(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(BIN / "cmdb"), *args], env=env, capture_output=True, text=True)

    summary = cmdb("report", "service", "--period", month)
    assert summary.returncode == 0, summary.stderr
    assert f"Service report {month} (UTC)" in summary.stdout
    assert "Web shop <EU>" in summary.stdout
    assert "critical 1" in summary.stdout
    saved = SCREENSHOTS / "service-report-cli.pdf"
    done = cmdb("report", "service", "--period", month, "--pdf", str(saved))
    assert done.returncode == 0, done.stderr
    check_pdf(saved.read_bytes(), "service-report-cli")
    wrong = cmdb("report", "service", "--period", "2026-13")
    assert wrong.returncode == 1
    assert "period" in wrong.stderr
    assert "Traceback" not in wrong.stderr


def test_the_report_page_picks_a_month_shows_its_charts_and_downloads(server: ServerProcess) -> None:
    seeded = seed(server)
    month = seeded["month"]
    with offline_page(server.url) as (page, refused):
        sign_in(page, server.url)
        page.get_by_role("link", name="Service report").click()
        page.wait_for_url(f"{server.url}/service-report")
        page.get_by_label("Month (UTC)").fill(month)
        page.get_by_role("button", name="Show").click()
        page.wait_for_url(f"{server.url}/service-report?period={month}")
        assert page.get_by_role("heading", name=f"Service report {month}").is_visible()
        charts = page.locator("figure.chart svg")
        assert charts.count() == 4
        assert charts.first.locator("line.target").count() == 1
        assert charts.first.locator(".axis-label").first.is_visible()
        row = page.locator("#availability-table tr", has_text="Web shop <EU>")
        assert "99.90 %" in row.inner_text()
        with page.expect_download() as pdf_download:
            page.get_by_role("link", name="PDF").click()
        path = pdf_download.value.path()
        assert pdf_download.value.suggested_filename == f"service-report-{month}.pdf"
        check_pdf(Path(path).read_bytes(), "service-report-page-download")
        with page.expect_download() as json_download:
            page.get_by_role("link", name="JSON").click()
        ServiceReport.model_validate_json(Path(json_download.value.path()).read_text())
        screenshot(page, "service-report")
        page.goto(f"{server.url}/service-report?period=2026-13")
        assert "a month is 01 to 12" in page.content()
        assert refused == []
