"""What the SNMP parser tests compare: the facts that matter of one recorded device."""

from __future__ import annotations

from typing import Any

from agent.collectors.interfaces import INTERFACE_ATTRIBUTES
from discovery.snmp.device import build_device_report, device_facts
from discovery.snmp.values import Walk

DEVICE_KEYS = ("class", "vendor", "model", "serial", "os_name", "os_version", "firmware", "sys_name", "chassis_id")
# The interface facts the device digest shows; the whole Interface records are checked per
# recording by interface_records (tests/fixtures/snmp/interfaces/).
DIGEST_INTERFACE_KEYS = ("if_index", "name", "descr", "alias", "mac", "mtu", "speed_mbps", "oper_status", "if_type")
SCANNED_AT = "2026-12-01T12:00:00+00:00"  # the scan time last_change is counted back from


def digest(walk: Walk) -> dict[str, Any]:
    facts = device_facts(walk)
    device = facts["device"]
    interfaces = list(facts["interfaces"].values())
    return {
        "device": {k: device[k] for k in DEVICE_KEYS},
        "interface_count": len(interfaces),
        "first_interfaces": [
            {**{k: n[k] for k in DIGEST_INTERFACE_KEYS}, "addresses": n["addresses"]} for n in interfaces[:3]
        ],
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


def interface_records(walk: Walk) -> dict[str, dict[str, Any]]:
    """ifIndex -> the Interface record the scan reports (its name and the interface topic's
    attributes: INTERFACE_ATTRIBUTES and addresses), scanned at SCANNED_AT."""
    report = build_device_report(device_facts(walk), "127.0.0.1", ("snmp", "test"), "global", SCANNED_AT, "digest")
    topic = {*INTERFACE_ATTRIBUTES, "addresses"}
    return {
        str(record["attributes"]["if_index"]): {
            "name": record["identity"]["name"],
            **{k: v for k, v in record["attributes"].items() if k in topic},
        }
        for record in report["records"]
        if record["class"] == "Interface" and "if_index" in record.get("attributes", {})
    }
