"""Hosts on switch ports: which MAC a device's forwarding table learnt on which port (pure).

What Netdisco is loved for. A switch's forwarding table (BRIDGE-MIB ``dot1dTpFdbTable``,
Q-BRIDGE-MIB ``dot1qTpFdbTable`` on VLAN-aware switches) says on which bridge port each
MAC was learnt; ``dot1dBasePortIfIndex`` maps a bridge port to its interface. A MAC on an
**access port** is a host plugged into it. A MAC on an **uplink** (a port with a network
device behind it, seen through LLDP or CDP) is anywhere beyond, and so is every MAC of a
port that learnt many (an unmanaged switch, a hypervisor's bridge): neither places a host.
The ARP and ND tables (``ipNetToPhysicalTable``, else the older ``ipNetToMediaTable``) say
which addresses those MACs have.

The CMDB joins the MACs with the interfaces the agents and SSH discovery report
(``cmdb_server/repositories/ingest.py``), so only known hosts are connected.
"""

from __future__ import annotations

import ipaddress
from collections import defaultdict
from collections.abc import Iterable, Mapping
from typing import Any

from discovery.snmp import oids
from discovery.snmp.parsers import integer_key
from discovery.snmp.values import Walk, column, integer, mac
from schema.values import LIMITS

NETWORK_CAPABILITIES = frozenset({"bridge", "router", "repeater", "wlanAccessPoint", "docsisCableDevice"})
"""Capabilities of a neighbour that forwards other machines' frames: behind it, more MACs."""

ND_STATES_GONE = frozenset({5, 7})  # ipNetToPhysicalState invalid(5), incomplete(7): no answer, no MAC


def parse_bridge_ports(walk: Walk) -> dict[int, int]:
    """dot1dBasePort -> ifIndex (dot1dBasePortIfIndex)."""
    ports = {}
    for key, value in column(walk, oids.DOT1D_BASE_PORT_IF_INDEX).items():
        port, if_index = integer_key(key), integer(value)
        if port is not None and if_index:
            ports[port] = if_index
    return ports


def _mac_of_arcs(arcs: list[str]) -> str | None:
    if len(arcs) != 6 or not all(a.isdigit() and int(a) < 256 for a in arcs):
        return None
    return mac(bytes(int(a) for a in arcs))


def parse_fdb(walk: Walk) -> dict[str, set[int]]:
    """MAC -> the ifIndexes its learnt entries point to, from both forwarding tables.

    Only learnt rows count (status ``learned``, or no status column): the device's own MACs
    (``self``) and static entries (``mgmt``) place no host. A bridge port the device does not
    map to an interface (port 0: unknown) is left out."""
    bridge_ports = parse_bridge_ports(walk)
    found: dict[str, set[int]] = defaultdict(set)
    for port_oid, status_oid, index_arcs in (
        (oids.DOT1D_TP_FDB_PORT, oids.DOT1D_TP_FDB_STATUS, 0),
        (oids.DOT1Q_TP_FDB_PORT, oids.DOT1Q_TP_FDB_STATUS, 1),  # .<fdb id>.<mac>
    ):
        statuses = column(walk, status_oid)
        for key, value in column(walk, port_oid).items():
            status = statuses.get(key)
            if status is not None and status != oids.FDB_STATUS_LEARNED:
                continue
            address = _mac_of_arcs(key.split(".")[index_arcs:])
            if_index = bridge_ports.get(integer(value) or 0)
            if address and if_index:
                found[address].add(if_index)
    return dict(sorted(found.items()))


def parse_arp(walk: Walk) -> dict[str, list[str]]:
    """MAC -> the addresses the ARP and ND tables give it (ipNetToPhysicalTable; the IPv4-only
    ipNetToMediaTable where the device has not the newer table)."""
    found: dict[str, set[str]] = defaultdict(set)
    states = column(walk, oids.IP_NET_TO_PHYSICAL_STATE)
    for key, value in column(walk, oids.IP_NET_TO_PHYSICAL_PHYS_ADDRESS).items():
        arcs = key.split(".")  # ifIndex.addrType.len.addr...
        if len(arcs) < 4 or not all(a.isdigit() for a in arcs) or int(arcs[2]) != len(arcs) - 3:
            continue
        if integer(states.get(key)) in ND_STATES_GONE or arcs[1] not in ("1", "2"):
            continue
        address, hardware = _address(arcs[3:]), mac(value)
        if address and hardware:
            found[hardware].add(address)
    if not found:
        for key, value in column(walk, oids.IP_NET_TO_MEDIA_PHYS_ADDRESS).items():
            arcs = key.split(".")  # ifIndex.a.b.c.d
            address, hardware = _address(arcs[1:]) if len(arcs) == 5 else None, mac(value)
            if address and hardware:
                found[hardware].add(address)
    return {k: sorted(v, key=ipaddress.ip_address) for k, v in sorted(found.items())}


