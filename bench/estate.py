"""A synthetic estate as reports of the contract, for ingest and impact benchmarks.

Hosts (800-1,500 packages drawn from a shared pool, 2-4 interfaces, 5-20 listening
services, connections to other hosts' services), access switches (48 ports) with LLDP
links to their hosts and uplinks to two core switches, and applications and business
services on top (declared through the API, as people would). Deterministic per seed.

A host is seen as each kind of source would report it, one function per shape:
``host_report`` (the agent: machine-id, DMI UUID, serial and vendor, physical NICs,
packages, services, connections), ``ssh_report`` (SSH discovery: the agent's records, as
the collector builds them with the same code, without what only root reads from DMI, with
the SSH host key) and ``snmp_report`` (SNMP discovery of a Linux host: its name, the
address it was asked on, its interfaces and addresses; no packages).
"""

from __future__ import annotations

import base64
import hashlib
import random
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

PACKAGE_POOL = 6000
HOSTS_PER_SWITCH = 40


@dataclass
class Host:
    index: int
    machine_id: str
    hostname: str
    mac: str
    address: str
    packages: list[int]
    services: list[int]
    peers: list[tuple[int, int]] = field(default_factory=list)  # (host index, port)

    # DMI and the SSH host key follow from the machine-id (not drawn from the seed's random
    # sequence, which would change every estate drawn before they existed).
    @property
    def hardware_uuid(self) -> str:
        return str(uuid.uuid5(uuid.NAMESPACE_OID, f"dmi/{self.machine_id}"))

    @property
    def serial(self) -> str:
        return f"CZ{int(self.machine_id[:8], 16) % 10**8:08d}"

    @property
    def ssh_host_key(self) -> str:
        digest = hashlib.sha256(f"ssh/{self.machine_id}".encode()).digest()
        return "SHA256:" + base64.b64encode(digest).decode().rstrip("=")

    def nics(self) -> list[tuple[str, str]]:
        """(name, MAC) of its network interfaces, as every source sees them."""
        return [(f"eth{n}", _mac(n + 1, self.index)) for n in range(2 + self.index % 3)]


def envelope(
    kind: str, name: str, records: list[dict[str, Any]], relations: list[dict[str, Any]], now: datetime | None
) -> dict[str, Any]:
    """A report of the contract around records and relations, as a source of ``kind`` sends it."""
    return {
        "version": 1,
        "report_id": str(uuid.uuid4()),
        "source": {"kind": kind, "name": name},
        "collected_at": (now or datetime.now(UTC)).isoformat(),
        "records": records,
        "relations": relations,
    }


def _mac(prefix: int, index: int) -> str:
    return ":".join(f"{b:02x}" for b in (0x52, 0x54, prefix, (index >> 16) & 255, (index >> 8) & 255, index & 255))


def _address(index: int) -> str:
    return f"10.{100 + (index >> 16)}.{(index >> 8) & 255}.{index & 255}"


def make_hosts(count: int, seed: int = 7) -> list[Host]:
    rng = random.Random(seed)
    hosts = []
    for i in range(count):
        services = sorted(rng.sample(range(1024, 9000), rng.randint(5, 20)))
        hosts.append(
            Host(
                index=i,
                machine_id=uuid.UUID(int=rng.getrandbits(128)).hex,
                hostname=f"host{i:05d}",
                mac=_mac(0, i),
                address=_address(i + 1),
                packages=sorted(rng.sample(range(PACKAGE_POOL), rng.randint(800, 1500))),
                services=services,
            )
        )
    for host in hosts:
        for _ in range(rng.randint(1, 4)):
            other = hosts[rng.randrange(count)]
            if other is not host:
                host.peers.append((other.index, rng.choice(other.services)))
    return hosts


DMI_VENDOR = "Dell Inc."
DMI_ONLY_ROOT_READS = ("hardware_uuid", "serial", "vendor")
"""DMI fields an unprivileged SSH login cannot read (product_uuid, product_serial), and the
vendor, which SSH discovery leaves out with them."""


