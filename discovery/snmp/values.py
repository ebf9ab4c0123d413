"""Values of a walk: what the client returns and what the parsers read."""

from __future__ import annotations

from collections.abc import Iterator

WalkValue = bytes | int | str
Walk = dict[str, WalkValue]
"""OID (dotted, no leading dot) -> value.

OCTET STRING as bytes, numbers as int, OIDs and IpAddress as text.
"""


def oid_key(oid: str) -> tuple[int, ...]:
    return tuple(int(arc) for arc in oid.split("."))


def column(walk: Walk, prefix: str) -> dict[str, WalkValue]:
    """A table column: index suffix (dotted) -> value, for every OID under ``prefix``."""
    start = prefix + "."
    return {oid[len(start) :]: value for oid, value in walk.items() if oid.startswith(start)}


def subtree(walk: Walk, prefix: str) -> Iterator[tuple[str, WalkValue]]:
    start = prefix + "."
    for oid, value in walk.items():
        if oid.startswith(start) or oid == prefix:
            yield oid, value


def text(value: WalkValue | None) -> str | None:
    """An OCTET STRING as text: UTF-8, else Latin-1, stripped of NULs and surrounding space."""
    if value is None:
        return None
    if isinstance(value, bytes):
        try:
            decoded = value.decode("utf-8")
        except UnicodeDecodeError:
            decoded = value.decode("latin-1")
        decoded = decoded.replace("\x00", "").strip().strip('"').strip()
        return decoded or None
    return str(value).strip() or None


def mac(value: WalkValue | None) -> str | None:
    """Six raw octets as aa:bb:cc:dd:ee:ff; empty or all-zero octets are no address."""
    if not isinstance(value, bytes) or len(value) != 6 or not any(value):
        return None
    return ":".join(f"{b:02x}" for b in value)


def integer(value: WalkValue | None) -> int | None:
    return value if isinstance(value, int) else None
