"""The web UI: server-rendered pages over the same services as the API (``install``)."""

from __future__ import annotations

from fastapi import FastAPI


def install(app: FastAPI) -> None:
    """Serve the static assets, /docs and /redoc, and every page router."""
    from cmdb_server.web import (
        assets,
        audit_pages,
        changes,
        ci_page,
        common,
        discovery,
        graph,
        incidents,
        pages,
        releases,
        search,
        service_report_page,
    )

    assets.install(app)
    common.install_page_errors(app)
    for module in (
        pages,
        search,
        ci_page,
        changes,
        releases,
        incidents,
        audit_pages,
        service_report_page,
        discovery,
        graph,
    ):
        app.include_router(module.router)
    app.include_router(graph.data_router)
