"""Liveness and readiness probes (no token needed: they reveal nothing)."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from neo4j.exceptions import DriverError, Neo4jError
from pydantic import BaseModel, Field

from cmdb_server.api.deps import DriverDep, SettingsDep
from cmdb_server.repositories.health import ping

router = APIRouter(tags=["health"])


class Health(BaseModel):
    status: str = Field(description="ok")


class Readiness(BaseModel):
    status: str = Field(description="ready or not ready")
    checks: dict[str, str] = Field(description="neo4j: ok or why not; schema: applied or not yet.")


@router.get("/healthz", summary="The process is up", response_model=Health)
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get(
    "/readyz",
    summary="Neo4j answers and the schema is applied (503 otherwise)",
    response_model=Readiness,
    responses={503: {"model": Readiness, "description": "Not ready: the checks say why."}},
)
async def readyz(request: Request, driver: DriverDep, settings: SettingsDep) -> JSONResponse:
    checks: dict[str, str] = {}
    try:
        async with asyncio.timeout(settings.neo4j_connection_timeout):
            await ping(driver, settings.neo4j_database)
        checks["neo4j"] = "ok"
    except (DriverError, Neo4jError, OSError, TimeoutError) as exc:
        checks["neo4j"] = f"unreachable: {type(exc).__name__}"
    schema_ready: bool = request.app.state.schema_ready
    checks["schema"] = "applied" if schema_ready else "not applied yet"
    ready = checks["neo4j"] == "ok" and schema_ready
    return JSONResponse(
        {"status": "ready" if ready else "not ready", "checks": checks}, status_code=200 if ready else 503
    )
