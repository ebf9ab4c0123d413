"""API tokens: how they are made and how they are stored.

A token is 256 random bits, so a single SHA-256 of it is enough to store it safely and
lets the server find it by its hash in one indexed look-up; a slow password hash would
add cost to every request and no protection.
"""

from __future__ import annotations

import hashlib
import secrets

TOKEN_PREFIX = "cmdb_"  # noqa: S105 (a prefix, not a secret)


def generate_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def generate_token_id() -> str:
    return secrets.token_hex(8)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()
