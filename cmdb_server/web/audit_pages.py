"""The audit page: the unauthorised-changes report and the configuration audit (the same
service functions as ``GET /api/v1/reports/unauthorised-changes`` and
``/reports/configuration-audit``), narrowed by time, class, kind of finding and source, paged,
and downloadable as CSV or JSON with the same filters (``/audit/unauthorised.csv`` ...)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import Response

from cmdb_server import audit
from cmdb_server.errors import NotFound, Unprocessable
from cmdb_server.itsm import DISCOVERED_CHANGE_KINDS
from cmdb_server.web.common import SignedIn, page_router, render
from cmdb_server.web.export import csv_download, json_download

router = page_router()
PAGE_SIZE = 100
EXPORT_LIMIT = 10_000
"""Rows an export holds at most (its JSON says ``truncated`` when there were more)."""
DEFAULT_DAYS = 7
MAX_DAYS = 366


@dataclass(frozen=True)
class AuditQuery:
    """The audit page's filters, checked: the page and its downloads read the same."""

    since: datetime
    interval_hours: float
    changes: audit.Narrowing
    findings: audit.Narrowing
    shown: dict[str, str]  # as the URL carries them


def _instant(text: str, field: str) -> datetime:
    try:
        at = datetime.fromisoformat(text)
    except ValueError:
        raise Unprocessable(
            f"{text[:40]!r} is not a date and time (2026-12-01T09:00)", field=field, location="query"
        ) from None
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def audit_query(request: Request) -> AuditQuery:
    params = request.query_params
    now = datetime.now(UTC)
    since = _instant(params["since"], "since") if params.get("since") else now - timedelta(days=DEFAULT_DAYS)
    until = _instant(params["until"], "until") if params.get("until") else None
    if since < now - timedelta(days=MAX_DAYS):
        raise Unprocessable(f"look back {MAX_DAYS} days at most", field="since", location="query")
    if until is not None and until < since:
        raise Unprocessable("'until' comes before 'since'", field="until", location="query")
    ci_class = params.get("class") or None
    if ci_class is not None and ci_class not in request.app.state.schema.classes:
        raise Unprocessable(f"no CI class {ci_class[:60]!r}", field="class", location="query")
    kind = params.get("kind") or None
    if kind is not None and kind not in DISCOVERED_CHANGE_KINDS:
        known = ", ".join(sorted(DISCOVERED_CHANGE_KINDS))
        raise Unprocessable(f"{kind[:40]!r} is no kind of change; use {known}", field="kind", location="query")
    finding = params.get("finding") or None
    if finding is not None and finding not in {f.value for f in audit.Finding}:
        known = ", ".join(f.value for f in audit.Finding)
        raise Unprocessable(f"{finding[:40]!r} is no finding; use {known}", field="finding", location="query")
    source = (params.get("source") or "")[:200] or None
    try:
        interval = float(params.get("interval_hours") or 24)
    except ValueError:
        raise Unprocessable("interval_hours must be a number", field="interval_hours", location="query") from None
    if not 0 < interval <= 24 * MAX_DAYS:
        raise Unprocessable("interval_hours must be above 0, a year at most", field="interval_hours", location="query")
    shown = {
        k: v
        for k, v in {
            "since": params.get("since"),
            "until": params.get("until"),
            "class": ci_class,
            "kind": kind,
            "finding": finding,
            "source": source,
            "interval_hours": params.get("interval_hours"),
        }.items()
        if v
    }
    return AuditQuery(
        since=since,
        interval_hours=interval,
        changes=audit.Narrowing(ci_class=ci_class, kind=kind, source=source, until=until),
        findings=audit.Narrowing(ci_class=ci_class, kind=finding, source=source),
        shown=shown,
    )


async def unauthorised(request: Request, query: AuditQuery) -> list[dict[str, Any]]:
    state = request.app.state
    found = await audit.unauthorised_changes(state.driver, state.settings.neo4j_database, query.since)
    return audit.narrow_unauthorised(found, query.changes)


