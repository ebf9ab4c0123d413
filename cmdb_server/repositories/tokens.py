"""API tokens in the graph: ``(:ApiToken)`` nodes holding a hash, never the token itself."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from neo4j import AsyncDriver

from cmdb_server.db import read_query
from cmdb_server.security import generate_token, generate_token_id, hash_token
from schema import Role

BOOTSTRAP_TOKEN_ID = "bootstrap"  # noqa: S105 (an id, not a secret)


@dataclass(frozen=True)
class TokenRecord:
    token_id: str
    name: str
    role: Role
    created_at: datetime
    revoked_at: datetime | None
    # A collector token: the sources it was issued for (cmdb_server/authority.py); None for
    # one issued before source scopes existed.
    sources: tuple[str, ...] | None = None
    bound_ci_uid: str | None = None  # an agent token: the host it reports for
    bound_source: str | None = None  # an agent token: the agent source it speaks for
    bound_inventory_source: str | None = None  # and the inventory agent's source on its host


def _record(node: Any) -> TokenRecord:
    revoked = node.get("revoked_at")
    sources = node.get("sources")
    return TokenRecord(
        token_id=node["token_id"],
        name=node["name"],
        role=Role(node["role"]),
        created_at=node["created_at"].to_native(),
        revoked_at=revoked.to_native() if revoked is not None else None,
        sources=tuple(sources) if sources is not None else None,
        bound_ci_uid=node.get("bound_ci_uid"),
        bound_source=node.get("bound_source"),
        bound_inventory_source=node.get("bound_inventory_source"),
    )


async def create_token(
    driver: AsyncDriver, database: str, role: Role, name: str, sources: tuple[str, ...] | None = None
) -> tuple[TokenRecord, str]:
    """Store a new token of ``role`` and return its record and the token, shown only this once.

    ``sources``: for a collector token, the source patterns it may speak for (required).
    """
    if role is Role.COLLECTOR and not sources:
        raise ValueError("a collector token is issued for its sources: give at least one KIND:NAME pattern")
    token = generate_token()
    records, _, _ = await driver.execute_query(
        """
        CREATE (t:ApiToken {token_id: $token_id, token_hash: $token_hash, role: $role,
                            name: $name, created_at: $now, sources: $sources})
        RETURN t
        """,
        token_id=generate_token_id(),
        token_hash=hash_token(token),
        role=role.value,
        name=name,
        now=datetime.now(UTC),
        sources=list(sources) if role is Role.COLLECTOR and sources else None,
        database_=database,
    )
    return _record(records[0]["t"]), token


@dataclass(frozen=True)
class BootstrapState:
    revoked: bool  # the configured value was revoked (now or earlier): it is not accepted
    other_admins: int  # active admin tokens besides the bootstrap one


async def ensure_bootstrap_token(driver: AsyncDriver, database: str, token: str) -> BootstrapState:
    """Make ``token`` the bootstrap admin token, replacing an earlier bootstrap value.

    A revocation stands: a value once revoked (``cmdb-server token revoke bootstrap``) stays
    refused when the server starts again with it, because the node keeps the hashes of
    revoked values. A new value is accepted until it is revoked in turn.
    """
    records, _, _ = await driver.execute_query(
        """
        OPTIONAL MATCH (old:ApiToken {token_id: $token_id})
        WITH old IS NOT NULL AND old.revoked_at IS NOT NULL AS was_revoked, old.token_hash AS old_hash
        MERGE (t:ApiToken {token_id: $token_id})
        ON CREATE SET t.created_at = $now
        WITH t, was_revoked, old_hash,
             coalesce(t.revoked_hashes, [])
             + CASE WHEN was_revoked AND old_hash <> $token_hash THEN [old_hash] ELSE [] END AS revoked
        SET t.token_hash = $token_hash, t.role = $role, t.name = 'bootstrap admin (environment)',
            t.revoked_hashes = revoked,
            t.revoked_at = CASE WHEN $token_hash IN revoked OR (was_revoked AND old_hash = $token_hash)
                                THEN coalesce(t.revoked_at, $now) END
        WITH t
        OPTIONAL MATCH (other:ApiToken {role: $role})
        WHERE other.token_id <> $token_id AND other.revoked_at IS NULL
        RETURN t.revoked_at IS NOT NULL AS revoked, count(other) AS other_admins
        """,
        token_id=BOOTSTRAP_TOKEN_ID,
        token_hash=hash_token(token),
        role=Role.ADMIN.value,
        now=datetime.now(UTC),
        database_=database,
    )
    return BootstrapState(revoked=records[0]["revoked"], other_admins=records[0]["other_admins"])


async def find_active_token(driver: AsyncDriver, database: str, token: str) -> TokenRecord | None:
    records, _, _ = await driver.execute_query(
        read_query("MATCH (t:ApiToken {token_hash: $token_hash}) WHERE t.revoked_at IS NULL RETURN t"),
        token_hash=hash_token(token),
        database_=database,
        routing_="r",
    )
    return _record(records[0]["t"]) if records else None


async def list_tokens(driver: AsyncDriver, database: str) -> list[TokenRecord]:
    records, _, _ = await driver.execute_query(
        read_query("MATCH (t:ApiToken) RETURN t ORDER BY t.created_at"), database_=database, routing_="r"
    )
    return [_record(r["t"]) for r in records]


async def revoke_token(driver: AsyncDriver, database: str, token_id: str) -> bool:
    """Revoke a token by id; False when no active token has that id. A revoked agent token
    lets go of its host and source, so the host's next agent token can take them."""
    records, _, _ = await driver.execute_query(
        """
        MATCH (t:ApiToken {token_id: $token_id}) WHERE t.revoked_at IS NULL
        SET t.revoked_at = $now, t.was_bound_to = t.bound_ci_uid, t.bound_ci_uid = null, t.bound_source = null,
            t.bound_inventory_source = null
        RETURN t.token_id AS token_id
        """,
        token_id=token_id,
        now=datetime.now(UTC),
        database_=database,
    )
    return bool(records)


async def unbind_token(driver: AsyncDriver, database: str, token_id: str) -> bool:
    """Free an agent token's host and source (an admin's act: the host's agent was
    reinstalled with a new token); the token binds again at its next report. False when no
    active agent token has that id."""
    records, _, _ = await driver.execute_query(
        """
        MATCH (t:ApiToken {token_id: $token_id}) WHERE t.revoked_at IS NULL AND t.role = 'agent'
        SET t.bound_ci_uid = null, t.bound_source = null, t.bound_inventory_source = null
        RETURN t.token_id AS token_id
        """,
        token_id=token_id,
        database_=database,
    )
    return bool(records)
