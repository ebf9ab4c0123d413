"""Device facts from a walk, and the report they make (pure)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from agent.collectors.interfaces import interface_attributes
from agent.parsers import is_host_scoped
from discovery.snmp import parsers
from discovery.snmp.values import IndexedWalk, Walk
from discovery.snmp.vendors import OVERRIDES, vendors
from discovery.snmp.vlans import parse_vlans
from schema.report_builder import ReportBuilder, drop_none


def device_facts(walk: Walk) -> dict[str, Any]:
    """Everything the scanner knows of one device: system, chassis, interfaces, neighbours."""
    walk = IndexedWalk(walk)
    system = parsers.parse_system(walk)
    enterprise = parsers.enterprise_number(system["sys_object_id"])
    vendor = vendors().get(enterprise) if enterprise is not None else None
    chassis = parsers.parse_chassis(walk)
    device: dict[str, Any] = {
        **system,
        "enterprise": enterprise,
        "vendor": vendor.name if vendor else (chassis.get("manufacturer") or None),
        "model": chassis.get("model"),
        "serial": chassis.get("serial"),
        "firmware": chassis.get("firmware"),
    }
    model_entry = vendor.model_of(system["sys_object_id"]) if vendor else {}
    device["model"] = device["model"] or model_entry.get("model")
    if vendor and not device["firmware"]:
        device["firmware"] = vendor.firmware_from(system["sys_descr"])
    if enterprise in OVERRIDES:
        OVERRIDES[enterprise].apply(walk, device)
    device["class"] = _ci_class(device, vendor.host if vendor else False, model_entry.get("class"))
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
    }


def _ci_class(device: dict[str, Any], vendor_is_host: bool, declared: str | None) -> str:
    if declared:
        return declared
    if vendor_is_host or (device["host_resources"] and not device["ip_forwarding"]):
        descr = device.get("sys_descr") or ""
        return "LinuxHost" if descr.startswith("Linux") else "Host"
    services = device.get("sys_services") or 0
    if services & 2:
        return "Switch"
    if device["ip_forwarding"]:
        return "Router"
    return "NetworkDevice"


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


def build_device_report(
    facts: dict[str, Any],
    address: str,
    source: tuple[str, str],
    network_domain: str,
    collected_at: str,
    report_id: str,
) -> dict[str, Any]:
    device = facts["device"]
    is_host = device["class"] in ("Host", "LinuxHost")
    report = ReportBuilder()
    add = report.add

    if is_host:
        name = device["sys_name"] or address
        identity = {"hostname": name.split(".", 1)[0], "management_ip": address}
        if "." in name:
            identity["fqdn"] = name
        attributes = {"name": name, "os_name": device["sys_descr"], "memory_bytes": device["memory_bytes"]}
    else:
        identity = {k: device[k] for k in ("serial", "vendor", "chassis_id", "sys_name") if device.get(k)}
        if "serial" in identity and "vendor" not in identity:
            identity.pop("serial")
        if not identity:
            identity = {"sys_name": address}
        attributes = {
            "name": device["sys_name"] or address,
            **{
                k: device.get(k)
                for k in ("sys_descr", "sys_object_id", "vendor", "model", "firmware", "location", "contact")
            },
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
