"""Parsers of command outputs read over SSH: pure functions over text.

They produce facts in the shape the agent's collectors produce (agent/collectors), so
that ``agent.report.build_report`` makes the same report of a host from either side.
Each has recorded outputs in tests/fixtures/ssh/<command>/.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

from agent.collectors.interfaces import oper_status
from agent.parsers import canonical_address, parse_cgroup_unit
from schema.enums import AdminStatus


def parse_uname(text: str) -> dict[str, str | None]:
    """``uname -srm``: kernel name, release, machine."""
    parts = text.split()
    return {
        "system": parts[0] if parts else None,
        "kernel": parts[1] if len(parts) > 1 else None,
        "architecture": parts[2] if len(parts) > 2 else None,
    }


def parse_ip_addr_json(text: str) -> list[dict[str, Any]]:
    """``ip -j addr``: interfaces with MAC, MTU, state, alias and addresses, as the agent reports
    them: admin status from the UP flag, oper status from operstate as the agent reads it from
    sysfs (``oper_status``; LOWER_UP is the carrier)."""
    interfaces = []
    for nic in json.loads(text or "[]"):
        flags = nic.get("flags", [])
        admin = AdminStatus.UP if "UP" in flags else AdminStatus.DOWN
        interfaces.append(
            {
                "name": nic["ifname"],
                "mac": (nic.get("address") or "").lower() or None,
                "mtu": nic.get("mtu"),
                "speed_mbps": None,
                "admin_status": admin,
                "oper_status": oper_status(nic.get("operstate", "UNKNOWN"), admin, "LOWER_UP" in flags),
                "alias": (nic.get("ifalias") or "").strip() or None,
                # A bond's or team's port carries the SLAVE flag (a bridge's port has a master too).
                "aggregate": nic.get("master") if "SLAVE" in flags else None,
                "addresses": [
                    {
                        "address": canonical_address(a["local"]),
                        "prefix_length": int(a["prefixlen"]),
                        "version": 4 if a.get("family") == "inet" else 6,
                    }
                    for a in nic.get("addr_info", [])
                    if "local" in a
                ],
            }
        )
    return interfaces


def parse_sysfs_link(text: str) -> dict[str, dict[str, Any]]:
    """``grep -s . */speed */ifalias`` in /sys/class/net: interface -> its link speed in Mbit/s
    and its alias, where set (``ip addr`` shows neither; the kernel gives a speed of -1, or an
    error, for a link that is down or has none)."""
    found: dict[str, dict[str, Any]] = {}
    for line in text.splitlines():
        path, _, value = line.partition(":")
        name, _, leaf = path.partition("/")
        if leaf == "speed" and value.strip().isdigit() and int(value) > 0:
            found.setdefault(name, {})["speed_mbps"] = int(value)
        elif leaf == "ifalias" and value.strip():
            found.setdefault(name, {})["alias"] = value.strip()
    return dict(sorted(found.items()))


def parse_default_route(text: str) -> str | None:
    """``ip route show default``: the device of the first default route."""
    match = re.search(r"\bdev\s+(\S+)", text)
    return match.group(1) if match else None


def parse_meminfo_total(text: str) -> int | None:
    match = re.search(r"^MemTotal:\s+(\d+)\s*kB", text, re.MULTILINE)
    return int(match.group(1)) * 1024 if match else None


def parse_boot_time(proc_stat: str) -> str | None:
    """The ``btime`` line of /proc/stat, as an ISO time."""
    match = re.search(r"^btime\s+(\d+)", proc_stat, re.MULTILINE)
    if not match:
        return None
    return datetime.fromtimestamp(int(match.group(1)), UTC).isoformat()


def parse_cpu_topology(cpuinfo: str) -> dict[str, int | None]:
    """Logical CPUs and physical cores (distinct physical id / core id pairs) from /proc/cpuinfo."""
    blocks = [b for b in cpuinfo.split("\n\n") if b.strip()]
    threads = sum(1 for b in blocks if re.search(r"^processor\s*:", b, re.MULTILINE))
    cores = set()
    for block in blocks:
        fields = dict((k.strip(), v.strip()) for k, _, v in (line.partition(":") for line in block.splitlines()) if k)
        if "core id" in fields:
            cores.add((fields.get("physical id", "0"), fields["core id"]))
    return {"cpu_threads": threads or None, "cpu_cores": len(cores) or threads or None}


def parse_df(df_output: str, real_fs_types: set[str]) -> list[dict[str, Any]]:
    """``df -PTk``: mounted filesystems of the types that are real (not nodev in /proc/filesystems)."""
    result = []
    seen = set()
    for line in df_output.splitlines()[1:]:
        fields = line.split()
        if len(fields) < 7:
            continue
        device, fs_type, blocks, used = fields[0], fields[1], fields[2], fields[3]
        mount_point = " ".join(fields[6:])
        if fs_type not in real_fs_types or mount_point in seen:
            continue
        seen.add(mount_point)
        result.append(
            {
                "mount_point": mount_point,
                "device": device,
                "fs_type": fs_type,
                "size_bytes": int(blocks) * 1024,
                "used_bytes": int(used) * 1024,
            }
        )
    return result


def parse_real_fs_types(proc_filesystems: str) -> set[str]:
    """Filesystem types backed by a device: /proc/filesystems lines without ``nodev``."""
    return {line.strip() for line in proc_filesystems.splitlines() if line.strip() and not line.startswith("nodev")}


_USERS = re.compile(r'\("([^"]+)",pid=(\d+)')


def _split_endpoint(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    host = host.strip("[]")
    if "%" in host:
        host = host.split("%", 1)[0]
    return host, int(port)


def _users(users: str) -> list[tuple[str, int]]:
    """(process name, pid) of every process holding the socket, from ss's ``users:(...)``."""
    return [(name, int(pid)) for name, pid in _USERS.findall(users)]


