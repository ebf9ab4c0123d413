"""What a device is and runs: vendor, model, serial, OS name and version, and its CI class (pure).

Each fact is taken from the first source that has it:
- vendor: the sysObjectID enterprise (vendors.toml), else ENTITY-MIB entPhysicalMfgName;
  never an OS agent's enterprise (Net-SNMP, Microsoft name the software, not the maker).
- model: the vendor's MIB (override), else the chassis entPhysicalModelName, else the
  vendor's sysDescr pattern, else the sysObjectID entry, else a chassis entPhysicalDescr
  that reads as a model name.
- serial: the chassis entPhysicalSerialNum, else the vendor's MIB.
- os_name: the sysObjectID entry, else the vendor's `os_when` / `os`.
- os_version: the vendor's MIB, else the vendor's sysDescr pattern, else the chassis
  entPhysicalSoftwareRev. firmware: the chassis entPhysicalFirmwareRev or the vendor's MIB
  (a boot loader's version, where the device tells it apart from the OS's).
- kernel, architecture: the vendor's sysDescr patterns (Net-SNMP's "Linux web1 6.1.0-28-amd64 ...").
These facts are the same whatever class the device gets (see classify.py).
"""

from __future__ import annotations

import re
from typing import Any

from discovery.snmp import oids, parsers
from discovery.snmp.classify import Evidence, classify
from discovery.snmp.values import Walk, WalkValue
from discovery.snmp.vendors import OVERRIDES, vendors
from schema.identifiers import identifier_rules

FACT_KEYS = ("vendor", "model", "serial", "os_name", "os_version", "firmware", "kernel", "architecture")


def identify(walk: Walk, system: dict[str, Any]) -> dict[str, Any]:
    """The device's facts (``FACT_KEYS``), its enterprise number and its CI class."""
    sys_object_id, sys_descr = system["sys_object_id"], system["sys_descr"]
    enterprise = parsers.enterprise_number(sys_object_id)
    vendor = vendors().get(enterprise) if enterprise is not None else None
    chassis = parsers.parse_chassis(walk)
    entry = vendor.model_of(sys_object_id) if vendor else {}
    described = vendor.from_descr(sys_descr) if vendor else {}
    chassis_model = chassis.get("model")
    descr_model = chassis_model if chassis_model and chassis_model == chassis.get("descr") else None
    facts: dict[str, Any] = {
        "vendor": (vendor.manufacturer if vendor else None) or chassis.get("manufacturer"),
        # A model taken from entPhysicalDescr ranks below what the vendor's data says.
        "model": (None if descr_model else chassis_model)
        or described.get("model")
        or entry.get("model")
        or descr_model,
        "serial": chassis.get("serial"),
        "os_name": entry.get("os")
        or (vendor.os_name(sys_descr) if vendor else None)
        or ("Linux" if (sys_descr or "").startswith("Linux ") else None),
        "os_version": described.get("version") or _without_word_version(chassis.get("os_version")),
        "firmware": chassis.get("firmware"),
        "kernel": described.get("kernel"),
        "architecture": described.get("architecture"),
        # for the overrides: what the vendor's data and the chassis entity said
        "object_model": entry.get("model"),
        "chassis_descr": chassis.get("descr"),
    }
    if enterprise in OVERRIDES:
        OVERRIDES[enterprise].apply(walk, facts)
    rules = identifier_rules()
    result = {key: facts[key] if rules.usable(key, facts[key]) else None for key in FACT_KEYS}
    if result["firmware"] == result["os_version"]:
        result["firmware"] = None  # Cisco repeats the IOS version as firmware: no separate fact
    result["enterprise"] = enterprise
    result["class"] = str(
        classify(
            Evidence(
                object_class=entry.get("class"),
                model_class=vendor.class_of(result["model"], sys_descr) if vendor else None,
                vendor_class=vendor.device_class if vendor else None,
                network_vendor=bool(vendor and not vendor.agent),
                lldp_capabilities=_octets(walk.get(oids.LLDP_LOC_SYS_CAP_ENABLED)),
                chassis_entity=bool(chassis),
                sys_services=system["sys_services"],
                ip_forwarding=system["ip_forwarding"],
                host_resources=system["host_resources"],
                os_name=result["os_name"],
            )
        )
    )
    return result


def _without_word_version(value: str | None) -> str | None:
    """Huawei's entPhysicalSoftwareRev reads "Version 5.170 V200R012C00SPC500"."""
    return re.sub(r"^version\s+", "", value, flags=re.IGNORECASE) if value else None


def _octets(value: WalkValue | None) -> bytes | None:
    return value if isinstance(value, bytes) else None
