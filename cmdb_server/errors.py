"""Errors as JSON: every failure the API returns has the same shape.

``{"error": {"status": 422, "message": "...", "fields": [{"field": ..., "in": ..., "message": ...}]}}``
``fields`` is present when the problem is with named input, so a client can point at it.
A lost database connection is a 503 (retry later), never a 500.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from neo4j.exceptions import ClientError, ServiceUnavailable, SessionExpired, TransientError
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from cmdb_server.db import QUERY_TIMEOUT, DatabaseHealth, timed_out

log = logging.getLogger(__name__)


class ErrorField(BaseModel):
    """One piece of input the error is about (a state change refused also lists the ``allowed`` states)."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    field: str = Field(description="The field's name, dotted for a nested one (attributes.serial).")
    where: str = Field(alias="in", description="body, query, path or header.")
    message: str


class ErrorDetail(BaseModel):
    status: int = Field(description="The HTTP status again.")
    message: str = Field(description="What is wrong, for a person.")
    fields: list[ErrorField] | None = Field(None, description="The input at fault, when it is named input.")


class ErrorBody(BaseModel):
    """Every error answer of the API (``error_body`` builds it)."""

    error: ErrorDetail


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    "4XX": {"model": ErrorBody, "description": "Refused: the error says why, and names the fields at fault."},
    "5XX": {"model": ErrorBody, "description": "503: the database is unavailable or busy (Retry-After); 500: a bug."},
}
"""Declared on every operation, so the OpenAPI shows the error shape the server sends."""


class ApiError(Exception):
    """An error the API reports to its client as it is."""

    status = 400

    def __init__(
        self,
        message: str,
        *,
        field: str | None = None,
        location: str | None = None,
        fields: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.location = location
        self.fields = fields
        self.headers = headers


class BadRequest(ApiError):
    status = 400


class Unauthorized(ApiError):
    status = 401

    def __init__(self, message: str) -> None:
        super().__init__(message, headers={"WWW-Authenticate": "Bearer"})


class Forbidden(ApiError):
    status = 403


class NotFound(ApiError):
    status = 404


class Conflict(ApiError):
    status = 409

    @classmethod
    def refused_transition(cls, message: str, allowed: list[str]) -> Conflict:
        """A state change the record's state machine does not allow, with the ones it does."""
        return cls(message, fields=[{"field": "to", "in": "body", "message": message, "allowed": allowed}])


class Unprocessable(ApiError):
    status = 422


RETRY_AFTER_UNAVAILABLE = 5
"""Seconds a client is told to wait (``Retry-After``) while the database is away or not ready."""


class TooManyRequests(ApiError):
    status = 429

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message, headers={"Retry-After": str(retry_after)})


class NotReady(ApiError):
    """The database is not ready or known to be away: nothing was done, retry later."""

    status = 503

    def __init__(self, message: str) -> None:
        super().__init__(message, headers={"Retry-After": str(RETRY_AFTER_UNAVAILABLE)})


class NotConfigured(ApiError):
    """The server lacks a setting this feature needs: only its operator can fix it."""

    status = 503


def error_body(status: int, message: str, fields: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    error: dict[str, Any] = {"status": status, "message": message}
    if fields:
        error["fields"] = fields
    return {"error": error}


def _field_of(loc: tuple[Any, ...] | list[Any]) -> tuple[str, str]:
    """Split pydantic's error location ("query", "limit") into (where, dotted field name)."""
    parts = [str(p) for p in loc]
    where = parts[0] if parts and parts[0] in {"query", "path", "body", "header", "cookie"} else "body"
    names = parts[1:] if parts and parts[0] == where else parts
    return where, ".".join(names) or where


def api_error_response(exc: ApiError) -> JSONResponse:
    """The answer to an ApiError (also used by middleware, which runs outside the handlers)."""
    fields = exc.fields
    if fields is None and exc.field is not None:
        fields = [{"field": exc.field, "in": exc.location or "body", "message": exc.message}]
    return JSONResponse(error_body(exc.status, exc.message, fields), status_code=exc.status, headers=exc.headers)


async def _api_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    return api_error_response(exc)


async def _validation_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    broken = next((e for e in exc.errors() if e.get("type") == "json_invalid"), None)
    if broken is not None:
        # Not JSON at all: 400, as every endpoint that reads a body says it (reports, imports),
        # with where it broke (pydantic's loc holds a character offset, not a field).
        offset = broken.get("loc", ("body", "?"))[-1]
        detail = broken.get("ctx", {}).get("error", "invalid JSON")
        message = f"body is not JSON: {detail} (at character {offset})"
        return JSONResponse(error_body(400, message, [{"field": "body", "in": "body", "message": message}]), 400)
    fields = []
    for err in exc.errors():
        where, name = _field_of(err.get("loc", ()))
        message = str(err.get("msg", "invalid value"))
        if err.get("type") == "value_error":  # a validator's own words, without pydantic's "Value error, "
            message = str(err.get("ctx", {}).get("error", message))
        fields.append({"field": name, "in": where, "message": message})
    message = "; ".join(f"{f['in']} field '{f['field']}': {f['message']}" for f in fields) or "invalid request"
    return JSONResponse(error_body(422, message, fields), status_code=422)


async def http_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    return JSONResponse(error_body(exc.status_code, str(exc.detail)), status_code=exc.status_code, headers=exc.headers)


def database_unavailable_response(exc: Exception, health: DatabaseHealth | None = None) -> JSONResponse:
    """The database went away during this request: 503, and ``health`` marked down so that
    the next requests are answered at once (the background probe sets it up again)."""
    log.warning("Neo4j unavailable: %s", exc)
    if health is not None:
        health.mark_down(exc)
    return JSONResponse(
        error_body(503, "the graph database is unavailable; retry later"),
        status_code=503,
        headers={"Retry-After": str(RETRY_AFTER_UNAVAILABLE)},
    )


async def _database_unavailable(request: Request, exc: Exception) -> JSONResponse:
    return database_unavailable_response(exc, getattr(request.app.state, "db_health", None))


async def _database_busy(_: Request, exc: Exception) -> JSONResponse:
    """A transient database error (a deadlock between two writers) outlasted the retries:
    the request did nothing and can be sent again."""
    log.warning("Neo4j transient error after retries: %s", exc)
    return JSONResponse(
        error_body(503, "the graph database was busy with conflicting writes; nothing was applied, retry"),
        status_code=503,
        headers={"Retry-After": "2"},
    )


async def _database_refused(request: Request, exc: Exception) -> JSONResponse:
    """A read Neo4j stopped at its time limit (see cmdb_server/db.py) is the server's to answer
    for, not a crash: 503 with a pause before retrying. Any other refusal is unexpected."""
    if not timed_out(exc):
        return await _unexpected(request, exc)
    log.warning("a read outran its time limit: %s %s", request.method, request.url.path)
    return JSONResponse(
        error_body(503, f"the query took longer than {QUERY_TIMEOUT.get():g} s and was stopped; retry later"),
        status_code=503,
        headers={"Retry-After": "10"},
    )


async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error", exc_info=exc)
    return JSONResponse(error_body(500, "internal error; the server log has the details"), status_code=500)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(ServiceUnavailable, _database_unavailable)
    app.add_exception_handler(SessionExpired, _database_unavailable)
    app.add_exception_handler(TransientError, _database_busy)
    app.add_exception_handler(ClientError, _database_refused)
    app.add_exception_handler(Exception, _unexpected)
