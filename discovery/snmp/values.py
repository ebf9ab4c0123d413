"""Values of a walk: what the client returns and what the parsers read."""

from __future__ import annotations

from bisect import bisect_left

WalkValue = bytes | int | str
Walk = dict[str, WalkValue]
"""OID (dotted, no leading dot) -> value.

OCTET STRING as bytes, numbers as int, OIDs and IpAddress as text.
"""


def oid_key(oid: str) -> tuple[int, ...]:
    return tuple(int(arc) for arc in oid.split("."))


class IndexedWalk(dict[str, WalkValue]):
    """A walk with its OIDs in text order, where every subtree is one contiguous run.

    A device's parsers read a few hundred columns of a walk of thousands of OIDs; scanning
    the whole walk per column was a tenth of a scan's CPU.
    """

    def __init__(self, walk: Walk) -> None:
        super().__init__(walk)
        self.order = sorted(walk)


def column(walk: Walk, prefix: str) -> dict[str, WalkValue]:
    """A table column: index suffix (dotted) -> value, for every OID under ``prefix``."""
    start = prefix + "."
    if isinstance(walk, IndexedWalk):
        order, found = walk.order, {}
        for position in range(bisect_left(order, start), len(order)):
            oid = order[position]
            if not oid.startswith(start):
                break
            found[oid[len(start) :]] = walk[oid]
        return found
    return {oid[len(start) :]: value for oid, value in walk.items() if oid.startswith(start)}


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
