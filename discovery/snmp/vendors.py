"""Vendor and model from sysObjectID, as data (vendors.toml) plus small per-vendor overrides.

An override names the extra scalars it needs (read with the system group) and fills in
what the standard MIBs left out, e.g. Juniper keeps the chassis serial in JUNIPER-MIB.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

from discovery.snmp.values import Walk, text


@dataclass(frozen=True)
class Vendor:
    number: int
    name: str
    firmware_pattern: str | None = None
    models: dict[str, dict[str, str]] = field(default_factory=dict)
    host: bool = False

    def model_of(self, sys_object_id: str | None) -> dict[str, str]:
        """The model entry for an exact sysObjectID, else for the longest matching prefix."""
        if not sys_object_id:
            return {}
        if sys_object_id in self.models:
            return self.models[sys_object_id]
        prefixes = [p for p in self.models if p.endswith(".") and sys_object_id.startswith(p)]
        return self.models[max(prefixes, key=len)] if prefixes else {}

    def firmware_from(self, sys_descr: str | None) -> str | None:
        if not self.firmware_pattern or not sys_descr:
            return None
        match = re.search(self.firmware_pattern, sys_descr)
        return match.group(1).rstrip(",") if match else None


@cache
def vendors() -> dict[int, Vendor]:
    raw = tomllib.loads(resources.files("discovery.snmp").joinpath("vendors.toml").read_text(encoding="utf-8"))
    return {
        int(number): Vendor(
            number=int(number),
            name=entry["name"],
            firmware_pattern=entry.get("firmware"),
            models=dict(entry.get("models", {})),
            host=bool(entry.get("host", False)),
        )
        for number, entry in raw["vendors"].items()
    }


@dataclass(frozen=True)
class Override:
    scalars: tuple[str, ...]
    apply: Callable[[Walk, dict[str, Any]], None]


def _juniper(walk: Walk, device: dict[str, Any]) -> None:
    device["serial"] = device.get("serial") or text(walk.get("1.3.6.1.4.1.2636.3.1.3.0"))  # jnxBoxSerialNo
    device["model"] = device.get("model") or text(walk.get("1.3.6.1.4.1.2636.3.1.2.0"))  # jnxBoxDescr


OVERRIDES: dict[int, Override] = {
    2636: Override(scalars=("1.3.6.1.4.1.2636.3.1.2.0", "1.3.6.1.4.1.2636.3.1.3.0"), apply=_juniper),
}


def extra_scalars(enterprise: int | None) -> tuple[str, ...]:
    override = OVERRIDES.get(enterprise) if enterprise is not None else None
    return override.scalars if override else ()
