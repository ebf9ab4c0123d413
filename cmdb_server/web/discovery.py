"""The discovery status page: each collector's last run, every source that reported (the
API's ``GET /api/v1/sources`` rows, paged), its refused reports, and the sources gone stale
(no report for longer than ``CMDB_STALE_AFTER_HOURS``), each marked with a word and a mark."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import Request
from fastapi.responses import Response

from cmdb_server import discovery_status
from cmdb_server.errors import Unprocessable
from cmdb_server.web.common import SignedIn, page_offset, page_router, pager, render
from schema import SourceKind

router = page_router()
PAGE_SIZE = 50
SHOWN = ("all", "stale", "refused")


@router.get("/discovery")
async def discovery_page(here: SignedIn, request: Request) -> Response:
    state = request.app.state
    driver, db = state.driver, state.settings.neo4j_database
    params = request.query_params
    show = params.get("show") or "all"
    if show not in SHOWN:
        raise Unprocessable(f"show one of {', '.join(SHOWN)}", field="show", location="query")
    kind = params.get("kind") or None
    if kind is not None and kind not in {k.value for k in SourceKind}:
        raise Unprocessable(f"{kind[:30]!r} is no kind of source", field="kind", location="query")
    offset = page_offset(params.get("offset"))
    now = datetime.now(UTC)
    stale_after = timedelta(hours=state.settings.stale_after_hours)
    wanted = discovery_status.SourceFilter(stale_only=show == "stale", refused_only=show == "refused", kind=kind)
    rows, total = await discovery_status.source_page(driver, db, stale_after, now, wanted, offset, PAGE_SIZE)
    runs = await discovery_status.collectors(driver, db, stale_after, now)
    shown: dict[str, Any] = {k: v for k, v in (("show", show if show != "all" else None), ("kind", kind)) if v}
    return render(
        "discovery.html",
        here,
        sources=rows,
        total=total,
        offset=offset,
        runs=runs,
        show=show,
        kind=kind,
        kinds=[k.value for k in SourceKind],
        stale_hours=state.settings.stale_after_hours,
        **pager("/discovery", shown, offset, total, PAGE_SIZE),
        when=lambda at: at.strftime("%Y-%m-%d %H:%M UTC") if isinstance(at, datetime) else "never",
        ago=lambda at: _ago(now, at),
    )


def _ago(now: datetime, at: Any) -> str:
    if not isinstance(at, datetime):
        return ""
    hours = (now - at).total_seconds() / 3600
    if hours < 1:
        return f"{max(0, round(hours * 60))} min ago"
    return f"{hours:.0f} h ago" if hours < 48 else f"{hours / 24:.0f} days ago"
