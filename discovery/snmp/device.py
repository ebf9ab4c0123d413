"""Device facts from a walk, and the report they make (pure)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from agent.parsers import is_host_scoped
from discovery.snmp import parsers
from discovery.snmp.classify import HOST_CLASSES
from discovery.snmp.facts import identify
from discovery.snmp.values import IndexedWalk, Walk
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
    lldp = parsers.parse_lldp(walk)
    device["chassis_id"] = lldp["local_chassis_id"]
    return {
        "device": device,
        "interfaces": interfaces,
        "lldp": lldp,
        "cdp": parsers.parse_cdp(walk),
    }


def _local_interface_for_lldp(facts: dict[str, Any], port_num: int) -> int | None:
    """The ifIndex of an LLDP local port: by port id or description naming an interface, else the number."""
    interfaces = facts["interfaces"]
    port = facts["lldp"]["local_ports"].get(port_num, {})
    for candidate in (port.get("id"), port.get("desc")):
        if not candidate:
            continue
        for index, nic in interfaces.items():
            if candidate in (nic["name"], nic["descr"], nic["alias"]):
                return int(index)
    return port_num if port_num in interfaces else None


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
        if not identity:
            identity = {"sys_name": address}
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
                "attributes": drop_none(
                    {
                        "mac": nic["mac"],
                        "mtu": nic["mtu"],
                        "speed_mbps": nic["speed_mbps"],
                        "oper_status": nic["oper_status"],
                        "if_index": nic["if_index"],
                        "if_type": nic["if_type"],
                        # SNMP cannot tell a hardware port from a virtual one of the same type (a
                        # bridge is ethernetCsmacd too): it says false only where the type does.
                        "physical": False if nic["if_type"] in parsers.VIRTUAL_IF_TYPES else None,
                        "description": nic["alias"],
                        "addresses": [f"{a['address']}/{a['prefix_length']}" for a in nic["addresses"]],
                    }
                ),
            }
        )
        if nic.get("aggregate") is not None:
            report.relate("MEMBER_OF", nic_ref, f"if:{nic['aggregate']}")  # a port of a LAG: redundancy
        for addr in nic["addresses"]:
            if is_host_scoped(addr["address"]):
                continue
            ip_ref = report.ip_address(addr["address"], network_domain, addr["prefix_length"])
            report.relate("HAS_IP", nic_ref, ip_ref)

    for neighbour in _neighbours(facts):
        local_index = neighbour["local_if_index"]
        if local_index not in facts["interfaces"] or not neighbour["port"]:
            continue
        key = neighbour["chassis_id"] or neighbour["sys_name"]
        if not key:
            continue
        device_ref = f"nbr:{key}"
        if neighbour["station_only"] and neighbour["sys_name"] and neighbour["management_ip"]:
            # A host running LLDP (lldpd): identified as its own SNMP scan will identify it.
            nbr_class = "Host"
            nbr_identity = {
                "hostname": neighbour["sys_name"].split(".", 1)[0],
                "management_ip": neighbour["management_ip"],
            }
            if neighbour["chassis_id"] and _is_mac(neighbour["chassis_id"]):
                # lldpd's chassis id is the MAC of an interface, often the default route's:
                # what the agent identifies its host by, with the host name.
                nbr_identity["primary_mac"] = neighbour["chassis_id"]
        else:
            nbr_class = "NetworkDevice"
            nbr_identity = {k: neighbour[k] for k in ("chassis_id", "sys_name") if neighbour.get(k)}
        add(
            {
                "ref": device_ref,
                "class": nbr_class,
                "identity": nbr_identity,
                "attributes": drop_none(
                    {
                        "name": neighbour["sys_name"] or key,
                        **(
                            {"os_name": neighbour["sys_descr"]}
                            if nbr_class == "Host"
                            else {
                                "sys_descr": neighbour["sys_descr"],
                                "management_ip": neighbour["management_ip"],
                            }
                        ),
                    }
                ),
            }
        )
        port_ref = f"{device_ref}:port:{neighbour['port']}"
        add(
            {
                "ref": port_ref,
                "class": "Interface",
                "parent": device_ref,
                "identity": {"name": neighbour["port"]},
            }
        )
        report.relate("CONNECTED_TO", f"if:{local_index}", port_ref)

    built = report.build(source[0], source[1], datetime.fromisoformat(collected_at), report_id)
    return dict(built)


def _is_mac(value: str) -> bool:
    parts = value.split(":")
    return len(parts) == 6 and all(len(p) == 2 for p in parts)


def _neighbours(facts: dict[str, Any]) -> list[dict[str, Any]]:
    """LLDP and CDP neighbours in one shape: local ifIndex, remote chassis/name and port."""
    result = []
    for n in facts["lldp"]["neighbours"]:
        port = n["port_id"]
        if port and ":" in port and len(port) == 17:  # a MAC as port id names no interface
            port = n["port_desc"] or port
        result.append(
            {
                "local_if_index": _local_interface_for_lldp(facts, n["local_port_num"]),
                "chassis_id": n["chassis_id"],
                "sys_name": n["sys_name"],
                "port": port,
                "sys_descr": n["sys_descr"],
                "management_ip": n["management_ip"],
                "station_only": n["station_only"],
            }
        )
    for n in facts["cdp"]:
        result.append(
            {
                "local_if_index": n["local_if_index"],
                "chassis_id": None,
                "sys_name": n["sys_name"],
                "port": n["port_id"],
                "sys_descr": n["sys_descr"],
                "management_ip": n["management_ip"],
                "station_only": False,
            }
        )
    return result