async def findings(request: Request, query: AuditQuery) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    state = request.app.state
    report = await audit.configuration_audit(
        state.driver, state.settings.neo4j_database, query.interval_hours, datetime.now(UTC)
    )
    return report, audit.narrow_findings(audit.findings(report), query.findings)


def _offset(request: Request, name: str) -> int:
    try:
        return max(0, int(request.query_params.get(name) or 0))
    except ValueError:
        raise Unprocessable(f"{name} must be a whole number", field=name, location="query") from None


def _pager(shown: dict[str, str], name: str, offset: int, total: int) -> dict[str, str | None]:
    def link(at: int) -> str:
        return "/audit?" + urlencode({**shown, name: at})

    return {
        "previous": link(max(0, offset - PAGE_SIZE)) if offset > 0 else None,
        "next": link(offset + PAGE_SIZE) if offset + PAGE_SIZE < total else None,
    }


@router.get("/audit")
async def audit_page(here: SignedIn, request: Request) -> Response:
    query = audit_query(request)
    changes = await unauthorised(request, query)
    report, rows = await findings(request, query)
    changes_at, findings_at = _offset(request, "changes_offset"), _offset(request, "findings_offset")
    exports = urlencode(query.shown)
    return render(
        "audit.html",
        here,
        form=query.shown,
        since=query.since,
        classes=sorted(n for n, c in request.app.state.schema.classes.items() if not c.abstract),
        kinds=sorted(DISCOVERED_CHANGE_KINDS),
        finding_kinds=[f.value for f in audit.Finding],
        changes=changes[changes_at : changes_at + PAGE_SIZE],
        changes_total=len(changes),
        changes_at=changes_at,
        changes_pages=_pager(query.shown, "changes_offset", changes_at, len(changes)),
        findings=rows[findings_at : findings_at + PAGE_SIZE],
        findings_total=len(rows),
        findings_at=findings_at,
        findings_pages=_pager(query.shown, "findings_offset", findings_at, len(rows)),
        coverage=report["coverage"],
        interval_hours=query.interval_hours,
        exports=("?" + exports) if exports else "",
        when=lambda at: at.strftime("%Y-%m-%d %H:%M UTC") if isinstance(at, datetime) else "-",
    )


UNAUTHORISED_COLUMNS = ("at", "ci_uid", "ci_name", "ci_class", "kind", "field", "old", "new", "source", "report_id")
FINDING_COLUMNS = ("finding", "uid", "name", "class", "source", "detail")


def _change_row(item: dict[str, Any]) -> list[Any]:
    ci = item["ci"]
    return [item["at"], ci["uid"], ci["name"], ci["class"], *(item[k] for k in UNAUTHORISED_COLUMNS[4:])]


@router.get("/audit/{report}.{format}")
async def audit_export(report: str, format: str, here: SignedIn, request: Request) -> Response:
    """A report as the page shows it (the same filters), whole up to EXPORT_LIMIT rows."""
    if format not in ("csv", "json"):
        raise NotFound(f"no {format[:10]!r} download: csv or json", field="format", location="path")
    query = audit_query(request)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%MZ")
    if report == "unauthorised":
        items = await unauthorised(request, query)
        kept = items[:EXPORT_LIMIT]
        name = f"unauthorised-changes-{stamp}.{format}"
        if format == "json":
            return json_download(
                name,
                {
                    "since": query.since,
                    "filters": query.shown,
                    "total": len(items),
                    "truncated": len(items) > EXPORT_LIMIT,
                    "items": kept,
                },
            )
        return csv_download(name, UNAUTHORISED_COLUMNS, (_change_row(i) for i in kept))
    if report == "configuration":
        full, rows_found = await findings(request, query)
        name = f"configuration-audit-{stamp}.{format}"
        if format == "json":
            return json_download(
                name,
                {
                    "generated_at": full["generated_at"],
                    "interval_hours": query.interval_hours,
                    "filters": query.shown,
                    "total": len(rows_found),
                    "findings": rows_found,
                    "coverage": full["coverage"],
                },
            )
        return csv_download(name, FINDING_COLUMNS, ([r[c] for c in FINDING_COLUMNS] for r in rows_found))
    raise NotFound(f"no report {report[:40]!r}: unauthorised or configuration", field="report", location="path")
