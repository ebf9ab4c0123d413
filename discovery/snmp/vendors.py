"""Vendor and model from sysObjectID, as data (vendors.toml) plus small per-vendor overrides.

An override names the extra scalars it needs (read with the system group) and fills in
what the standard MIBs left out, e.g. Juniper keeps the chassis serial in JUNIPER-MIB and
MikroTik its serial, board and RouterOS version in MIKROTIK-MIB. The OIDs are checked
against the vendors' MIB files (see tests/fixtures/snmp/SOURCES.md).
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

from discovery.snmp import oids
from discovery.snmp.values import Walk, column, text

DESCR_FACTS = ("version", "model", "kernel", "architecture")
"""The facts a vendor's `sysdescr` patterns may find in sysDescr."""


@dataclass(frozen=True)
class Vendor:
    number: int
    name: str
    agent: bool = False
    os: str | None = None
    os_when: tuple[tuple[str, str], ...] = ()
    sysdescr: dict[str, str] = field(default_factory=dict)
    device_class: str | None = None
    classes: tuple[tuple[str, str], ...] = ()
    models: dict[str, dict[str, str]] = field(default_factory=dict)

    @property
    def manufacturer(self) -> str | None:
        """The hardware maker, which an OS agent's enterprise (Net-SNMP, Microsoft) does not name."""
        return None if self.agent else self.name

    def model_of(self, sys_object_id: str | None) -> dict[str, str]:
        """The model entry for an exact sysObjectID, else for the longest matching prefix."""
        if not sys_object_id:
            return {}
        if sys_object_id in self.models:
            return self.models[sys_object_id]
        prefixes = [p for p in self.models if p.endswith(".") and sys_object_id.startswith(p)]
        return self.models[max(prefixes, key=len)] if prefixes else {}

    def from_descr(self, sys_descr: str | None) -> dict[str, str]:
        """The facts the vendor's patterns find in sysDescr (first matching group of each)."""
        found: dict[str, str] = {}
        if not sys_descr:
            return found
        for fact, pattern in self.sysdescr.items():
            match = re.search(pattern, sys_descr, re.MULTILINE)
            value = next((g for g in match.groups() if g), None) if match else None
            if value:
                found[fact] = value.strip().rstrip(",")
        return found

    def os_name(self, sys_descr: str | None) -> str | None:
        for pattern, name in self.os_when:
            if sys_descr and re.search(pattern, sys_descr):
                return name
        return self.os

    def class_of(self, model: str | None, sys_descr: str | None) -> str | None:
        """The class the vendor's name patterns give the model (or, failing it, sysDescr)."""
        for candidate in (model, sys_descr):
            if not candidate:
                continue
            for pattern, device_class in self.classes:
                if re.search(pattern, candidate, re.IGNORECASE | re.MULTILINE):
                    return device_class
        return None


@cache
def vendors() -> dict[int, Vendor]:
    raw = tomllib.loads(resources.files("discovery.snmp").joinpath("vendors.toml").read_text(encoding="utf-8"))
    return {
        int(number): Vendor(
            number=int(number),
            name=entry["name"],
            agent=bool(entry.get("agent", False)),
            os=entry.get("os"),
            os_when=tuple((p, n) for p, n in entry.get("os_when", ())),
            sysdescr={k: v for k, v in entry.get("sysdescr", {}).items() if k in DESCR_FACTS},
            device_class=entry.get("class"),
            classes=tuple((p, c) for p, c in entry.get("classes", ())),
            models=dict(entry.get("models", {})),
        )
        for number, entry in raw["vendors"].items()
    }


@dataclass(frozen=True)
class Override:
    scalars: tuple[str, ...]
    apply: Callable[[Walk, dict[str, Any]], None]


