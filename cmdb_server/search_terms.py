"""What an engineer pastes into a search box, as a full-text (Lucene) query.

People paste what they have: ``52:54:00:ab:cd:ef`` or ``5254.00ab.cdef``, ``10.0.0.5/24``,
``fe80::1``, ``web1.example.com``, a serial. In Lucene syntax a colon names a field and a
slash starts a regular expression, so those would be refused or mean something else. A
value that is an identifier (a MAC in any usual spelling, an IP address with or without a
prefix length, or any single word holding Lucene's special characters) becomes a phrase
of its canonical form, which the index's analyser splits exactly as it split the stored
value; anything else (words, ``AND``/``OR``, quotes, wildcards) stays Lucene syntax.
"""

from __future__ import annotations

import ipaddress
import re

_MAC_PATTERNS = (
    re.compile(r"^([0-9a-f]{2})[:-]([0-9a-f]{2})[:-]([0-9a-f]{2})[:-]([0-9a-f]{2})[:-]([0-9a-f]{2})[:-]([0-9a-f]{2})$"),
    re.compile(r"^([0-9a-f]{2})([0-9a-f]{2})\.([0-9a-f]{2})([0-9a-f]{2})\.([0-9a-f]{2})([0-9a-f]{2})$"),  # Cisco
    re.compile(r"^([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$"),
)
_LUCENE_SPECIAL = set('+-&|!(){}[]^"~*?:\\/')
_OPERATOR_WORDS = {"AND", "OR", "NOT", "TO"}


def canonical_mac(text: str) -> str | None:
    """``aa:bb:cc:dd:ee:ff`` for a MAC written with colons, dashes, Cisco dots or nothing."""
    lowered = text.strip().lower()
    for pattern in _MAC_PATTERNS:
        found = pattern.match(lowered)
        if found:
            return ":".join(found.groups())
    return None


def canonical_address(text: str) -> str | None:
    """The canonical text of an IP address (``10.0.0.5/24`` → ``10.0.0.5``), or None."""
    value = text.strip().split("%", 1)[0]
    if "/" in value:
        value = value.split("/", 1)[0]
    if not value or not any(c in value for c in ".:"):
        return None
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        return None


def _phrase(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def full_text_query(text: str, fields: frozenset[str] = frozenset()) -> str:
    """The Lucene query for what was typed or pasted (see the module's docstring); ``fields``
    are the index's properties, so that ``hostname:web1`` keeps its Lucene meaning."""
    stripped = text.strip()
    if not stripped or any(c.isspace() for c in stripped):
        return text  # words: Lucene syntax as written
    mac = canonical_mac(stripped)
    if mac is not None and not stripped.isdigit():
        if re.fullmatch(r"[0-9a-fA-F]{12}", stripped):
            return f"{_phrase(mac)} OR {stripped}"  # twelve hex digits: a MAC, or a serial
        return _phrase(mac)
    address = canonical_address(stripped)
    if address is not None:
        return _phrase(address)
    field, colon, rest = stripped.partition(":")
    if colon and field in fields and rest:
        return text  # field:value, Lucene's own syntax
    if stripped.upper() in _OPERATOR_WORDS:
        return _phrase(stripped)
    body = stripped.rstrip("*?")  # a trailing wildcard is a prefix search the user meant
    if any(c in _LUCENE_SPECIAL for c in body) and not (stripped.startswith('"') and stripped.endswith('"')):
        return _phrase(stripped)
    return text