def _address(arcs: list[str]) -> str | None:
    try:
        return str(ipaddress.ip_address(bytes(int(a) for a in arcs)))
    except ValueError:
        return None


def is_network_neighbour(capabilities: Iterable[str], station_only: bool = False) -> bool:
    """Whether a neighbour forwards other machines' frames (a switch, router, access point).

    A neighbour that says nothing of its capabilities is taken for one (CDP and LLDP are
    mostly spoken by network gear); a telephone is not one, though it bridges its PC port:
    the PC behind it is still on this port, as Netdisco places it."""
    capabilities = set(capabilities)
    if station_only or "telephone" in capabilities:
        return False
    return not capabilities or bool(capabilities & NETWORK_CAPABILITIES)


def uplink_ports(neighbour_ports: Mapping[int, bool], aggregates: Mapping[int, int]) -> set[int]:
    """ifIndexes that are uplinks: a port with a network-device neighbour, and the link aggregate
    it belongs to with all the aggregate's ports (the table learns MACs on the aggregate).

    ``neighbour_ports``: local ifIndex -> whether a neighbour there is a network device."""
    uplinks = {port for port, network in neighbour_ports.items() if network}
    groups = {aggregates[port] for port in uplinks if port in aggregates}
    uplinks |= groups
    uplinks |= {port for port, group in aggregates.items() if group in uplinks}
    return uplinks


def hosts_on_ports(
    fdb: Mapping[str, set[int]],
    uplinks: set[int],
    own_macs: set[str],
    max_macs: int | None = None,
) -> dict[int, list[str]]:
    """Access port ifIndex -> the MACs of the hosts plugged into it.

    Left out: the device's own MACs, MACs on uplinks, MACs learnt on two access ports at once
    (ambiguous), and every MAC of a port that learnt more than ``max_macs`` (default
    ``schema/limits.toml`` [topology] access_port_max_macs): something that is not one host
    sits there."""
    limit = LIMITS.access_port_max_macs if max_macs is None else max_macs
    on_port: dict[int, list[str]] = defaultdict(list)
    for address, ports in fdb.items():
        if address in own_macs:
            continue
        access = ports - uplinks
        if len(access) == 1 and not ports & uplinks:
            on_port[next(iter(access))].append(address)
    return {port: sorted(macs) for port, macs in sorted(on_port.items()) if len(macs) <= limit}


def local_port_from_fdb(neighbour: Mapping[str, Any], fdb: Mapping[str, set[int]]) -> int | None:
    """The local ifIndex of an LLDP neighbour whose row names no local port (number 0, as some
    devices send): the one port where the table learnt its chassis or port MAC, if only one."""
    for key in ("port_id", "chassis_id"):
        ports = fdb.get(str(neighbour.get(key) or "").lower(), set())
        if len(ports) == 1:
            return next(iter(ports))
    return None


def port_facts(facts: Mapping[str, Any], network_neighbours: Mapping[int, bool]) -> dict[int, dict[str, list[str]]]:
    """ifIndex -> {"macs": [...], "addresses": [...]} for each access port with hosts on it."""
    interfaces = facts["interfaces"]
    aggregates = {i: nic["aggregate"] for i, nic in interfaces.items() if nic.get("aggregate") is not None}
    own = {nic["mac"] for nic in interfaces.values() if nic.get("mac")}
    if facts["device"].get("chassis_id"):
        own.add(str(facts["device"]["chassis_id"]).lower())
    placed = hosts_on_ports(facts["fdb"], uplink_ports(network_neighbours, aggregates), own)
    arp = facts["arp"]
    return {
        port: {"macs": macs, "addresses": sorted({a for m in macs for a in arp.get(m, ())}, key=ipaddress.ip_address)}
        for port, macs in placed.items()
        if port in interfaces
    }
