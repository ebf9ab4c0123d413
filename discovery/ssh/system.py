"""The agent's ``System`` seam (agent/system.py) over one SSH session.

Every agent collector (agent/collectors/) then reads a host over SSH unchanged, and
``agent.report.build_report`` makes its report: the agent and SSH discovery of one machine
describe it with the same code and meet in one CI. SSH adds no topic of its own.

A collector asks many small questions (a sysfs file per interface, a cgroup file per
process); one round trip each would cost more than the commands. So ``SshSystem.read``
first runs one batch (discovery/ssh/batch.py) that answers what the registered collectors
ask: the files they read (``FILES``, by glob, read by one ``grep``), the commands they run
(``COMMANDS``) and the psutil-like tables (``ip``, ``df``, ``ss``, ``ps``). A question
outside that plan still gets its answer, over one more command on the session
(``remote_calls`` counts them, and a test keeps the registered collectors at none).

Read through ``grep``, a file is its lines, each ending with a newline, and an empty file
reads as absent: no collector tells those apart.
"""

from __future__ import annotations

import fnmatch
import ipaddress
import shlex
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Protocol

from agent.collectors.packages import DPKG_QUERY, RPM_QUERY
from agent.system import NicAddress, NicStats, Partition, ProcessInfo, Socket
from discovery.ssh import parsers
from discovery.ssh.batch import Answer, CommandResult, batch_script, split_batch

FILES: tuple[str, ...] = (
    "/etc/machine-id",
    "/var/lib/dbus/machine-id",
    "/etc/os-release",
    "/usr/lib/os-release",
    "/sys/class/dmi/id/sys_vendor",
    "/sys/class/dmi/id/product_name",
    "/sys/class/dmi/id/product_serial",
    "/sys/class/dmi/id/product_uuid",
    "/proc/cpuinfo",
    "/proc/meminfo",
    "/proc/stat",
    "/proc/filesystems",
    "/proc/net/route",
    "/sys/class/net/*/type",
    "/sys/class/net/*/flags",
    "/sys/class/net/*/speed",
    "/sys/class/net/*/operstate",
    "/sys/class/net/*/carrier",
    "/sys/class/net/*/ifalias",
    "/sys/class/net/*/device/uevent",
    "/sys/class/net/*/master/uevent",
    "/proc/[0-9]*/cgroup",
)
"""The files the registered collectors read, as shell globs (one segment per ``*``)."""

KNOWN_COMMANDS: tuple[str, ...] = ("dpkg-query", "rpm")
"""The commands whose presence the collectors ask about (``has_command``)."""

RUNS: dict[str, tuple[list[str], str]] = {
    "dpkg": (DPKG_QUERY, "command -v dpkg-query >/dev/null"),
    # As the rpm collector: only where rpm owns the system, not Debian's spare rpm binary.
    "rpm": (RPM_QUERY, "! command -v dpkg-query >/dev/null && command -v rpm >/dev/null"),
}
"""The commands the collectors run (by a name of the batch's), each with the shell test under
which a collector would run it."""

TABLES: dict[str, str] = {
    "hostname": "hostname",
    "fqdn": "hostname -f",
    "uname": "uname -srm",
    "ip_addr": "ip -j addr",
    "df": "df -aPTk",  # -a: every mount, as psutil lists them (df hides a second mount of one device)
    "listeners": "ss -Htulnp",
    "established": "ss -Htnp state established",
    "processes": "ps -eo pid=,ppid=,user:64=,comm=",
}
"""What psutil and the socket module answer for the agent, as commands."""


class Runner(Protocol):
    """What SshSystem needs of a session (discovery/ssh/session.py's ``SshSession``)."""

    def run(self, command: str, timeout: float | None = None) -> CommandResult: ...


def plan() -> dict[str, str]:
    """The batch: every table, command and file the registered collectors ask for."""
    commands = dict(TABLES)
    names = " ".join(KNOWN_COMMANDS)
    commands["commands"] = f'for c in {names}; do command -v "$c" >/dev/null && echo "$c"; done; true'
    for name, (argv, guard) in RUNS.items():
        commands[name] = f"{guard} && {shlex.join(argv)}"
    commands["files"] = f"grep -aH '' {' '.join(FILES)}"
    return commands


def _covered(path: str, globs: Iterable[str]) -> bool:
    """Whether a path is one the batch's globs read (a ``*`` never spans a ``/``, as in the shell)."""
    parts = path.split("/")
    for glob in globs:
        pattern = glob.split("/")
        if len(pattern) == len(parts) and all(fnmatch.fnmatchcase(p, g) for p, g in zip(parts, pattern, strict=True)):
            return True
    return False


def _netmask(prefix_length: int, version: int) -> str:
    """A prefix length as the netmask psutil gives (255.255.255.0, ffff:ffff::)."""
    bits = 32 if version == 4 else 128
    mask = ((1 << bits) - 1) ^ ((1 << (bits - prefix_length)) - 1)
    return str(ipaddress.IPv4Address(mask) if version == 4 else ipaddress.IPv6Address(mask))