# JUNIPER-MIB jnxBox group
JNX_BOX_DESCR = "1.3.6.1.4.1.2636.3.1.2.0"
JNX_BOX_SERIAL_NO = "1.3.6.1.4.1.2636.3.1.3.0"
# MIKROTIK-MIB: mtxrLicense (4) and mtxrSystem (7) groups
MTXR_LIC_VERSION = "1.3.6.1.4.1.14988.1.1.4.4.0"  # the RouterOS version
MTXR_SERIAL_NUMBER = "1.3.6.1.4.1.14988.1.1.7.3.0"
MTXR_FIRMWARE_VERSION = "1.3.6.1.4.1.14988.1.1.7.4.0"  # RouterBOOT, not RouterOS
MTXR_BOARD_NAME = "1.3.6.1.4.1.14988.1.1.7.9.0"
# FORTINET-CORE-MIB fnSysSerial, FORTINET-FORTIGATE-MIB fgSysVersion
FN_SYS_SERIAL = "1.3.6.1.4.1.12356.100.1.1.1.0"
FG_SYS_VERSION = "1.3.6.1.4.1.12356.101.4.1.1.0"


def _juniper(walk: Walk, device: dict[str, Any]) -> None:
    """Junos gives a part number (710-030012) as entPhysicalModelName: the box's name is the model."""
    device["serial"] = device.get("serial") or text(walk.get(JNX_BOX_SERIAL_NO))
    box = text(walk.get(JNX_BOX_DESCR))  # "Juniper QFX5100-48S-6Q Switch", "QFX5130-32CD"
    named = re.search(r"\b([A-Z]{2,4}[0-9]{2,5}[A-Z0-9-]*)", box or "")
    device["model"] = device.get("object_model") or (named.group(1) if named else box) or device.get("model")


def _mikrotik(walk: Walk, device: dict[str, Any]) -> None:
    """RouterOS's only chassis entity reads "RouterOS 7.1.1 (stable) on RB760iGS"."""
    chassis_descr = device.get("chassis_descr") or ""
    on_board = re.search(r" on (\S+)$", chassis_descr)
    in_descr = re.match(r"RouterOS ([0-9]\S*)", chassis_descr)
    device["model"] = text(walk.get(MTXR_BOARD_NAME)) or device.get("model") or (on_board and on_board.group(1))
    device["serial"] = text(walk.get(MTXR_SERIAL_NUMBER)) or device.get("serial")
    device["os_version"] = text(walk.get(MTXR_LIC_VERSION)) or (in_descr and in_descr.group(1)) or None
    device["firmware"] = text(walk.get(MTXR_FIRMWARE_VERSION)) or device.get("firmware")


def _fortinet(walk: Walk, device: dict[str, Any]) -> None:
    """FortiOS names the base entity "Fortinet FGT_60F, HW Serial#: FGT60F...", and some builds
    leave its class out, so the chassis is not found by class: read the first entity's text."""
    descr = text(column(walk, oids.ENT_PHYSICAL_DESCR).get("1")) or ""
    described = re.match(r"Fortinet (\S+?),? HW Serial#: (\S+)", descr)
    device["serial"] = device.get("serial") or text(walk.get(FN_SYS_SERIAL)) or (described and described.group(2))
    device["model"] = device.get("model") or (described and described.group(1)) or None
    device["os_version"] = text(walk.get(FG_SYS_VERSION)) or device.get("os_version")


OVERRIDES: dict[int, Override] = {
    2636: Override(scalars=(JNX_BOX_DESCR, JNX_BOX_SERIAL_NO), apply=_juniper),
    14988: Override(
        scalars=(MTXR_LIC_VERSION, MTXR_SERIAL_NUMBER, MTXR_FIRMWARE_VERSION, MTXR_BOARD_NAME), apply=_mikrotik
    ),
    12356: Override(scalars=(FN_SYS_SERIAL, FG_SYS_VERSION), apply=_fortinet),
}


def extra_scalars(enterprise: int | None) -> tuple[str, ...]:
    override = OVERRIDES.get(enterprise) if enterprise is not None else None
    return override.scalars if override else ()