def host_report(
    host: Host, hosts: list[Host], *, kernel: str = "6.1.0-28-amd64", now: datetime | None = None
) -> dict[str, Any]:
    """The agent's report of a host."""
    records: list[dict[str, Any]] = [
        {
            "ref": "host",
            "class": "LinuxHost",
            "identity": {"machine_id": host.machine_id, "hostname": host.hostname, "primary_mac": host.mac},
            "attributes": {
                "name": host.hostname,
                "os_name": "Debian GNU/Linux",
                "os_version": "12",
                "kernel": kernel,
                "cpu_cores": 8,
                "memory_bytes": 32 * 2**30,
                "vendor": DMI_VENDOR,
                "model": "PowerEdge R650",
                "serial": host.serial,
                "hardware_uuid": host.hardware_uuid,
            },
        },
    ]
    relations: list[dict[str, Any]] = []
    for name, mac in host.nics():
        records.append(
            {
                "ref": f"if:{name}",
                "class": "Interface",
                "parent": "host",
                "identity": {"name": name},
                "attributes": {"mac": mac, "mtu": 1500, "oper_status": "up", "physical": True},
            }
        )
    records.append(
        {
            "ref": "ip",
            "class": "IPAddress",
            "identity": {"address": host.address, "domain": "global"},
            "attributes": {"prefix_length": 16, "version": 4},
        }
    )
    relations.append({"type": "HAS_IP", "from": "if:eth0", "to": "ip"})
    for p in host.packages:
        ref = f"pkg:{p}"
        records.append(
            {
                "ref": ref,
                "class": "SoftwarePackage",
                "identity": {
                    "package_name": f"pkg{p:04d}",
                    "version": f"1.{p % 7}.{p % 13}",
                    "architecture": "amd64",
                    "manager": "dpkg",
                },
                "attributes": {"name": f"pkg{p:04d}"},
            }
        )
        relations.append({"type": "INSTALLED", "from": "host", "to": ref})
    for port in host.services:
        records.append(
            {
                "ref": f"svc:{port}",
                "class": "ListeningService",
                "parent": "host",
                "identity": {"protocol": "tcp", "address": "0.0.0.0", "port": port},
                "attributes": {"name": f"svc{port}", "process_name": f"daemon{port % 50}"},
            }
        )
    if host.peers:
        records.append(
            {"ref": "proc:app", "class": "SoftwareInstance", "parent": "host", "identity": {"listens": "tcp/8080"}}
        )
        for other, port in host.peers:
            ip_ref = f"ip:{hosts[other].address}"
            if not any(r["ref"] == ip_ref for r in records):
                records.append(
                    {
                        "ref": ip_ref,
                        "class": "IPAddress",
                        "identity": {"address": hosts[other].address, "domain": "global"},
                    }
                )
            relations.append({"type": "DEPENDS_ON", "from": "proc:app", "to": ip_ref, "properties": {"port": port}})
    return envelope("agent", f"{host.hostname}/{host.machine_id}", records, relations, now)


def ssh_report(
    host: Host,
    hosts: list[Host],
    *,
    collector: str = "collector",
    kernel: str = "6.1.0-28-amd64",
    now: datetime | None = None,
) -> dict[str, Any]:
    """SSH discovery's report of a host: the agent's records (discovery builds them with the
    agent's code), without the DMI fields only root reads, with the host key it accepted."""
    seen = host_report(host, hosts, kernel=kernel, now=now)
    seen["source"] = {"kind": "ssh", "name": f"{collector}@{host.address}"}
    attributes = seen["records"][0]["attributes"]
    for key in DMI_ONLY_ROOT_READS:
        del attributes[key]
    attributes["ssh_host_key"] = host.ssh_host_key
    return seen


