"""The Linux-over-SSH scanner: read-only commands on one connection, parsed into facts."""

from __future__ import annotations

import asyncio
from typing import Any

from agent.collectors.sockets import (
    ListenSocket,
    Process,
    counts_as_listening,
    long_running_programs,
    program_connections,
)
from agent.parsers import parse_cpuinfo, parse_dpkg_query, parse_os_release, parse_rpm_query
from agent.report import build_report
from discovery.config import DiscoveryConfig
from discovery.results import ProtocolResult, Status
from discovery.ssh import parsers
from discovery.ssh.session import SshFailure, SshSession

# Read-only, each on its own so that one failing (rpm absent, say) does not hide the others.
COMMANDS: dict[str, str] = {
    "os_release": "cat /etc/os-release 2>/dev/null || cat /usr/lib/os-release",
    "machine_id": "cat /etc/machine-id 2>/dev/null || cat /var/lib/dbus/machine-id",
    "uname": "uname -srm",
    "hostname": "hostname",
    "fqdn": "hostname -f 2>/dev/null",
    "ip_addr": "ip -j addr",
    "default_route": "ip route show default",
    "cpuinfo": "cat /proc/cpuinfo",
    "meminfo": "cat /proc/meminfo",
    "stat": "cat /proc/stat",
    "filesystems": "cat /proc/filesystems",
    "df": "df -PTk",
    "dpkg": "command -v dpkg-query >/dev/null && dpkg-query -W "
    "-f='${Package}\\t${Version}\\t${Architecture}\\t${db:Status-Status}\\n'",
    "rpm": "command -v dpkg-query >/dev/null || { command -v rpm >/dev/null && rpm -qa "
    "--qf '%{NAME}\\t%{EPOCHNUM}\\t%{VERSION}-%{RELEASE}\\t%{ARCH}\\n'; }",
    "listeners": "ss -Htulnp",
    "established": "ss -Htnp state established",
    "processes": "ps -eo pid=,ppid=,user=,comm=",
    "cgroups": "grep -H -e '^0::' -e 'name=systemd' /proc/[0-9]*/cgroup",
    "sysfs_nics": "ls -d /sys/class/net/*/ /sys/class/net/*/device",
    "sysfs_link": "cd /sys/class/net && grep -s . */speed */ifalias",
}


# The commands that can block (a name lookup, a stale NFS mount, an rpm database lock) run under
# `timeout`; the others read local files and run directly in the batch's shell, because a
# `timeout` and a shell per command doubled the batch's cost on the target.
MAY_BLOCK = frozenset({"fqdn", "df", "rpm"})


MARKER = "@@cmdb-discover@@"


def batch_script(commands: dict[str, str], timeout: float, may_block: frozenset[str] = MAY_BLOCK) -> str:
    """One shell script for all commands: one channel and one shell instead of one per command.

    Each command's output sits between markers that split it back; those that may block run
    under ``timeout`` in a shell of their own.
    """
    seconds = max(1, int(timeout))
    parts = []
    for name, command in commands.items():
        # The newline before each marker ends an output that has none of its own.
        parts.append(f"printf '\\n%s\\n' '{MARKER} {name}'")
        if name in may_block:
            quoted = command.replace("'", "'\\''")
            parts.append(f"timeout {seconds} sh -c '{quoted}' 2>/dev/null")
        else:
            parts.append(f"{{ {command}\n}} 2>/dev/null")
    return "\n".join(parts) + "\nprintf '\\n'\n"


def split_batch(output: str) -> dict[str, str]:
    """The batch's output back into one text per command (pure)."""
    outputs: dict[str, str] = {}
    name = None
    lines: list[str] = []
    for line in output.splitlines(keepends=True):
        if line.startswith(MARKER + " "):
            if name is not None:
                outputs[name] = "".join(lines)[:-1]  # the newline the script put before the marker
            name, lines = line[len(MARKER) + 1 :].strip(), []
        elif name is not None:
            lines.append(line)
    if name is not None:
        outputs[name] = "".join(lines)[:-1]
    return outputs


def run_all(session: SshSession, commands: dict[str, str], timeout: float) -> dict[str, str]:
    result = session.run(batch_script(commands, timeout), timeout=timeout * len(commands))
    return split_batch(result.stdout)


