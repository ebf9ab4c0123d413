"""Bearer-token authentication and role checks for the API.

The token is checked by :class:`AuthenticateApi`, a middleware in front of every
``/api/v1`` route, so a request without a valid token is answered 401 before its body is
read or parsed; the route's dependencies then only check the role. Failed checks are
counted per client address (:class:`AuthFailures`): past ``CMDB_AUTH_FAILURE_LIMIT`` in
the window, each further failure is answered 429 with Retry-After after a short delay,
while valid tokens from the same address go through undelayed.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from fastapi.security.utils import get_authorization_scheme_param
from neo4j.exceptions import Neo4jError, ServiceUnavailable, SessionExpired
from starlette.types import ASGIApp, Receive, Scope, Send

from cmdb_server.errors import (
    ApiError,
    Forbidden,
    NotReady,
    TooManyRequests,
    Unauthorized,
    api_error_response,
    database_unavailable_response,
)
from cmdb_server.repositories import tokens
from cmdb_server.security import hash_token
from schema import Capability, Role

PRINCIPAL_SCOPE_KEY = "cmdb.principal"

_bearer = HTTPBearer(auto_error=False, description="An API token: `Authorization: Bearer cmdb_...`")


@dataclass(frozen=True)
class Principal:
    """Who is calling: the token's id, name and role (and a collector's sources: authority.py)."""

    token_id: str
    name: str
    role: Role
    sources: tuple[str, ...] | None = None


class TokenCache:
    """Tokens verified in the last few seconds, by their hash: agents report every few
    minutes each, and a fleet's worth of token look-ups was a database read per report.
    Only valid tokens are kept; a revocation takes effect once the entry expires."""

    def __init__(self, ttl_seconds: float, max_entries: int = 10_000) -> None:
        self.ttl = ttl_seconds
        self.max_entries = max_entries
        self._entries: dict[str, tuple[float, Principal]] = {}

    def get(self, token: str) -> Principal | None:
        entry = self._entries.get(hash_token(token))
        if entry is None or entry[0] < time.monotonic():
            return None
        return entry[1]

    def put(self, token: str, principal: Principal) -> None:
        if self.ttl <= 0:
            return
        if len(self._entries) >= self.max_entries:
            now = time.monotonic()
            self._entries = {k: v for k, v in self._entries.items() if v[0] >= now}
            if len(self._entries) >= self.max_entries:
                self._entries.clear()
        self._entries[hash_token(token)] = (time.monotonic() + self.ttl, principal)


class AuthFailures:
    """Failed token checks per client address within a sliding window, in memory (per
    server process): enough to slow a guesser down without a shared store. The table is
    bounded; when full, clients with no failure left in the window are dropped first."""

    def __init__(self, limit: int, window_seconds: float, max_clients: int = 10_000) -> None:
        self.limit = limit
        self.window = window_seconds
        self.max_clients = max_clients
        self._failures: dict[str, deque[float]] = {}

    def _recent(self, client: str, now: float) -> deque[float]:
        times = self._failures.get(client)
        if times is None:
            return deque()
        while times and times[0] <= now - self.window:
            times.popleft()
        if not times:
            del self._failures[client]
        return times

    def record(self, client: str) -> int:
        """Count one failure; how many this client has had within the window."""
        now = time.monotonic()
        times = self._recent(client, now)
        if client not in self._failures:
            if len(self._failures) >= self.max_clients:
                self._failures = {k: v for k, v in self._failures.items() if v and v[-1] > now - self.window}
                if len(self._failures) >= self.max_clients:
                    self._failures.clear()
            self._failures[client] = times
        times.append(now)
        if len(times) > self.limit * 2:  # older entries past twice the limit change no answer
            times.popleft()
        return len(times)

    def retry_after(self, client: str) -> int:
        """Whole seconds until the client is back under the limit."""
        now = time.monotonic()
        times = self._recent(client, now)
        if len(times) < self.limit:
            return 0
        return max(1, math.ceil(times[-self.limit] + self.window - now))


async def authenticate(state: Any, authorization: str | None, client: str) -> Principal:
    """The principal of an ``Authorization: Bearer`` header, or Unauthorized; a client past
    the failure limit gets TooManyRequests (after the configured delay) instead."""
    scheme, token = get_authorization_scheme_param(authorization)
    if not authorization:
        raise Unauthorized("missing bearer token: send 'Authorization: Bearer <token>'")
    well_formed = scheme.lower() == "bearer" and bool(token)
    principal = await principal_of_token(state, token if well_formed else None, client)
    if principal is not None:
        return principal
    if not well_formed:
        raise Unauthorized("malformed Authorization header: send 'Authorization: Bearer <token>'")
    raise Unauthorized("invalid or revoked token")


async def principal_of_token(state: Any, token: str | None, client: str) -> Principal | None:
    """The principal of an API token, whatever carried it (a bearer header; the password of an
    inventory agent's Basic credentials); None for an invalid, revoked or missing one, which is
    counted against ``client``: past the failure limit, TooManyRequests after the delay."""
    if token:
        cache: TokenCache = state.token_cache
        principal = cache.get(token)
        if principal is not None:
            return principal
        record = await tokens.find_active_token(state.driver, state.settings.neo4j_database, token)
        if record is not None:
            principal = Principal(token_id=record.token_id, name=record.name, role=record.role, sources=record.sources)
            cache.put(token, principal)
            return principal
    failures: AuthFailures = state.auth_failures
    if failures.record(client) > failures.limit:
        await asyncio.sleep(state.settings.auth_failure_delay_seconds)
        raise TooManyRequests(
            f"too many failed token checks from {client}; wait before trying again",
            retry_after=failures.retry_after(client),
        )
    return None


class AuthenticateApi:
    """Pure ASGI middleware: checks the bearer token of every request under ``prefix``
    before the route runs (so before its body is parsed), and hands the principal on in
    the ASGI scope. Probes and the OpenAPI pages stay open."""

    def __init__(self, app: ASGIApp, prefix: str) -> None:
        self.app = app
        self.prefix = prefix.rstrip("/")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope.get("path", "")
        if scope["type"] != "http" or not (path == self.prefix or path.startswith(self.prefix + "/")):
            await self.app(scope, receive, send)
            return
        state = scope["app"].state
        headers = dict(scope.get("headers") or [])
        authorization = headers.get(b"authorization", b"").decode("latin-1") or None
        client = scope["client"][0] if scope.get("client") else "unknown"
        try:
            if not state.schema_ready:
                raise NotReady("the server is starting: the graph database is not ready yet; retry later")
            if not state.db_health.available:  # at once, not after a token look-up's retries
                raise NotReady("the graph database is unavailable; retry later")
            scope[PRINCIPAL_SCOPE_KEY] = await authenticate(state, authorization, client)
        except ApiError as exc:
            await api_error_response(exc)(scope, receive, send)
            return
        except (ServiceUnavailable, SessionExpired, Neo4jError, OSError) as exc:
            await database_unavailable_response(exc, state.db_health)(scope, receive, send)
            return
        await self.app(scope, receive, send)


async def current_principal(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    """The caller, as the middleware found it (``credentials`` declares the scheme in the
    OpenAPI); checked here too for a route mounted outside the middleware's prefix."""
    principal = request.scope.get(PRINCIPAL_SCOPE_KEY)
    if isinstance(principal, Principal):
        return principal
    client = request.client.host if request.client else "unknown"
    return await authenticate(request.app.state, request.headers.get("authorization"), client)


def require_roles(*roles: Role) -> Callable[..., Awaitable[Principal]]:
    """A dependency that admits only tokens of these roles (403 for the others)."""
    allowed = frozenset(roles)

    async def check(principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
        if principal.role not in allowed:
            names = ", ".join(sorted(r.value for r in allowed))
            raise Forbidden(f"role '{principal.role.value}' may not do this; allowed: {names}")
        return principal

    return check


_PEOPLE = frozenset({Role.ADMIN, Role.ENGINEER, Role.CHANGE_MANAGER})
CAPABILITIES: dict[Capability, frozenset[Role]] = {
    Capability.READ: _PEOPLE | {Role.VIEWER},
    Capability.CURATE: frozenset({Role.ADMIN, Role.ENGINEER}),
    Capability.REQUEST_CHANGE: _PEOPLE,
    Capability.MANAGE_CHANGE: frozenset({Role.ADMIN, Role.CHANGE_MANAGER}),
    Capability.RESPOND_INCIDENT: _PEOPLE,
    Capability.MANAGE_RELEASE: _PEOPLE,
    Capability.ADMINISTER: frozenset({Role.ADMIN}),
}
"""Which roles may do what: the API's role checks and the web UI's write buttons both read
this table, so a button shows exactly when the server would accept what it sends. A
``viewer`` reads everything and may change nothing."""


def may(role: Role, capability: Capability) -> bool:
    return role in CAPABILITIES[capability]


def require(capability: Capability) -> Callable[..., Awaitable[Principal]]:
    """A dependency that admits only the roles that have ``capability``."""
    return require_roles(*sorted(CAPABILITIES[capability]))


READ_ROLES = tuple(sorted(CAPABILITIES[Capability.READ]))

Reader = Annotated[Principal, Depends(require(Capability.READ))]
"""People who read the record: admins, engineers, change managers, viewers (not agents or collectors)."""

CURATOR_ROLES = tuple(sorted(CAPABILITIES[Capability.CURATE]))

Curator = Annotated[Principal, Depends(require(Capability.CURATE))]
"""People who may declare CIs and relationships by hand: admins and engineers."""

Admin = Annotated[Principal, Depends(require(Capability.ADMINISTER))]
"""Admins only: webhooks, the graph backup."""
