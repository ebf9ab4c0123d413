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


SECRET_PROPERTIES = frozenset({"token_hash", "revoked_hashes", "secret", "secret_encrypted"})
"""Stored properties that are credentials or protect them: never in an answer or an export."""


class SecretUnreadable(ValueError):
    """A sealed secret none of the configured keys opens (the key was changed or lost)."""


class SecretBox:
    """Secrets the server must use again (webhook signing secrets), encrypted at rest with
    Fernet (AES-128-CBC and HMAC-SHA256) under ``CMDB_SECRET_KEY``, which is kept out of the
    database: a graph export or a database backup then holds only ciphertext.

    The setting may list several keys, comma-separated: the first seals, all open, so a
    key is replaced by putting the new one first; :meth:`needs_reseal` finds what the old
    key sealed, and the server seals it again at start-up.
    """

    def __init__(self, keys: str) -> None:
        from cryptography.fernet import Fernet, MultiFernet

        parsed = [Fernet(key.strip().encode()) for key in keys.split(",") if key.strip()]
        if not parsed:
            raise ValueError("no key")
        self._first = parsed[0]
        self._all = MultiFernet(parsed)

    def seal(self, secret: str) -> str:
        return self._all.encrypt(secret.encode("utf-8")).decode("ascii")

    def open(self, sealed: str, max_age_seconds: int | None = None) -> str:
        """What ``seal`` sealed; SecretUnreadable when no key opens it or, with
        ``max_age_seconds``, when it was sealed longer ago than that."""
        from cryptography.fernet import InvalidToken

        try:
            return self._all.decrypt(sealed.encode("ascii"), ttl=max_age_seconds).decode("utf-8")
        except (InvalidToken, ValueError):
            raise SecretUnreadable("no configured CMDB_SECRET_KEY opens this secret") from None

    def needs_reseal(self, sealed: str) -> bool:
        from cryptography.fernet import InvalidToken

        try:
            self._first.decrypt(sealed.encode("ascii"))
        except (InvalidToken, ValueError):
            return True
        return False


def check_secret_keys(keys: str) -> None:
    """ValueError naming the problem when the setting holds a key Fernet cannot use."""
    try:
        SecretBox(keys)
    except ValueError as exc:
        raise ValueError(
            f"CMDB_SECRET_KEY must be Fernet keys (32 url-safe base64-encoded bytes), comma-separated: {exc}"
        ) from None