def facts_from_outputs(outputs: dict[str, str]) -> dict[str, Any]:
    """Facts in the agent's shape from the commands' outputs (pure)."""
    release = parse_os_release(outputs.get("os_release", ""))
    uname = parsers.parse_uname(outputs.get("uname", ""))
    cpu = parse_cpuinfo(outputs.get("cpuinfo", ""))
    interfaces = parsers.parse_ip_addr_json(outputs.get("ip_addr", "") or "[]")
    default = parsers.parse_default_route(outputs.get("default_route", ""))
    hostname = outputs.get("hostname", "").strip().split(".", 1)[0] or None
    fqdn = outputs.get("fqdn", "").strip()
    physical = parsers.parse_sysfs_nics(outputs.get("sysfs_nics", ""))
    links = parsers.parse_sysfs_link(outputs.get("sysfs_link", ""))
    for nic in interfaces:
        nic["physical"] = physical.get(nic["name"])
        link = links.get(nic["name"], {})
        nic["speed_mbps"] = link.get("speed_mbps")
        nic["alias"] = link.get("alias") or nic["alias"]
    return {
        "errors": {},
        "identity": {
            "machine_id": outputs.get("machine_id", "").strip() or None,
            "hostname": hostname,
            "fqdn": fqdn if "." in fqdn else None,
            "vendor": None,
            "model": None,
            "serial": None,
            "hardware_uuid": None,
        },
        "os": {
            "system": uname["system"],
            "os_name": release.get("NAME") or uname["system"],
            "os_version": release.get("VERSION_ID"),
            "distribution": release.get("ID"),
            "kernel": uname["kernel"],
            "architecture": uname["architecture"],
            "boot_time": parsers.parse_boot_time(outputs.get("stat", "")),
            "cpu_model": cpu["cpu_model"],
            **parsers.parse_cpu_topology(outputs.get("cpuinfo", "")),
            "memory_bytes": parsers.parse_meminfo_total(outputs.get("meminfo", "")),
            "virtual": cpu["virtual"],
        },
        "interfaces": {
            "interfaces": interfaces,
            "default_interface": default,
            "primary_mac": next((i["mac"] for i in interfaces if i["name"] == default), None),
        },
        "filesystems": parsers.parse_df(
            outputs.get("df", ""), parsers.parse_real_fs_types(outputs.get("filesystems", ""))
        ),
        "dpkg": parse_dpkg_query(outputs.get("dpkg", "")),
        "rpm": parse_rpm_query(outputs.get("rpm", "")),
        "sockets": sockets_from_outputs(outputs),
    }


def sockets_from_outputs(outputs: dict[str, str]) -> dict[str, Any]:
    """Listeners, long-running programs and their connections, as the agent's sockets collector
    gives them (the same program keys, so agent and SSH meet in one SoftwareInstance)."""
    listeners = parsers.parse_ss_listeners(outputs.get("listeners", ""))
    tcp_ports = {s["port"] for s in listeners if s["protocol"] == "tcp"}
    outgoing = parsers.parse_ss_established(outputs.get("established", ""), tcp_ports)
    listening: dict[int, set[ListenSocket]] = {}
    names: dict[int, str] = {c["pid"]: c["process_name"] for c in outgoing}
    for listener in listeners:
        sock = (listener["protocol"], listener["address"], listener["port"])
        for pid in listener.pop("pids"):
            names.setdefault(pid, listener["process_name"] or "unknown")
            if counts_as_listening(listener["protocol"], listener["port"]):
                listening.setdefault(pid, set()).add(sock)
    ps = parsers.parse_ps(outputs.get("processes", ""))
    units = parsers.parse_cgroups(outputs.get("cgroups", ""))
    for pid in set(names) - set(ps):  # gone before ps ran, or ps unavailable: ss named it
        ps[pid] = {"ppid": None, "user": None, "name": names[pid]}
    processes = {
        pid: Process(pid, info["name"], None, info["user"], info["ppid"], units.get(pid)) for pid, info in ps.items()
    }
    programs, key_of = long_running_programs(processes, listening, {c["pid"] for c in outgoing})
    connections: dict[tuple[str, str, int], int] = {}
    for conn in outgoing:
        key = key_of.get(conn["pid"])
        if key is not None:
            edge = (key, conn["remote_address"], conn["remote_port"])
            connections[edge] = connections.get(edge, 0) + 1
    return {"listeners": listeners, "programs": programs, "connections": program_connections(connections)}


async def probe_ssh(address: str, config: DiscoveryConfig) -> ProtocolResult | None:
    """None when something takes the TCP connection on the SSH port; else why not (no answer)."""
    settings = config.ssh
    if not settings.credentials:
        return ProtocolResult("ssh", Status.NO_ANSWER, "no SSH credentials configured")
    try:
        _, writer = await asyncio.wait_for(asyncio.open_connection(address, settings.port), settings.timeout_seconds)
    except ConnectionRefusedError:
        return ProtocolResult("ssh", Status.NO_ANSWER, f"nothing listens on port {settings.port}")
    except TimeoutError:
        return ProtocolResult("ssh", Status.NO_ANSWER, f"no answer within {settings.timeout_seconds:g}s")
    except OSError as exc:
        return ProtocolResult("ssh", Status.NO_ANSWER, f"cannot connect: {exc.strerror or exc}")
    writer.close()
    return None


def scan_ssh(address: str, config: DiscoveryConfig) -> ProtocolResult:
    """Try each SSH credential in turn; the first that logs in reads the host."""
    last = ProtocolResult("ssh", Status.NO_ANSWER, "no SSH credentials configured")
    for credential in config.ssh.credentials:
        try:
            with SshSession(address, config.ssh, credential) as session:
                outputs = run_all(session, COMMANDS, config.ssh.command_timeout_seconds)
                fingerprint = session.host_key_fingerprint
        except SshFailure as exc:
            last = ProtocolResult("ssh", exc.status, exc.reason, credential=credential.name)
            if exc.status is not Status.AUTH_FAILED:
                return last  # no answer, refused key...: another credential will not change that
            continue
        facts = facts_from_outputs(outputs)
        if not facts["identity"]["machine_id"] and not facts["identity"]["hostname"]:
            return ProtocolResult("ssh", Status.ERROR, "logged in, but no command answered", credential=credential.name)
        report: dict[str, Any] = dict(
            build_report(
                facts,
                network_domain=config.network_domain,
                source=("ssh", f"{config.name}@{address}"),
            )
        )
        if fingerprint:
            report["records"][0]["attributes"]["ssh_host_key"] = fingerprint
        return ProtocolResult("ssh", Status.OK, f"{len(report['records'])} records", report, credential.name)
    return last