@dataclass
class SshSystem:
    """A host as one batch over SSH answered it, with ``session`` for what the batch did not ask."""

    answers: dict[str, Answer]
    session: Runner | None = None
    timeout: float = 30.0
    remote_calls: int = 0

    @cached_property
    def files(self) -> dict[str, str]:
        return parsers.parse_grep_files(self._text("files"))

    @cached_property
    def _interfaces(self) -> list[dict[str, Any]]:
        return parsers.parse_ip_addr_json(self._text("ip_addr") or "[]")

    @cached_property
    def _filesystems(self) -> list[dict[str, Any]]:
        real = parsers.parse_real_fs_types(self.files.get("/proc/filesystems", ""))
        return parsers.parse_df(self._text("df"), real)

    @cached_property
    def _listeners(self) -> list[dict[str, Any]]:
        return parsers.parse_ss_listeners(self._text("listeners"))

    @cached_property
    def _established(self) -> list[dict[str, Any]]:
        return parsers.parse_ss_established(self._text("established"), set())

    @cached_property
    def _processes(self) -> dict[int, dict[str, Any]]:
        return parsers.parse_ps(self._text("processes"))

    @classmethod
    def read(cls, session: Runner, timeout: float) -> SshSystem:
        """Run the batch on the session: one channel for everything the collectors will ask."""
        commands = plan()
        output = session.run(batch_script(commands, timeout), timeout=timeout * len(commands))
        return cls(split_batch(output.stdout), session, timeout)

    def _text(self, name: str) -> str:
        answer = self.answers.get(name)
        return answer.text if answer is not None else ""

    def _remote(self, command: str) -> str | None:
        if self.session is None:
            return None
        self.remote_calls += 1
        done = self.session.run(command, timeout=self.timeout)
        return done.stdout if done.exit_status == 0 else None

    def read_text(self, path: str) -> str | None:
        if _covered(path, FILES):
            return self.files.get(path)
        return self._remote(f"cat -- {shlex.quote(path)}")

    def run(self, argv: list[str], timeout: float = 60) -> str | None:
        name = next((name for name, (planned, _) in RUNS.items() if planned == argv), None)
        answer = self.answers.get(name) if name is not None else None
        if answer is not None:
            return answer.text if answer.ok else None
        return self._remote(shlex.join(argv))

    def has_command(self, name: str) -> bool:
        if name in KNOWN_COMMANDS:
            return name in self._text("commands").split()
        return self._remote(f"command -v {shlex.quote(name)}") is not None

    def hostname(self) -> str:
        return self._text("hostname").strip()

    def fqdn(self) -> str | None:
        return self._text("fqdn").strip() or None

    def boot_time(self) -> float:
        return float(parsers.parse_boot_time(self.files.get("/proc/stat", "")) or 0)

    def cpu_count(self, logical: bool) -> int | None:
        topology = parsers.parse_cpu_topology(self.files.get("/proc/cpuinfo", ""))
        return topology["cpu_threads"] if logical else topology["cpu_cores"]

    def memory_total(self) -> int:
        return parsers.parse_meminfo_total(self.files.get("/proc/meminfo", "")) or 0

    def partitions(self) -> list[Partition]:
        return [Partition(str(f["device"]), str(f["mount_point"]), str(f["fs_type"])) for f in self._filesystems]

    def disk_usage(self, mount_point: str) -> tuple[int, int] | None:
        for fs in self._filesystems:
            if fs["mount_point"] == mount_point:
                return int(fs["size_bytes"]), int(fs["used_bytes"])
        return None

    def nic_addresses(self) -> dict[str, list[NicAddress]]:
        result: dict[str, list[NicAddress]] = {}
        for nic in self._interfaces:
            entries = [NicAddress("link", nic["mac"], None)] if nic["mac"] else []
            for address in nic["addresses"]:
                family = "inet" if address["version"] == 4 else "inet6"
                netmask = _netmask(address["prefix_length"], address["version"])
                entries.append(NicAddress(family, address["address"], netmask))
            result[nic["name"]] = entries
        return result

    def nic_stats(self) -> dict[str, NicStats]:
        stats = {}
        for nic in self._interfaces:
            speed = (self.files.get(f"/sys/class/net/{nic['name']}/speed") or "").strip()
            stats[nic["name"]] = NicStats(
                isup=nic["oper_status"] == "up",  # psutil's: up and running (IFF_RUNNING)
                mtu=int(nic["mtu"] or 0),
                speed_mbps=int(speed) if speed.lstrip("-").isdigit() else 0,
            )
        return stats

    def sockets(self) -> list[Socket]:
        """Listening and bound sockets, one per process holding them (as psutil lists them), and
        established TCP connections with the process that holds each."""
        result = []
        for listener in self._listeners:
            status = "LISTEN" if listener["protocol"] == "tcp" else "NONE"
            for pid in listener["pids"] or [None]:
                result.append(
                    Socket(listener["protocol"], listener["address"], listener["port"], None, None, status, pid)
                )
        for conn in self._established:
            result.append(
                Socket(
                    "tcp",
                    conn["local_address"],
                    conn["local_port"],
                    conn["remote_address"],
                    conn["remote_port"],
                    "ESTABLISHED",
                    conn["pid"],
                )
            )
        return result

    def process(self, pid: int) -> ProcessInfo | None:
        info = self._processes.get(pid)
        if info is not None:
            return ProcessInfo(name=info["name"], executable=None, user=info["user"], ppid=info["ppid"])
        # Gone before ps ran, or no ps: ss still named the process that held the socket.
        for listener in self._listeners:
            if pid in listener["pids"]:
                return ProcessInfo(name=listener["process_name"] or "unknown", executable=None, user=None)
        for conn in self._established:
            if conn["pid"] == pid:
                return ProcessInfo(name=conn["process_name"], executable=None, user=None)
        return None

    def platform(self) -> dict[str, str]:
        uname = parsers.parse_uname(self._text("uname"))
        return {key: value or "" for key, value in uname.items()}
