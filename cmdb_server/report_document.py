"""The service report as a document a manager reads: one HTML page, self-contained (inline
CSS and SVG charts, no script, nothing fetched), and the same HTML printed to PDF.

The body (``report/body.html``) is shared with the web UI's report page, so the page, the
downloaded HTML and the PDF say the same thing in the same order. The PDF is printed by
WeasyPrint on the server (pango does the text), with every URL fetch refused: the document
holds all it shows, and a name in the record can never make the server fetch anything.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup

from cmdb_server import report_charts
from cmdb_server.models.service_report import ServiceReport, SlaVerdict

TEMPLATES = Path(__file__).parent / "web" / "templates"
MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
          "November", "December")  # fmt: skip
NONE = "\u2013"
"""What a table shows for a figure that has no value (an en dash)."""


def minutes(value: float | None) -> str:
    """A duration for a reader: '0 min', '18 min', '3 h 36 min', '2 d 4 h'."""
    if value is None:
        return NONE
    sign, value = ("-" if value < 0 else ""), abs(value)
    if value < 60:
        return f"{sign}{value:.0f} min"
    hours, rest = divmod(round(value), 60)
    if hours < 48:
        return f"{sign}{hours} h {rest} min" if rest else f"{sign}{hours} h"
    days, hours = divmod(hours, 24)
    return f"{sign}{days} d {hours} h" if hours else f"{sign}{days} d"


def percent(value: float | None, decimals: int = 2) -> str:
    return NONE if value is None else f"{value:.{decimals}f} %"


def figure(value: float | None, decimals: int = 1) -> str:
    return NONE if value is None else report_charts.number(round(value, decimals))


def month_name(label: str) -> str:
    """'2026-11' as 'November 2026'."""
    year, month = label.split("-")
    return f"{MONTHS[int(month) - 1]} {year}"


def _environment() -> Environment:
    environment = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]))
    environment.filters.update(minutes=minutes, percent=percent, figure=figure, month_name=month_name)
    return environment


ENVIRONMENT = _environment()


def period_days(report: ServiceReport) -> list[date]:
    """Every day of the report's month, in its time zone."""
    zone = ZoneInfo(report.period.time_zone)
    first = report.period.start.astimezone(zone).date()
    last = (report.period.end - timedelta(microseconds=1)).astimezone(zone).date()
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def charts(report: ServiceReport) -> dict[str, Markup]:
    """The four charts as SVG text, marked safe: report_charts escapes every text it draws."""
    label = report.period.label
    return {
        "availability": Markup(report_charts.availability_chart(report.services, label)),  # noqa: S704
        "incidents": Markup(report_charts.incident_trend_chart(report.incident_trend, label)),  # noqa: S704
        "changes": Markup(report_charts.change_outcomes_chart(report.changes, label)),  # noqa: S704
        "accuracy": Markup(report_charts.accuracy_chart(report.accuracy, label, period_days(report))),  # noqa: S704
    }


def summary(report: ServiceReport) -> dict[str, Any]:
    """The few figures a reader wants first, also printed by ``cmdb report service``."""
    targeted = [s for s in report.services if s.verdict is not SlaVerdict.NO_TARGET]
    latest = next((p for p in reversed(report.accuracy) if p.accurate_percent is not None), None)
    return {
        "services": len(report.services),
        "with_target": len(targeted),
        "met": sum(1 for s in targeted if s.verdict is SlaVerdict.MET),
        "breached": [s.service_name for s in targeted if s.verdict is SlaVerdict.BREACHED],
        "incidents_opened": sum(i.opened for i in report.incidents),
        "incidents_resolved": sum(i.resolved for i in report.incidents),
        "changes_closed": report.changes.closed,
        "change_success": report.changes.success_rate_percent,
        "problems_open": report.problems.open,
        "accuracy": latest.accurate_percent if latest else None,
        "accuracy_day": latest.day if latest else None,
    }


def _context(report: ServiceReport) -> dict[str, Any]:
    zone = ZoneInfo(report.period.time_zone)

    def local(at: datetime) -> str:
        return at.astimezone(zone).strftime("%Y-%m-%d %H:%M")

    return {"report": report, "charts": charts(report), "summary": summary(report), "local": local}


def render_body(report: ServiceReport) -> Markup:
    """The report's sections (summary, service levels, incidents, changes, problems,
    accuracy) as HTML, for the document and the web page."""
    return Markup(ENVIRONMENT.get_template("report/body.html").render(**_context(report)))  # noqa: S704


def render_html(report: ServiceReport) -> str:
    """The whole document: its own head and print styles around the body."""
    return ENVIRONMENT.get_template("report/document.html").render(body=render_body(report), **_context(report))


def render_pdf(html: str) -> bytes:
    """The document printed to A4 PDF. CPU-bound (a second or so): call it off the event loop."""
    import weasyprint  # 0.7 s to import: loaded on the first PDF, not at every start

    fetcher = weasyprint.URLFetcher(allowed_protocols=())
    pdf: bytes = weasyprint.HTML(string=html, url_fetcher=fetcher).write_pdf()
    return pdf
