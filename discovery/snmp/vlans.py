"""VLANs of a switch's ports from Q-BRIDGE-MIB: pure functions of a walk, tested on recordings.

Q-BRIDGE-MIB speaks of bridge ports (dot1dBasePort), not interfaces: BRIDGE-MIB's
dot1dBasePortIfIndex maps one to the other (Cisco NX-OS, Juniper and Huawei number bridge
ports apart from ifIndexes). Only where a device has no map at all (some answer Q-BRIDGE-MIB
without BRIDGE-MIB) is a port number taken as the ifIndex it equals, as NMSes do; a port the
map leaves out is left out (a Junos MX maps its ports to 0: taking the numbers as ifIndexes
put VLANs on its lsi tunnel).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from discovery.snmp import oids
from discovery.snmp.values import Walk, WalkValue, column, integer

VLAN_ID_MAX = 4094  # 802.1Q: 0 and 4095 are reserved
JUNOS_PORT_LIST = re.compile(rb"[0-9]+(,[0-9]+)*")


@dataclass
class PortVlans:
    """One interface's VLANs: the native (untagged) one and every one it carries."""

    native_vlan: int | None = None
    vlans: set[int] = field(default_factory=set)


def port_list(value: WalkValue | None) -> list[int]:
    """The bridge port numbers a Q-BRIDGE PortList names: a bitmap whose first octet's most
    significant bit is port 1; Junos writes the numbers as text instead (``4,6,22,132``)."""
    if not isinstance(value, bytes):
        return []
    if JUNOS_PORT_LIST.fullmatch(value):
        return sorted({int(number) for number in value.split(b",")})
    return [8 * octet + bit + 1 for octet, byte in enumerate(value) for bit in range(8) if byte & (0x80 >> bit)]


def bridge_port_interfaces(walk: Walk, interfaces: dict[int, Any]) -> dict[int, int]:
    """Bridge port number -> ifIndex, from dot1dBasePortIfIndex; without that table, each
    ifIndex itself. A port the table maps to no interface (Junos answers 0) is left out."""
    table = column(walk, oids.DOT1D_BASE_PORT_IF_INDEX)
    if not table:
        return {index: index for index in interfaces}
    return {
        int(port): if_index
        for port, value in table.items()
        if port.isdigit() and (if_index := integer(value)) in interfaces
    }


def _egress_by_vlan(walk: Walk) -> dict[int, WalkValue]:
    """VLAN id -> its egress PortList: the current table (in effect now) where the device has
    one, else the static one (as configured; Juniper and some H3C give only this)."""
    current: dict[int, WalkValue] = {}
    for key, value in column(walk, oids.DOT1Q_VLAN_CURRENT_EGRESS_PORTS).items():
        arcs = key.split(".")  # timeMark.vlanIndex
        if len(arcs) == 2 and arcs[1].isdigit():
            current[int(arcs[1])] = value
    if current:
        return current
    return {
        int(key): value for key, value in column(walk, oids.DOT1Q_VLAN_STATIC_EGRESS_PORTS).items() if key.isdigit()
    }


def parse_vlans(walk: Walk, interfaces: dict[int, Any]) -> dict[int, PortVlans]:
    """ifIndex -> its VLANs, for the interfaces Q-BRIDGE-MIB names (an empty dict without it)."""
    ports = bridge_port_interfaces(walk, interfaces)
    found: dict[int, PortVlans] = {}
    for key, value in column(walk, oids.DOT1Q_PVID).items():
        pvid = integer(value)
        if key.isdigit() and int(key) in ports and pvid is not None and 1 <= pvid <= VLAN_ID_MAX:
            found.setdefault(ports[int(key)], PortVlans()).native_vlan = pvid
    for vlan, egress in _egress_by_vlan(walk).items():
        if not 1 <= vlan <= VLAN_ID_MAX:
            continue
        for bridge_port in port_list(egress):
            if bridge_port in ports:
                found.setdefault(ports[bridge_port], PortVlans()).vlans.add(vlan)
    return dict(sorted(found.items()))
