"""FastAPI dependencies shared by the routers, as ``Annotated`` aliases."""

from __future__ import annotations

import json
from typing import Annotated, Any
from urllib.parse import unquote_to_bytes

from fastapi import Depends, Path, Request
from neo4j import AsyncDriver

from cmdb_server.config import Settings
from cmdb_server.db import DatabaseHealth
from cmdb_server.errors import NotReady, Unprocessable
from cmdb_server.repositories.cis import resolve_uid
from schema import Schema


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_driver(request: Request) -> AsyncDriver:
    driver: AsyncDriver = request.app.state.driver
    return driver


def get_schema(request: Request) -> Schema:
    schema: Schema = request.app.state.schema
    return schema


async def require_ready(request: Request) -> None:
    """Refuse API work until the database's constraints are in place, and while the
    database is known to be away (at once: no request waits out the driver's retries)."""
    if not request.app.state.schema_ready:
        raise NotReady("the server is starting: the graph database is not ready yet; retry later")
    health: DatabaseHealth = request.app.state.db_health
    if not health.available:
        raise NotReady("the graph database is unavailable; retry later")


SettingsDep = Annotated[Settings, Depends(get_settings)]
DriverDep = Annotated[AsyncDriver, Depends(get_driver)]
SchemaDep = Annotated[Schema, Depends(get_schema)]


UID_DESCRIPTION = "A CI's uid; the uid of a CI merged into another names that other CI."


async def resolved_uid(
    request: Request, uid: Annotated[str, Path(min_length=1, max_length=100, description=UID_DESCRIPTION)]
) -> str:
    """The uid a path names, after merges: a merged CI's uid keeps naming the CI it became."""
    return await resolve_uid(get_driver(request), get_settings(request).neo4j_database, uid)


CIUid = Annotated[str, Depends(resolved_uid)]


def _first_nul(value: Any, path: str) -> str | None:
    """The path of the first string holding a NUL character in a decoded JSON value."""
    if isinstance(value, str):
        return path if "\x00" in value else None
    if isinstance(value, dict):
        for key, item in value.items():
            found = _first_nul(key, path) or _first_nul(item, f"{path}.{key}" if path else str(key))
            if found is not None:
                return found
    if isinstance(value, list):
        for index, item in enumerate(value):
            found = _first_nul(item, f"{path}[{index}]")
            if found is not None:
                return found
    return None


def _undecodable(raw: bytes) -> str | None:
    """The name of the first query parameter whose percent-decoded value is not UTF-8 (the
    framework would quietly turn it into U+FFFD)."""
    for pair in raw.split(b"&"):
        name, _, value = pair.partition(b"=")
        try:
            unquote_to_bytes(value.replace(b"+", b" ")).decode("utf-8")
        except UnicodeDecodeError:
            return unquote_to_bytes(name).decode("utf-8", "replace")
    return None


async def refuse_nul(request: Request) -> None:
    """No NUL character in a parameter or a declared JSON body: Neo4j, logs and most tools cut
    text there; and no parameter that is not UTF-8 text. (Reports and imports read their
    bodies themselves and check their values.)"""
    try:
        unquote_to_bytes(request.scope.get("raw_path") or b"").decode("utf-8")
    except UnicodeDecodeError:
        raise Unprocessable("the path is not UTF-8 text once percent-decoded", field="path", location="path") from None
    bad = _undecodable(request.scope.get("query_string", b""))
    if bad is not None:
        raise Unprocessable("not UTF-8 text once percent-decoded", field=bad, location="query")
    for location, items in (("path", request.path_params.items()), ("query", request.query_params.multi_items())):
        for name, value in items:
            if "\x00" in str(value):
                raise Unprocessable("NUL characters are not allowed", field=name, location=location)
    route = request.scope.get("route")
    if getattr(route, "body_field", None) is None or request.method not in ("POST", "PUT", "PATCH"):
        return
    body = await request.body()  # kept by the request: FastAPI parses this same copy
    if b"\\u0000" not in body:
        return
    try:
        found = _first_nul(json.loads(body), "")
    except ValueError:
        return  # not JSON: FastAPI says so
    if found is not None:
        raise Unprocessable("NUL characters are not allowed", field=found or "body", location="body")
