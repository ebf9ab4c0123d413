"""Bearer-token authentication and role checks for the API."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from cmdb_server.errors import Forbidden, Unauthorized
from cmdb_server.repositories import tokens
from cmdb_server.security import hash_token
from schema import Role

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


async def current_principal(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    if credentials is None or not credentials.credentials:
        raise Unauthorized("missing bearer token: send 'Authorization: Bearer <token>'")
    state = request.app.state
    cache: TokenCache = state.token_cache
    principal = cache.get(credentials.credentials)
    if principal is not None:
        return principal
    record = await tokens.find_active_token(state.driver, state.settings.neo4j_database, credentials.credentials)
    if record is None:
        raise Unauthorized("invalid or revoked token")
    principal = Principal(token_id=record.token_id, name=record.name, role=record.role, sources=record.sources)
    cache.put(credentials.credentials, principal)
    return principal


def require_roles(*roles: Role) -> Callable[..., Awaitable[Principal]]:
    """A dependency that admits only tokens of these roles (403 for the others)."""
    allowed = frozenset(roles)

    async def check(principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
        if principal.role not in allowed:
            names = ", ".join(sorted(r.value for r in allowed))
            raise Forbidden(f"role '{principal.role.value}' may not do this; allowed: {names}")
        return principal

    return check


READ_ROLES = (Role.ADMIN, Role.ENGINEER, Role.CHANGE_MANAGER)

Reader = Annotated[Principal, Depends(require_roles(*READ_ROLES))]
"""People who read the record: admins, engineers, change managers (not agents or collectors)."""

CURATOR_ROLES = (Role.ADMIN, Role.ENGINEER)

Curator = Annotated[Principal, Depends(require_roles(*CURATOR_ROLES))]
"""People who may declare CIs and relationships by hand: admins and engineers."""

Admin = Annotated[Principal, Depends(require_roles(Role.ADMIN))]
"""Admins only: webhooks, the graph backup."""
