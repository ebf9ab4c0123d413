"""Parsers of command outputs read over SSH: pure functions over text.

They answer what psutil answers the agent (discovery/ssh/system.py turns them into the
``System`` seam's types), so that the agent's own collectors read the host over SSH.
Each has recorded outputs in tests/fixtures/ssh/<command>/.
"""

from __future__ import annotations

import json
import re
from typing import Any

from agent.collectors.interfaces import oper_status
from agent.parsers import canonical_address
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


def parse_meminfo_total(text: str) -> int | None:
    match = re.search(r"^MemTotal:\s+(\d+)\s*kB", text, re.MULTILINE)
    return int(match.group(1)) * 1024 if match else None


def parse_boot_time(proc_stat: str) -> int | None:
    """The ``btime`` line of /proc/stat: the boot time in seconds since the epoch."""
    match = re.search(r"^btime\s+(\d+)", proc_stat, re.MULTILINE)
    return int(match.group(1)) if match else None


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
        local, local_port = _split_endpoint(fields[2])
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
                "local_address": canonical_address(local),
                "local_port": local_port,
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


def parse_grep_files(text: str) -> dict[str, str]:
    """``grep -aH '' FILE...``: every file's text, each line ending with a newline (pure).

    One process reads any number of files (a cgroup file per process, a sysfs file per
    interface). A path holds no colon here: /proc, /sys and /etc paths and interface names
    (the kernel refuses a colon in one) are all there is. An empty or unreadable file is absent.
    """
    files: dict[str, list[str]] = {}
    for line in text.splitlines():
        path, colon, content = line.partition(":")
        if colon and path.startswith("/"):
            files.setdefault(path, []).append(content + "\n")
    return {path: "".join(lines) for path, lines in files.items()}
