"""Turning collected facts into a report of the contract in ``schema/report.py``."""

from __future__ import annotations

import ipaddress
from datetime import datetime

from agent.collectors import Facts
from agent.collectors.interfaces import interface_attributes
from agent.parsers import is_host_scoped
from schema.report import ReportDict
from schema.report_builder import ReportBuilder, drop_none

HOST_REF = "host"


def source_name(facts: Facts) -> str:
    """Unique per host even where host names repeat: name and machine-id."""
    identity = facts.get("identity", {})
    hostname = identity.get("hostname") or "unknown"
    machine_id = identity.get("machine_id")
    return f"{hostname}/{machine_id}" if machine_id else hostname


def build_report(
    facts: Facts,
    network_domain: str = "global",
    now: datetime | None = None,
    source: tuple[str, str] | None = None,
) -> ReportDict:
    """The report of one host from its facts; ``source`` is (kind, name), the agent's by default.

    The SSH collector builds its facts in the same shape and calls this too, so that the
    agent and SSH discovery of one machine describe it the same way and meet in one CI.
    """
    identity = facts.get("identity", {})
    os_facts = facts.get("os", {})
    nets = facts.get("interfaces", {"interfaces": [], "primary_mac": None})
    report = ReportBuilder()
    add = report.add
    host_identity = drop_none(
        {
            "machine_id": identity.get("machine_id"),
            "fqdn": identity.get("fqdn"),
            "hostname": identity.get("hostname") if nets.get("primary_mac") else None,
            "primary_mac": nets.get("primary_mac"),
        }
    )
    if not host_identity:  # no machine-id, no FQDN, no default route: the bare host name
        host_identity = {"fqdn": identity.get("hostname")}
    host_attributes = drop_none(
        {
            "name": identity.get("hostname"),
            "hostname": identity.get("hostname"),
            "vendor": identity.get("vendor"),
            "model": identity.get("model"),
            "serial": identity.get("serial"),
            "hardware_uuid": identity.get("hardware_uuid"),
            **{
                k: os_facts.get(k)
                for k in (
                    "os_name",
                    "os_version",
                    "kernel",
                    "architecture",
                    "boot_time",
                    "cpu_model",
                    "cpu_cores",
                    "cpu_threads",
                    "memory_bytes",
                    "virtual",
                )
            },
        }
    )
    is_linux = os_facts.get("system") == "Linux"
    if is_linux and os_facts.get("distribution"):
        host_attributes["distribution"] = os_facts["distribution"]
    add(
        {
            "ref": HOST_REF,
            "class": "LinuxHost" if is_linux else "Host",
            "identity": host_identity,
            "attributes": host_attributes,
        }
    )

    own_addresses: set[str] = set()
    for nic in nets.get("interfaces", []):
        nic_ref = f"if:{nic['name']}"
        add(
            {
                "ref": nic_ref,
                "class": "Interface",
                "parent": HOST_REF,
                "identity": {"name": nic["name"]},
                "attributes": interface_attributes(nic),
            }
        )
        if nic.get("aggregate"):
            report.relate("MEMBER_OF", nic_ref, f"if:{nic['aggregate']}")  # a bond's port: redundancy
        for addr in nic.get("addresses", []):
            own_addresses.add(addr["address"])
            if is_host_scoped(addr["address"]):
                continue
            ip_ref = report.ip_address(addr["address"], network_domain, addr["prefix_length"])
            report.relate("HAS_IP", nic_ref, ip_ref)

    for fs in facts.get("filesystems", []):
        add(
            {
                "ref": f"fs:{fs['mount_point']}",
                "class": "Filesystem",
                "parent": HOST_REF,
                "identity": {"mount_point": fs["mount_point"]},
                "attributes": drop_none(
                    {
                        "name": fs["mount_point"],
                        **{k: fs.get(k) for k in ("device", "fs_type", "size_bytes", "used_bytes")},
                    }
                ),
            }
        )

    for pkg in [*facts.get("dpkg", []), *facts.get("rpm", [])]:
        ref = f"pkg:{pkg['manager']}:{pkg['package_name']}:{pkg['architecture']}:{pkg['version']}"
        add(
            {
                "ref": ref,
                "class": "SoftwarePackage",
                "identity": dict(pkg),
                "attributes": {"name": pkg["package_name"]},
            }
        )
        report.relate("INSTALLED", HOST_REF, ref)

    sockets = facts.get("sockets", {"listeners": [], "connections": []})
    listeners: dict[tuple[str, int], str] = {}
    for svc in sockets.get("listeners", []):
        ref = f"svc:{svc['protocol']}:{svc['address']}:{svc['port']}"
        listeners[(svc["address"], svc["port"])] = (
            ref if svc["protocol"] == "tcp" else listeners.get((svc["address"], svc["port"]), ref)
        )
        add(
            {
                "ref": ref,
                "class": "ListeningService",
                "parent": HOST_REF,
                "identity": {"protocol": svc["protocol"], "address": svc["address"], "port": svc["port"]},
                "attributes": drop_none(
                    {
                        "name": f"{svc['process_name'] or 'unknown'} {svc['protocol']}/{svc['port']}",
                        "process_name": svc.get("process_name"),
                        "executable": svc.get("executable"),
                        "user": svc.get("user"),
                    }
                ),
            }
        )
    tcp_listeners = {k: v for k, v in listeners.items() if v.startswith("svc:tcp:")}
    for program in sockets.get("programs", []):
        identity = {"unit": program["unit"]} if program.get("unit") else {"listens": program["listens"]}
        label = program["unit"] or f"{program['process_name']} ({program['listens']})"
        add(
            {
                "ref": f"proc:{program['key']}",
                "class": "SoftwareInstance",
                "parent": HOST_REF,
                "identity": identity,
                "attributes": drop_none(
                    {
                        "name": label,
                        **{k: program.get(k) for k in ("process_name", "listens", "executable", "user")},
                    }
                ),
            }
        )
    for conn in sockets.get("connections", []):
        proc_ref = f"proc:{conn['program']}"
        remote, port = conn["remote_address"], conn["remote_port"]
        if remote in own_addresses or ipaddress.ip_address(remote).is_loopback:
            target = _local_listener(tcp_listeners, remote, port)
            if target is not None:
                report.relate("DEPENDS_ON", proc_ref, target)
            continue
        report.relate("DEPENDS_ON", proc_ref, report.ip_address(remote, network_domain), {"port": port})

    kind, name = source or ("agent", source_name(facts))
    return report.build(kind, name, collected_at=now)


def _local_listener(listeners: dict[tuple[str, int], str], address: str, port: int) -> str | None:
    """The service on this host a local connection reaches: on that address, or on all."""
    for candidate in (address, "0.0.0.0", "::"):  # noqa: S104 (wildcard addresses, not a bind)
        if (candidate, port) in listeners:
            return listeners[(candidate, port)]
    return None
