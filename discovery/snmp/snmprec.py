"""Reading snmpsim recordings (``.snmprec``: ``oid|type|value`` lines) into walk values.

The same values the live client returns: OCTET STRING as bytes, numbers as int, OIDs and
IP addresses as dotted text. Lets parsers be tested on recordings of real devices.
"""

from __future__ import annotations

import bz2
from pathlib import Path

from discovery.snmp.values import Walk

_INTEGER_TYPES = {"2", "65", "66", "67", "70"}


def parse_snmprec(text: str) -> Walk:
    walk: Walk = {}
    for line in text.splitlines():
        parts = line.split("|", 2)
        if len(parts) != 3:
            continue
        oid, kind, value = parts
        if kind == "4":
            walk[oid] = value.encode("utf-8")
        elif kind == "4x":
            try:
                walk[oid] = bytes.fromhex(value)
            except ValueError:
                continue  # anonymised recordings replace octets with letters (346288XXYYZZ): no value
        elif kind in _INTEGER_TYPES:
            walk[oid] = int(value)
        elif kind in ("6", "64"):
            walk[oid] = value
        elif kind == "64x":
            try:
                walk[oid] = ".".join(str(b) for b in bytes.fromhex(value))
            except ValueError:
                continue
    return walk


def load_snmprec(path: str | Path) -> Walk:
    path = Path(path)
    raw = path.read_bytes()
    if path.suffix == ".bz2":
        raw = bz2.decompress(raw)
    return parse_snmprec(raw.decode("utf-8", errors="replace"))
