"""The service report page: a month picked, its charts and tables (the same body as the
document ``GET /api/v1/reports/service`` prints), and the month's report to download as
HTML, PDF or JSON with the signed-in session (``/service-report/2026-11.pdf``)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from fastapi import Request
from fastapi.responses import Response

from cmdb_server import report_document
from cmdb_server.errors import NotFound
from cmdb_server.models.service_report import ServiceReport
from cmdb_server.report_period import month_of, parse_period, previous_month
from cmdb_server.service_report import build_service_report
from cmdb_server.web.common import SignedIn, page_router, render

router = page_router()


async def _report(request: Request, month: str) -> ServiceReport:
    state = request.app.state
    period = parse_period(month, state.settings.report_time_zone)
    return await build_service_report(state.driver, state.settings.neo4j_database, state.schema, period)


@router.get("/service-report")
async def service_report_page(here: SignedIn, request: Request) -> Response:
    zone = request.app.state.settings.report_time_zone
    now = datetime.now(UTC)
    month = request.query_params.get("period") or previous_month(now, zone)
    report = await _report(request, month)
    return render(
        "service_report.html",
        here,
        report=report,
        body=report_document.render_body(report),
        month=month,
        latest=month_of(now, zone),
    )


@router.get("/service-report/{month}.{format}")
async def service_report_download(month: str, format: str, here: SignedIn, request: Request) -> Response:
    """The month's report as the API answers it: the document (HTML, PDF) or its JSON."""
    if format not in ("html", "pdf", "json"):
        raise NotFound(f"no {format[:10]!r} download: html, pdf or json", field="format", location="path")
    report = await _report(request, month)
    name = f"service-report-{report.period.label}.{format}"
    attachment = {"Content-Disposition": f'attachment; filename="{name}"'}
    if format == "json":
        return Response(report.model_dump_json(indent=2), media_type="application/json", headers=attachment)
    html = report_document.render_html(report)
    if format == "html":
        return Response(html, media_type="text/html; charset=utf-8", headers=attachment)
    pdf = await asyncio.to_thread(report_document.render_pdf, html)
    return Response(pdf, media_type="application/pdf", headers=attachment)
