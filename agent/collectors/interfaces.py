"""Network interfaces with their addresses, and the interface of the default route."""

from __future__ import annotations

from dataclasses import dataclass

from agent.collectors.base import Collector, Facts, HostRecord, HostReport
from agent.parsers import (
    aggregate_of,
    canonical_address,
    is_host_scoped,
    parse_default_route_interface,
    prefix_length,
)
from agent.system import System
from schema.report_builder import drop_none


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
    oper_status: str  # up, down or unknown
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
            interfaces.append(
                Nic(
                    name=nic,
                    mac=mac,
                    mtu=stat.mtu if stat else None,
                    speed_mbps=stat.speed_mbps if stat and stat.speed_mbps > 0 else None,
                    oper_status=("up" if stat.isup else "down") if stat else "unknown",
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
                    "attributes": drop_none(
                        {
                            "mac": nic.mac,
                            "mtu": nic.mtu,
                            "speed_mbps": nic.speed_mbps,
                            "oper_status": nic.oper_status,
                            "physical": nic.physical,
                            "addresses": [f"{a.address}/{a.prefix_length}" for a in nic.addresses],
                        }
                    ),
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
