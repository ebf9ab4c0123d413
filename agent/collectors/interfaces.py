"""Network interfaces and their addresses, and which one carries the default route.

The topic's module for every source: the agent reads the facts here, SSH discovery runs
this same collector (discovery/ssh/system.py answers its sysfs reads), and every source
turns an interface's facts into the same Interface attributes (``interface_attributes``),
SNMP included.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from agent.collectors.base import Collector, Facts, HostRecord, HostReport
from agent.parsers import (
    aggregate_of,
    canonical_address,
    is_host_scoped,
    parse_default_route_interface,
    prefix_length,
)
from agent.system import System
from schema.enums import AdminStatus, OperStatus
from schema.report_builder import drop_none

IFF_UP = 0x1  # include/uapi/linux/if.h: administratively up

# /sys/class/net/<name>/operstate uses RFC 2863's words in lower case (Documentation/networking/operstates.rst).
LINUX_OPER_STATES = {status.value.lower(): status for status in OperStatus}

INTERFACE_ATTRIBUTES = (
    "if_descr",
    "alias",
    "mac",
    "mtu",
    "speed_mbps",
    "admin_status",
    "oper_status",
    "last_change",
    "if_index",
    "if_type",
    "physical",
    "native_vlan",
    "vlans",
)
"""What an Interface record says, by the same name whichever source saw it (schema/ci_classes.toml)."""


def interface_attributes(nic: Mapping[str, Any]) -> dict[str, Any]:
    """An interface's facts as its record's attributes: the ones it has, addresses as address/prefix."""
    return drop_none(
        {
            **{name: nic.get(name) for name in INTERFACE_ATTRIBUTES},
            "addresses": [f"{a['address']}/{a['prefix_length']}" for a in nic.get("addresses", [])],
        }
    )


def oper_status(operstate: str | None, admin: AdminStatus | None, carrier: bool | None) -> OperStatus | None:
    """The kernel's operstate as IF-MIB says it. The kernel says ``unknown`` of interfaces whose
    driver reports no state (loopback, dummy, tun): one that is up with carrier is ``up``, as
    net-snmp reports it, and one shut down is ``down``."""
    if operstate is None:
        return None
    status = LINUX_OPER_STATES.get(operstate.strip().lower(), OperStatus.UNKNOWN)
    if status is OperStatus.UNKNOWN:
        if admin is AdminStatus.DOWN:
            return OperStatus.DOWN
        if admin is AdminStatus.UP and carrier:
            return OperStatus.UP
    return status


def link_state(name: str, read_text: Callable[[str], str | None]) -> dict[str, Any]:
    """Admin and oper status, alias and speed of one interface from its sysfs files (Linux).

    ``read_text`` reads a file (None when absent or unreadable: ``carrier`` and ``speed`` of an
    interface that is down cannot be read). Empty without sysfs."""
    base = f"/sys/class/net/{name}"
    flags = read_text(f"{base}/flags")
    try:
        admin = (AdminStatus.UP if int(flags.strip(), 16) & IFF_UP else AdminStatus.DOWN) if flags else None
    except ValueError:
        admin = None
    carrier = (read_text(f"{base}/carrier") or "").strip()
    speed = (read_text(f"{base}/speed") or "").strip()
    return drop_none(
        {
            "admin_status": admin,
            "oper_status": oper_status(read_text(f"{base}/operstate"), admin, carrier == "1"),
            "alias": (read_text(f"{base}/ifalias") or "").strip() or None,
            "speed_mbps": int(speed) if speed.isdigit() and int(speed) > 0 else None,
        }
    )


@dataclass(frozen=True)
class IpAddress:
    address: str
    prefix_length: int
    version: int


@dataclass(frozen=True)
class Nic:
    name: str
    mac: str | None
    mtu: int | None
    speed_mbps: int | None
    admin_status: AdminStatus | None
    oper_status: OperStatus | None  # None where the source cannot tell (an inventory agent's XML)
    alias: str | None
    physical: bool | None  # a hardware port; None where sysfs cannot tell
    aggregate: str | None  # the bond or team this is a port of
    addresses: tuple[IpAddress, ...] = ()


@dataclass(frozen=True)
class InterfacesFacts:
    interfaces: list[Nic]
    default_interface: str | None
    primary_mac: str | None  # the MAC of the default route's interface: part of the host's identity


class InterfacesCollector(Collector[InterfacesFacts]):
    name = "interfaces"

    def collect(self, system: System, facts: Facts) -> InterfacesFacts:
        addresses = system.nic_addresses()
        stats = system.nic_stats()
        interfaces = []
        for nic in sorted(set(addresses) | set(stats)):
            mac = None
            ips = []
            for entry in addresses.get(nic, []):
                if entry.family == "link":
                    mac = entry.address.lower()
                else:
                    version = 4 if entry.family == "inet" else 6
                    ips.append(
                        IpAddress(canonical_address(entry.address), prefix_length(entry.netmask, version), version)
                    )
            stat = stats.get(nic)
            # A hardware port has a device behind it in sysfs; a bridge, veth, tunnel or loopback
            # has none. Without sysfs (not Linux) it is unknown.
            known = system.read_text(f"/sys/class/net/{nic}/type") is not None
            physical = system.read_text(f"/sys/class/net/{nic}/device/uevent") is not None if known else None
            # A port of a bond or team: the host's uplink redundancy (impact) follows it.
            aggregate = aggregate_of(
                system.read_text(f"/sys/class/net/{nic}/flags"), system.read_text(f"/sys/class/net/{nic}/master/uevent")
            )
            # sysfs where there is one; psutil elsewhere, whose isup is the IFF_UP flag only.
            link = link_state(nic, system.read_text)
            interfaces.append(
                Nic(
                    name=nic,
                    mac=mac,
                    mtu=stat.mtu if stat else None,
                    speed_mbps=link.get("speed_mbps") or (stat.speed_mbps if stat and stat.speed_mbps > 0 else None),
                    admin_status=link.get("admin_status")
                    or ((AdminStatus.UP if stat.isup else AdminStatus.DOWN) if stat else None),
                    oper_status=link.get("oper_status")
                    or ((OperStatus.UP if stat.isup else OperStatus.DOWN) if stat else OperStatus.UNKNOWN),
                    alias=link.get("alias"),
                    physical=physical,
                    aggregate=aggregate,
                    addresses=tuple(ips),
                )
            )
        default = parse_default_route_interface(system.read_text("/proc/net/route") or "")
        primary_mac = next((i.mac for i in interfaces if i.name == default), None)
        return InterfacesFacts(interfaces, default, primary_mac)

    def describe_host(self, facts: InterfacesFacts, host: HostRecord) -> None:
        host.identity["primary_mac"] = facts.primary_mac

    def records(self, facts: InterfacesFacts, report: HostReport) -> None:
        builder = report.builder
        for nic in facts.interfaces:
            nic_ref = f"if:{nic.name}"
            builder.add(
                {
                    "ref": nic_ref,
                    "class": "Interface",
                    "parent": report.host_ref,
                    "identity": {"name": nic.name},
                    "attributes": interface_attributes(dataclasses.asdict(nic)),
                }
            )
            if nic.aggregate:
                builder.relate("MEMBER_OF", nic_ref, f"if:{nic.aggregate}")  # a bond's port: redundancy
            for addr in nic.addresses:
                report.own_addresses.add(addr.address)
                if is_host_scoped(addr.address):
                    continue
                ip_ref = builder.ip_address(addr.address, report.network_domain, addr.prefix_length)
                builder.relate("HAS_IP", nic_ref, ip_ref)