def parse_ss_listeners(text: str) -> list[dict[str, Any]]:
    """``ss -Htulnp``: listening TCP sockets and bound UDP sockets with their process(es)."""
    listeners: dict[tuple[str, str, int], dict[str, Any]] = {}
    for line in text.splitlines():
        fields = line.split(None, 6)
        if len(fields) < 5:
            continue
        protocol = fields[0]
        if protocol not in ("tcp", "udp"):
            continue
        address, port = _split_endpoint(fields[4])
        address = canonical_address("0.0.0.0" if address == "*" else address)  # noqa: S104
        key = (protocol, address, port)
        users = _users(fields[6]) if len(fields) > 6 else []
        listeners.setdefault(
            key,
            {
                "protocol": protocol,
                "address": address,
                "port": port,
                "process_name": users[0][0] if users else None,
                "executable": None,
                "user": None,
                "pids": sorted({pid for _, pid in users}),
            },
        )
    return sorted(listeners.values(), key=lambda s: (s["protocol"], s["address"], s["port"]))


def parse_ss_established(text: str, listening_tcp_ports: set[int]) -> list[dict[str, Any]]:
    """``ss -Htnp state established``: outgoing connections with the process holding each.

    Connections whose local port is a listening port are the server's end and are left out,
    as are those whose process ss cannot name (not ours to see).
    """
    connections = []
    for line in text.splitlines():
        fields = line.split(None, 4)
        if len(fields) < 4:
            continue
        # With a state filter ss omits the state column: Recv-Q Send-Q Local Peer [users]
        _, local_port = _split_endpoint(fields[2])
        remote, remote_port = _split_endpoint(fields[3])
        if local_port in listening_tcp_ports:
            continue
        users = _users(fields[4]) if len(fields) > 4 else []
        if not users:
            continue
        connections.append(
            {
                "process_name": users[0][0],
                "pid": users[0][1],
                "remote_address": canonical_address(remote),
                "remote_port": remote_port,
            }
        )
    return sorted(connections, key=lambda c: (c["pid"], c["remote_address"], c["remote_port"]))


def parse_ps(text: str) -> dict[int, dict[str, Any]]:
    """``ps -eo pid=,ppid=,user=,comm=``: every process with its parent, user and name."""
    processes = {}
    for line in text.splitlines():
        fields = line.split(None, 3)
        if len(fields) < 4 or not fields[0].isdigit() or not fields[1].isdigit():
            continue
        processes[int(fields[0])] = {"ppid": int(fields[1]) or None, "user": fields[2], "name": fields[3].strip()}
    return processes


def parse_cgroups(text: str) -> dict[int, str]:
    """``grep -H`` over /proc/*/cgroup: pid -> the systemd service unit it runs in (those in one)."""
    units: dict[int, str] = {}
    for line in text.splitlines():
        path, _, entry = line.partition(":")
        match = re.match(r"^/proc/(\d+)/cgroup$", path)
        if not match:
            continue
        unit = parse_cgroup_unit(entry)
        if unit is not None:
            units.setdefault(int(match.group(1)), unit)
    return units


def parse_sysfs_nics(text: str) -> dict[str, bool]:
    """``ls -d /sys/class/net/*/ /sys/class/net/*/device``: interface -> whether it is a hardware
    port (has a device). Empty without sysfs: nothing is known."""
    names = set()
    physical = set()
    for line in text.split():
        parts = [p for p in line.split("/") if p]
        if len(parts) >= 4 and parts[:3] == ["sys", "class", "net"]:
            names.add(parts[3])
            if len(parts) == 5 and parts[4] == "device":
                physical.add(parts[3])
    return {name: name in physical for name in sorted(names)}
