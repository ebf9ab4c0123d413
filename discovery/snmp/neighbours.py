"""LLDP and CDP neighbours, and hosts on switch ports, as report records (pure).

A neighbour is named by what identifies it where the CMDB already knows it: a network
device by its LLDP chassis id or its name, a host (an end station running lldpd) by its
name with its address and chassis MAC, either by the MAC of its port when the port id is
one (the ``interface_keys`` identity rules match it with the MACs an agent, SSH or SNMP
reported). What the neighbour says of itself (platform, capabilities, id subtypes) is kept
on its CI and its port: the link itself is symmetric, one edge whoever sees it.
"""

from __future__ import annotations

from typing import Any

from discovery.snmp import topology
from schema.report_builder import ReportBuilder, drop_none


def local_interface_for_lldp(facts: dict[str, Any], port_num: int) -> int | None:
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


def is_mac(value: str) -> bool:
    parts = value.split(":")
    return len(parts) == 6 and all(len(p) == 2 for p in parts)


def neighbours(facts: dict[str, Any]) -> list[dict[str, Any]]:
    """LLDP and CDP neighbours in one shape: local ifIndex, remote chassis/name and port.

    An LLDP row whose local port names no interface (number 0, as some devices send) is
    placed on the one port where the forwarding table learnt the neighbour's MAC."""
    result = []
    for n in facts["lldp"]["neighbours"]:
        port = n["port_id"]
        port_mac = port if n["port_id_subtype"] == "macAddress" and port and is_mac(port) else None
        if port and is_mac(port):  # a MAC as port id names no interface
            port = n["port_desc"] or port
        local = local_interface_for_lldp(facts, n["local_port_num"])
        if local is None:
            local = topology.local_port_from_fdb(n, facts.get("fdb", {}))
        result.append(
            {
                "local_if_index": local,
                "chassis_id": n["chassis_id"],
                "chassis_id_subtype": n["chassis_id_subtype"],
                "sys_name": n["sys_name"],
                "port": port,
                "port_id": n["port_id"],
                "port_id_subtype": n["port_id_subtype"],
                "port_mac": port_mac,
                "sys_descr": n["sys_descr"],
                "management_ip": n["management_ip"],
                "capabilities": n["capabilities"],
                "platform": None,
                "station_only": n["station_only"],
            }
        )
    for n in facts["cdp"]:
        result.append(
            {
                "local_if_index": n["local_if_index"],
                "chassis_id": None,
                "chassis_id_subtype": None,
                "sys_name": n["sys_name"],
                "port": n["port_id"],
                "port_id": n["port_id"],
                "port_id_subtype": None,
                "port_mac": n["port_id"] if n["port_id"] and is_mac(n["port_id"]) else None,
                "sys_descr": n["sys_descr"],
                "management_ip": n["management_ip"],
                "capabilities": n["capabilities"],
                "platform": n["platform"],
                "station_only": n["capabilities"] == ["station"],
            }
        )
    return result


def add_neighbours(report: ReportBuilder, facts: dict[str, Any]) -> dict[int, bool]:
    """Add each neighbour, its port and the link to it; return local ifIndex -> whether a
    network device (not an end station) is behind it, for telling uplinks from access ports."""
    behind: dict[int, bool] = {}
    for neighbour in neighbours(facts):
        local_index = neighbour["local_if_index"]
        if local_index not in facts["interfaces"] or not neighbour["port"]:
            continue
        key = neighbour["chassis_id"] or neighbour["sys_name"]
        if not key:
            continue
        network = topology.is_network_neighbour(neighbour["capabilities"], neighbour["station_only"])
        behind[local_index] = behind.get(local_index, False) or network
        device_ref = f"nbr:{key}"
        if neighbour["station_only"] and neighbour["sys_name"] and neighbour["management_ip"]:
            # A host running LLDP (lldpd): identified as its own SNMP scan will identify it.
            nbr_class = "Host"
            nbr_identity = {
                "hostname": neighbour["sys_name"].split(".", 1)[0],
                "management_ip": neighbour["management_ip"],
            }
            if neighbour["chassis_id"] and is_mac(neighbour["chassis_id"]):
                # lldpd's chassis id is the MAC of an interface, often the default route's:
                # what the agent identifies its host by, with the host name.
                nbr_identity["primary_mac"] = neighbour["chassis_id"]
            attributes: dict[str, Any] = {"os_name": neighbour["sys_descr"]}
        else:
            nbr_class = "NetworkDevice"
            nbr_identity = {k: neighbour[k] for k in ("chassis_id", "sys_name", "management_ip") if neighbour.get(k)}
            attributes = {
                "sys_descr": neighbour["sys_descr"],
                "management_ip": neighbour["management_ip"],
                "platform": neighbour["platform"],
                "capabilities": neighbour["capabilities"] or None,
                "chassis_id_subtype": neighbour["chassis_id_subtype"] if neighbour["chassis_id"] else None,
            }
        if not report.has(device_ref):
            report.add(
                {
                    "ref": device_ref,
                    "class": nbr_class,
                    "identity": nbr_identity,
                    "attributes": drop_none({"name": neighbour["sys_name"] or key, **attributes}),
                }
            )
        port_ref = f"{device_ref}:port:{neighbour['port']}"
        if not report.has(port_ref):
            report.add(
                {
                    "ref": port_ref,
                    "class": "Interface",
                    "parent": device_ref,
                    "identity": {"name": neighbour["port"]},
                    "attributes": drop_none(
                        {
                            # The port's MAC (port id subtype macAddress): what finds the host
                            # or device an agent or a scan reported with that interface.
                            "mac": neighbour["port_mac"],
                            "port_id": neighbour["port_id"],
                            "port_id_subtype": neighbour["port_id_subtype"],
                        }
                    ),
                }
            )
        report.relate("CONNECTED_TO", f"if:{local_index}", port_ref)
    return behind


def add_hosts_on_ports(report: ReportBuilder, facts: dict[str, Any], behind: dict[int, bool]) -> None:
    """Put on each access port the MACs (and their ARP/ND addresses) of the hosts plugged into it;
    the CMDB connects the port to the known interfaces with those MACs."""
    placed = {f"if:{index}": found for index, found in topology.port_facts(facts, behind).items()}
    for record in report.records:
        found = placed.get(record["ref"])
        if found is not None:
            record.setdefault("attributes", {}).update(
                drop_none({"learnt_macs": found["macs"], "learnt_addresses": found["addresses"] or None})
            )
