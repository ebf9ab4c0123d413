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


def _record(node: Any) -> TokenRecord:
    revoked = node.get("revoked_at")
    return TokenRecord(
        token_id=node["token_id"],
        name=node["name"],
        role=Role(node["role"]),
        created_at=node["created_at"].to_native(),
        revoked_at=revoked.to_native() if revoked is not None else None,
    )


async def create_token(driver: AsyncDriver, database: str, role: Role, name: str) -> tuple[TokenRecord, str]:
    """Store a new token of ``role`` and return its record and the token, shown only this once."""
    token = generate_token()
    records, _, _ = await driver.execute_query(
        """
        CREATE (t:ApiToken {token_id: $token_id, token_hash: $token_hash, role: $role,
                            name: $name, created_at: $now})
        RETURN t
        """,
        token_id=generate_token_id(),
        token_hash=hash_token(token),
        role=role.value,
        name=name,
        now=datetime.now(UTC),
        database_=database,
    )
    return _record(records[0]["t"]), token


async def ensure_bootstrap_token(driver: AsyncDriver, database: str, token: str) -> None:
    """Make ``token`` the bootstrap admin token, replacing an earlier bootstrap token."""
    await driver.execute_query(
        """
        MERGE (t:ApiToken {token_id: $token_id})
        ON CREATE SET t.created_at = $now
        SET t.token_hash = $token_hash, t.role = $role, t.name = 'bootstrap admin (environment)',
            t.revoked_at = null
        """,
        token_id=BOOTSTRAP_TOKEN_ID,
        token_hash=hash_token(token),
        role=Role.ADMIN.value,
        now=datetime.now(UTC),
        database_=database,
    )


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
    """Revoke a token by id; False when no active token has that id."""
    records, _, _ = await driver.execute_query(
        """
        MATCH (t:ApiToken {token_id: $token_id}) WHERE t.revoked_at IS NULL
        SET t.revoked_at = $now
        RETURN t.token_id AS token_id
        """,
        token_id=token_id,
        now=datetime.now(UTC),
        database_=database,
    )
    return bool(records)
