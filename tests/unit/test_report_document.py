"""The service report as a document: self-contained HTML with its charts, and its PDF
rendered to images and looked at (pages, size, ink)."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path

import pypdfium2
from PIL import Image, ImageStat

from cmdb_server import report_document
from tests.service_report_sample import sample_report

SCREENSHOTS = Path(__file__).resolve().parents[2] / ".run" / "screenshots"


class _Fetches(HTMLParser):
    """Every attribute that would make a reader fetch something."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in {"src", "href", "xlink:href"} or (tag == "link" and name == "rel"):
                self.found.append(f"{tag} {name}={value}")


def test_the_html_document_holds_its_charts_and_fetches_nothing() -> None:
    html = report_document.render_html(sample_report())
    assert html.startswith("<!doctype html>")
    assert "<h1>Service report: November 2026</h1>" in html
    parser = _Fetches()
    parser.feed(html)
    assert parser.found == []
    assert "<script" not in html
    assert "url(" not in html
    svgs = re.findall(r"<svg .*?</svg>", html, flags=re.S)
    assert len(svgs) == 4
    titles = [ET.fromstring(svg).findtext("{http://www.w3.org/2000/svg}title") for svg in svgs]  # noqa: S314
    assert titles == [
        "Availability per service against target",
        "Incidents opened per day",
        "Change outcomes",
        "Accuracy of the record",
    ]
    assert 'class="target"' in svgs[0]
    # A name from the record is text, never markup, in the tables as in the charts.
    assert "Payments &lt;EU&gt; &amp; cards" in html
    assert "<EU>" not in html
    assert 'class="verdict-breached"' in html


class _Table(HTMLParser):
    """The cells' text of one table, row by row (header row included)."""

    def __init__(self, table_id: str) -> None:
        super().__init__()
        self.table_id, self.inside = table_id, False
        self.rows: list[list[str]] = []
        self.classes: list[list[str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table" and ("id", self.table_id) in attrs:
            self.inside = True
        elif self.inside and tag == "tr":
            self.rows.append([])
            self.classes.append([])
        elif self.inside and tag in {"td", "th"}:
            self.rows[-1].append("")
            self.classes[-1].append(dict(attrs).get("class") or "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "table":
            self.inside = False

    def handle_data(self, data: str) -> None:
        if self.inside and self.rows and self.rows[-1]:
            self.rows[-1][-1] += data.strip()


def test_each_service_s_incidents_are_shown_against_its_own_targets_only_where_there_are_some() -> None:
    report = sample_report()
    table = _Table("service-incidents-table")
    table.feed(report_document.render_html(report))
    header, *rows = table.rows
    assert header == [
        "Service", "Priority", "Targets", "Opened", "Response target", "Within", "Resolved", "Resolution target",
        "Within",
    ]  # fmt: skip
    # Mail had no incident, and no service a row for a priority without any: four rows, not sixteen.
    assert rows == [
        ["Web shop", "medium", "default", "1", "4 h", "1", "1", "24 h", "1"],
        ["Payments <EU> & cards", "critical", "agreed", "2", "8 min", "1", "2", "2 h", "1"],
        ["Payments <EU> & cards", "high", "agreed", "3", "30 min", "3", "3", "4 h", "2"],
        ["Intranet wiki", "low", "default", "2", "8 h", "2", "1", "3 d", "1"],
    ]
    missed = [
        [c for c, text in zip(cls, row, strict=True) if "breached" in c]
        for cls, row in zip(table.classes, table.rows, strict=True)
    ]
    assert [len(m) for m in missed[1:]] == [0, 2, 1, 0]  # fewer within target than counted: marked

    for service in report.services:
        for row in service.incident_compliance:
            row.opened = row.resolved = 0
    quiet = report_document.render_html(report)
    assert 'id="service-incidents-table"' not in quiet
    assert "No incident reached a business service in the month." in quiet


def test_the_summary_counts_what_the_report_holds() -> None:
    summary = report_document.summary(sample_report())
    assert (summary["services"], summary["with_target"], summary["met"]) == (4, 3, 2)
    assert summary["breached"] == ["Payments <EU> & cards"]
    assert summary["incidents_opened"] == 117


def test_durations_read_as_a_person_says_them() -> None:
    assert [report_document.minutes(m) for m in (None, 0, 18.4, 216, 240, 3300, -95)] == [
        report_document.NONE, "0 min", "18 min", "3 h 36 min", "4 h", "2 d 7 h", "-1 h 35 min",
    ]  # fmt: skip


def test_the_pdf_renders_pages_with_ink_on_them() -> None:
    pdf = report_document.render_pdf(report_document.render_html(sample_report()))
    assert pdf.startswith(b"%PDF-")
    document = pypdfium2.PdfDocument(pdf)
    assert 2 <= len(document) <= 4
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for index in range(len(document)):
        image: Image.Image = document[index].render(scale=1.5).to_pil().convert("L")
        image.save(SCREENSHOTS / f"service-report-sample-page{index + 1}.png")
        assert image.size == (893, 1263)  # A4 at 1.5 x 72 dpi
        stats = ImageStat.Stat(image)
        assert stats.stddev[0] > 20, f"page {index + 1} is blank"
        dark = sum(image.histogram()[:128]) / (image.size[0] * image.size[1])
        assert 0.01 < dark < 0.5, f"page {index + 1}: {dark:.1%} dark pixels"