def snmp_report(
    host: Host, *, collector: str = "collector", kernel: str = "6.1.0-28-amd64", now: datetime | None = None
) -> dict[str, Any]:
    """SNMP discovery's report of a Linux host running an SNMP agent (discovery/snmp/device.py):
    its sysName and the address it was asked on, sysDescr, its interfaces (ifTable: names,
    MACs, indexes and types; SNMP cannot tell a hardware port, so no ``physical``) and the
    addresses on them (IP-MIB); no packages."""
    records: list[dict[str, Any]] = [
        {
            "ref": "device",
            "class": "LinuxHost",
            "identity": {"hostname": host.hostname, "management_ip": host.address},
            "attributes": {
                "name": host.hostname,
                "os_name": f"Linux {host.hostname} {kernel} #1 SMP PREEMPT_DYNAMIC Debian x86_64",
                "memory_bytes": 32 * 2**30,
            },
        },
    ]
    relations: list[dict[str, Any]] = []
    for n, (name, mac) in enumerate(host.nics()):
        records.append(
            {
                "ref": f"if:{n + 2}",  # ifIndex 1 is the loopback
                "class": "Interface",
                "parent": "device",
                "identity": {"name": name},
                "attributes": {
                    "mac": mac,
                    "mtu": 1500,
                    "oper_status": "up",
                    "if_index": n + 2,
                    "if_type": "ethernetCsmacd",
                },
            }
        )
    records.append(
        {
            "ref": f"ip:{host.address}",
            "class": "IPAddress",
            "identity": {"address": host.address, "domain": "global"},
            "attributes": {"prefix_length": 16, "version": 4},
        }
    )
    relations.append({"type": "HAS_IP", "from": "if:2", "to": f"ip:{host.address}"})
    return envelope("snmp", f"{collector}@{host.address}", records, relations, now)


def switch_reports(hosts: list[Host], now: datetime | None = None) -> list[dict[str, Any]]:
    """Two core switches and one access switch per 40 hosts, with LLDP links (as placeholders)."""
    reports = []
    access_count = (len(hosts) + HOSTS_PER_SWITCH - 1) // HOSTS_PER_SWITCH
    for a in range(access_count):
        members = hosts[a * HOSTS_PER_SWITCH : (a + 1) * HOSTS_PER_SWITCH]
        records: list[dict[str, Any]] = [
            {
                "ref": "device",
                "class": "Switch",
                "identity": {"serial": f"ACC{a:05d}", "vendor": "Cisco"},
                "attributes": {"name": f"access{a:03d}", "model": "C9300-48T"},
            },
        ]
        relations: list[dict[str, Any]] = []
        for port in range(1, 49):
            records.append(
                {
                    "ref": f"p{port}",
                    "class": "Interface",
                    "parent": "device",
                    "identity": {"name": f"Gi1/0/{port}"},
                    "attributes": {"oper_status": "up"},
                }
            )
        for n, host in enumerate(members, start=1):
            records += [
                {
                    "ref": f"h{n}",
                    "class": "Host",
                    "identity": {"hostname": host.hostname, "primary_mac": host.mac, "management_ip": host.address},
                },
                {"ref": f"h{n}:eth0", "class": "Interface", "parent": f"h{n}", "identity": {"name": "eth0"}},
            ]
            relations.append({"type": "CONNECTED_TO", "from": f"p{n}", "to": f"h{n}:eth0"})
        for up, core in ((47, 0), (48, 1)):
            records += [
                {
                    "ref": f"core{core}",
                    "class": "Switch",
                    "identity": {"serial": f"CORE{core}", "vendor": "Cisco"},
                    "attributes": {"name": f"core{core}"},
                },
                {
                    "ref": f"core{core}:port",
                    "class": "Interface",
                    "parent": f"core{core}",
                    "identity": {"name": f"Te1/0/{a + 1}"},
                },
            ]
            relations.append({"type": "CONNECTED_TO", "from": f"p{up}", "to": f"core{core}:port"})
        reports.append(envelope("snmp", f"bench@access{a:03d}", records, relations, now))
    return reports
