"""The web UI's session: the API token a person signed in with, sealed in a cookie.

The cookie holds the token encrypted and authenticated under ``CMDB_SECRET_KEY`` (Fernet,
as webhook secrets are), with a CSRF value and the time it was sealed; every page request
opens it and authenticates the token as the API does (its cache, revocation, throttling),
so the UI has no second idea of who may do what. HttpOnly (no script reads it),
SameSite=Strict (no other site's request carries it), Secure over HTTPS, and every form
carries the CSRF value, checked against the cookie's.
"""

from __future__ import annotations

import hmac
import json
import secrets
from dataclasses import dataclass

from cmdb_server.security import SecretBox, SecretUnreadable

SESSION_COOKIE = "cmdb_session"
SIGN_IN_COOKIE = "cmdb_sign_in"  # the CSRF value of the sign-in form, before there is a session
SESSION_SECONDS = 8 * 3600
"""How long a sign-in lasts (a working day)."""


@dataclass(frozen=True)
class Session:
    token: str
    csrf: str


def new_csrf() -> str:
    return secrets.token_urlsafe(24)


def seal(box: SecretBox, token: str) -> tuple[str, Session]:
    """The cookie value of a new session for ``token``, and the session."""
    session = Session(token=token, csrf=new_csrf())
    return box.seal(json.dumps({"t": session.token, "c": session.csrf})), session


def open_session(box: SecretBox, cookie: str | None) -> Session | None:
    """The session a cookie holds, or None (no cookie, forged, another key's, expired)."""
    if not cookie:
        return None
    try:
        data = json.loads(box.open(cookie, max_age_seconds=SESSION_SECONDS))
        return Session(token=str(data["t"]), csrf=str(data["c"]))
    except (SecretUnreadable, ValueError, KeyError, TypeError):
        return None


def same(expected: str | None, given: str | None) -> bool:
    """A CSRF check in constant time; nothing matches a missing value."""
    return bool(expected) and bool(given) and hmac.compare_digest(str(expected), str(given))
