"""Device facts from a walk, and the report they make (pure)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from agent.collectors.interfaces import interface_attributes
from agent.parsers import is_host_scoped
from discovery.snmp import neighbours, parsers, topology
from discovery.snmp.classify import HOST_CLASSES
from discovery.snmp.facts import identify
from discovery.snmp.values import IndexedWalk, Walk
from discovery.snmp.vlans import parse_vlans
from schema.report_builder import ReportBuilder, drop_none


def device_facts(walk: Walk) -> dict[str, Any]:
    """Everything the scanner knows of one device: system, chassis, interfaces, neighbours."""
    walk = IndexedWalk(walk)
    system = parsers.parse_system(walk)
    device: dict[str, Any] = {**system, **identify(walk, system)}
    interfaces = parsers.parse_interfaces(walk)
    for address in parsers.parse_ip_addresses(walk):
        nic = interfaces.get(address["if_index"])
        if nic is not None:
            nic["addresses"].append(address)
    for port, aggregate in parsers.parse_aggregates(walk, interfaces).items():
        interfaces[port]["aggregate"] = aggregate
    for if_index, port_vlans in parse_vlans(walk, interfaces).items():
        interfaces[if_index]["native_vlan"] = port_vlans.native_vlan
        interfaces[if_index]["vlans"] = sorted(port_vlans.vlans)
    lldp = parsers.parse_lldp(walk)
    device["chassis_id"] = lldp["local_chassis_id"]
    return {
        "device": device,
        "interfaces": interfaces,
        "lldp": lldp,
        "cdp": parsers.parse_cdp(walk),
        "fdb": topology.parse_fdb(walk),  # MAC -> the ports it was learnt on
        "arp": topology.parse_arp(walk),  # MAC -> its addresses
    }


# The facts a CI keeps, whatever its class: the same names on Host and NetworkDevice where
# they mean the same (schema/ci_classes.toml).
COMMON_FACTS = (
    "sys_descr",
    "sys_object_id",
    "vendor",
    "model",
    "serial",
    "os_name",
    "os_version",
    "location",
    "contact",
)
HOST_FACTS = (*COMMON_FACTS, "kernel", "architecture")
DEVICE_FACTS = (*COMMON_FACTS, "firmware")


def _facts(device: dict[str, Any], keys: tuple[str, ...]) -> dict[str, Any]:
    return {k: device.get(k) for k in keys}


def build_device_report(
    facts: dict[str, Any],
    address: str,
    source: tuple[str, str],
    network_domain: str,
    collected_at: str,
    report_id: str,
) -> dict[str, Any]:
    device = facts["device"]
    is_host = device["class"] in HOST_CLASSES
    report = ReportBuilder()
    add = report.add

    if is_host:
        name = device["sys_name"] or address
        identity = {"hostname": name.split(".", 1)[0], "management_ip": address}
        if "." in name:
            identity["fqdn"] = name
        attributes = {"name": name, "memory_bytes": device["memory_bytes"], **_facts(device, HOST_FACTS)}
    else:
        identity = {k: device[k] for k in ("serial", "vendor", "chassis_id", "sys_name") if device.get(k)}
        if "serial" in identity and "vendor" not in identity:
            identity.pop("serial")
        identity["management_ip"] = address  # what a neighbour advertising this address names it by
        attributes = {
            "name": device["sys_name"] or address,
            **_facts(device, DEVICE_FACTS),
            "management_ip": address,
        }
    add(
        {
            "ref": "device",
            "class": device["class"],
            "identity": identity,
            "attributes": drop_none(attributes),
        }
    )

    for index, nic in sorted(facts["interfaces"].items()):
        nic_ref = f"if:{index}"
        add(
            {
                "ref": nic_ref,
                "class": "Interface",
                "parent": "device",
                "identity": {"name": nic["name"]},
                "attributes": interface_attributes(snmp_interface(nic, collected_at)),
            }
        )
        if nic.get("aggregate") is not None:
            report.relate("MEMBER_OF", nic_ref, f"if:{nic['aggregate']}")  # a port of a LAG: redundancy
        for addr in nic["addresses"]:
            if is_host_scoped(addr["address"]):
                continue
            ip_ref = report.ip_address(addr["address"], network_domain, addr["prefix_length"])
            report.relate("HAS_IP", nic_ref, ip_ref)

    behind = neighbours.add_neighbours(report, facts)
    neighbours.add_hosts_on_ports(report, facts, behind)

    built = report.build(source[0], source[1], datetime.fromisoformat(collected_at), report_id)
    return dict(built)


def snmp_interface(nic: dict[str, Any], collected_at: str) -> dict[str, Any]:
    """An interface's SNMP facts under the names every source reports (agent.collectors.interfaces)."""
    seconds_ago = nic.get("last_change_s_ago")
    last_change = None
    if seconds_ago is not None:
        scanned = datetime.fromisoformat(collected_at).replace(microsecond=0)
        last_change = (scanned - timedelta(seconds=seconds_ago)).isoformat()
    return {
        **nic,
        "if_descr": nic["descr"],
        "last_change": last_change,
        # SNMP cannot tell a hardware port from a virtual one of the same type (a bridge is
        # ethernetCsmacd too): it says false only where the type does.
        "physical": False if nic["if_type"] in parsers.VIRTUAL_IF_TYPES else None,
        "vlans": [str(vlan) for vlan in nic.get("vlans") or ()] or None,
    }
