"""Which reported values can identify a CI (pure).

A source reports what it has, and some of it identifies nothing: an empty DMI serial that
the firmware fills with "To Be Filled By O.E.M.", the all-zero MAC of a loopback, the
virtual MAC that every router of a VRRP group answers with. Matching on those would
make one CI of many machines. The lists are data, in ``ci_classes.toml`` ([identifiers]).
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

MAC_KEYS = frozenset({"mac", "primary_mac"})


@dataclass(frozen=True)
class IdentifierRules:
    placeholders: frozenset[str]
    shared_mac_prefixes: tuple[str, ...]

    def usable(self, key: str, value: Any) -> bool:
        """Whether ``value`` reported for ``key`` can identify a CI."""
        if value is None:
            return False
        if isinstance(value, str):
            text = value.strip().lower()
            if text in self.placeholders:
                return False
            if key in MAC_KEYS:
                return self.usable_mac(text)
        return True

    def usable_mac(self, mac: str) -> bool:
        """A unicast address of one device: not zero, broadcast or multicast, not a shared virtual MAC."""
        parts = mac.split(":")
        if len(parts) != 6:
            return False
        try:
            first = int(parts[0], 16)
        except ValueError:
            return False
        if first & 1:  # group (multicast, broadcast) address
            return False
        if mac in ("00:00:00:00:00:00",):
            return False
        return not mac.startswith(self.shared_mac_prefixes)


@cache
def identifier_rules() -> IdentifierRules:
    raw = tomllib.loads(resources.files("schema").joinpath("ci_classes.toml").read_text(encoding="utf-8"))
    table = raw.get("identifiers", {})
    return IdentifierRules(
        placeholders=frozenset(str(v).strip().lower() for v in table.get("placeholders", ())),
        shared_mac_prefixes=tuple(str(p).lower() for p in table.get("shared_mac_prefixes", ())),
    )
