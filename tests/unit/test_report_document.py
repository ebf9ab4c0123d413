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
