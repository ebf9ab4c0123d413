"""What the SNMP parser tests compare: the facts that matter of one recorded device."""

from __future__ import annotations

from typing import Any

from discovery.snmp.device import device_facts
from discovery.snmp.values import Walk

DEVICE_KEYS = ("class", "vendor", "model", "serial", "os_name", "os_version", "firmware", "sys_name", "chassis_id")


def digest(walk: Walk) -> dict[str, Any]:
    facts = device_facts(walk)
    device = facts["device"]
    interfaces = list(facts["interfaces"].values())
    return {
        "device": {k: device[k] for k in DEVICE_KEYS},
        "interface_count": len(interfaces),
        "first_interfaces": interfaces[:3],
        "addresses": sorted(
            f"{a['address']}/{a['prefix_length']}@{n['name']}" for n in interfaces for a in n["addresses"]
        ),
        "lldp_neighbours": facts["lldp"]["neighbours"][:3],
        "lldp_neighbour_count": len(facts["lldp"]["neighbours"]),
        "cdp_neighbours": facts["cdp"][:3],
        "cdp_neighbour_count": len(facts["cdp"]),
        "aggregated_ports": sorted(
            f"{n['name']} -> {facts['interfaces'][n['aggregate']]['name']}"
            for n in interfaces
            if n.get("aggregate") is not None
        ),
    }
