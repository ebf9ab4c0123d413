"""Network interfaces and their addresses, and which one carries the default route."""

from __future__ import annotations

from typing import Any

from agent.collectors.base import Collector, Facts
from agent.parsers import aggregate_of, canonical_address, parse_default_route_interface, prefix_length
from agent.system import System


class InterfacesCollector(Collector):
    name = "interfaces"

    def collect(self, system: System, facts: Facts) -> dict[str, Any]:
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
                    address = canonical_address(entry.address)
                    ips.append(
                        {
                            "address": address,
                            "prefix_length": prefix_length(entry.netmask, version),
                            "version": version,
                        }
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
                {
                    "name": nic,
                    "mac": mac,
                    "mtu": stat.mtu if stat else None,
                    "speed_mbps": stat.speed_mbps if stat and stat.speed_mbps > 0 else None,
                    "oper_status": ("up" if stat.isup else "down") if stat else "unknown",
                    "physical": physical,
                    "aggregate": aggregate,
                    "addresses": ips,
                }
            )
        default = parse_default_route_interface(system.read_text("/proc/net/route") or "")
        primary_mac = next((i["mac"] for i in interfaces if i["name"] == default), None)
        return {"interfaces": interfaces, "default_interface": default, "primary_mac": primary_mac}
