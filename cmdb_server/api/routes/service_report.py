"""The monthly service report: JSON for programs, HTML and PDF for the people it is for."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated

from fastapi import APIRouter, Header, Query
from fastapi.responses import Response

from cmdb_server import report_document
from cmdb_server.api.deps import DriverDep, SchemaDep, SettingsDep
from cmdb_server.auth import Reader
from cmdb_server.models.service_report import ServiceReport
from cmdb_server.report_period import PERIOD_DESCRIPTION, parse_period, previous_month
from cmdb_server.service_report import build_service_report

router = APIRouter(prefix="/reports", tags=["service report"])


class ReportFormat(StrEnum):
    JSON = "json"
    HTML = "html"
    PDF = "pdf"


MEDIA_TYPES = {
    ReportFormat.JSON: "application/json",
    ReportFormat.HTML: "text/html",
    ReportFormat.PDF: "application/pdf",
}


def negotiated(accept: str | None) -> ReportFormat:
    """The format an Accept header prefers among ours (its q values weighed, the first named
    winning a tie); JSON when it names none of them, or anything (``*/*``)."""
    best, best_q = ReportFormat.JSON, 0.0
    for item in (accept or "")[:1000].split(","):
        media, *parameters = (part.strip().lower() for part in item.split(";"))
        q = 1.0
        for parameter in parameters:
            if parameter.startswith("q="):
                try:
                    q = float(parameter[2:])
                except ValueError:
                    q = 0.0
        found = next((f for f, m in MEDIA_TYPES.items() if m == media), None)
        if found is not None and q > best_q:
            best, best_q = found, q
    return best


@router.get(
    "/service",
    summary="The monthly service report: availability against target, incidents, changes, problems, accuracy",
    response_model=ServiceReport,
    responses={
        200: {
            "description": "The report: JSON (the default), or the document as HTML or PDF (format= or Accept).",
            "content": {
                "text/html": {"schema": {"type": "string"}},
                "application/pdf": {"schema": {"type": "string", "format": "binary"}},
            },
        }
    },
)
async def service_report(
    _: Reader,
    driver: DriverDep,
    settings: SettingsDep,
    schema: SchemaDep,
    period: Annotated[
        str | None, Query(description=PERIOD_DESCRIPTION + " Default: the last whole month.", max_length=20)
    ] = None,
    format: Annotated[
        ReportFormat | None, Query(description="json, html or pdf; without it, the Accept header chooses (JSON).")
    ] = None,
    accept: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> ServiceReport | Response:
    """Each business service's availability in the month within its service hours, against its
    target; incidents by priority against their response and resolution targets and per day;
    changes that ended and how; problems open; the record's accuracy each day. The month is
    counted in ``CMDB_REPORT_TIME_ZONE``. The HTML is one self-contained page (inline styles and
    SVG charts), the PDF the same page printed (A4)."""
    zone = settings.report_time_zone
    month = period if period is not None else previous_month(datetime.now(UTC), zone)
    report = await build_service_report(driver, settings.neo4j_database, schema, parse_period(month, zone))
    chosen = format or negotiated(accept)
    if chosen is ReportFormat.JSON:
        return report
    html = report_document.render_html(report)
    name = f"service-report-{report.period.label}"
    if chosen is ReportFormat.HTML:
        return Response(
            html,
            media_type="text/html; charset=utf-8",
            headers={"Content-Disposition": f'inline; filename="{name}.html"'},
        )
    pdf = await asyncio.to_thread(report_document.render_pdf, html)
    return Response(
        pdf, media_type="application/pdf", headers={"Content-Disposition": f'inline; filename="{name}.pdf"'}
    )
