"""The one seam between the agent and the machine: every file read, command and psutil call.

Collectors take a ``System``; ``LiveSystem`` reads this machine, and tests pass a
``RecordedSystem`` holding outputs recorded on real machines.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol


@dataclass(frozen=True)
class NicAddress:
    family: str  # "inet", "inet6" or "link"
    address: str
    netmask: str | None


@dataclass(frozen=True)
class NicStats:
    isup: bool
    mtu: int
    speed_mbps: int


@dataclass(frozen=True)
class Partition:
    device: str
    mount_point: str
    fs_type: str


@dataclass(frozen=True)
class Socket:
    """One inet socket: ``status`` as psutil spells it (LISTEN, ESTABLISHED, NONE for UDP)."""

    protocol: str  # tcp or udp
    local_address: str
    local_port: int
    remote_address: str | None
    remote_port: int | None
    status: str
    pid: int | None


@dataclass(frozen=True)
class ProcessInfo:
    name: str
    executable: str | None
    user: str | None
    ppid: int | None = None  # the parent process: a worker belongs to the program that started it


class System(Protocol):
    def read_text(self, path: str) -> str | None: ...
    def run(self, argv: list[str], timeout: float = 60) -> str | None: ...
    def has_command(self, name: str) -> bool: ...
    def hostname(self) -> str: ...
    def fqdn(self) -> str | None: ...
    def boot_time(self) -> float: ...
    def cpu_count(self, logical: bool) -> int | None: ...
    def memory_total(self) -> int: ...
    def partitions(self) -> list[Partition]: ...
    def disk_usage(self, mount_point: str) -> tuple[int, int] | None: ...
    def nic_addresses(self) -> dict[str, list[NicAddress]]: ...
    def nic_stats(self) -> dict[str, NicStats]: ...
    def sockets(self) -> list[Socket]: ...
    def process(self, pid: int) -> ProcessInfo | None: ...
    def platform(self) -> dict[str, str]: ...


class LiveSystem:
    """This machine, through psutil, files and commands."""

    def __init__(self) -> None:
        import psutil

        self._psutil = psutil

    def read_text(self, path: str) -> str | None:
        try:
            return Path(path).read_text(encoding="utf-8", errors="replace")
        except OSError:
            return None

    def run(self, argv: list[str], timeout: float = 60) -> str | None:
        try:
            done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)
        except (OSError, subprocess.TimeoutExpired):
            return None
        return done.stdout if done.returncode == 0 else None

    def has_command(self, name: str) -> bool:
        return shutil.which(name) is not None

    def hostname(self) -> str:
        return socket.gethostname()

    def fqdn(self) -> str | None:
        try:
            infos = socket.getaddrinfo(socket.gethostname(), None, flags=socket.AI_CANONNAME)
        except OSError:
            return None
        names = [info[3] for info in infos if info[3]]
        return names[0] if names else None

    def boot_time(self) -> float:
        return float(self._psutil.boot_time())

    def cpu_count(self, logical: bool) -> int | None:
        count: int | None = self._psutil.cpu_count(logical=logical)
        return count

    def memory_total(self) -> int:
        return int(self._psutil.virtual_memory().total)

    def partitions(self) -> list[Partition]:
        return [Partition(p.device, p.mountpoint, p.fstype) for p in self._psutil.disk_partitions(all=False)]

    def disk_usage(self, mount_point: str) -> tuple[int, int] | None:
        try:
            usage = self._psutil.disk_usage(mount_point)
        except OSError:
            return None
        return int(usage.total), int(usage.used)

    def nic_addresses(self) -> dict[str, list[NicAddress]]:
        families = {socket.AF_INET: "inet", socket.AF_INET6: "inet6", self._psutil.AF_LINK: "link"}
        result: dict[str, list[NicAddress]] = {}
        for nic, addresses in self._psutil.net_if_addrs().items():
            result[nic] = [
                NicAddress(families[a.family], a.address, a.netmask) for a in addresses if a.family in families
            ]
        return result

    def nic_stats(self) -> dict[str, NicStats]:
        return {nic: NicStats(bool(s.isup), int(s.mtu), int(s.speed)) for nic, s in self._psutil.net_if_stats().items()}

    def sockets(self) -> list[Socket]:
        result = []
        for conn in self._psutil.net_connections(kind="inet"):
            protocol = "tcp" if conn.type == socket.SOCK_STREAM else "udp"
            local: Any = conn.laddr
            remote: Any = conn.raddr or None
            result.append(
                Socket(
                    protocol=protocol,
                    local_address=local.ip,
                    local_port=local.port,
                    remote_address=remote.ip if remote else None,
                    remote_port=remote.port if remote else None,
                    status=str(conn.status),
                    pid=conn.pid,
                )
            )
        return result

    def process(self, pid: int) -> ProcessInfo | None:
        psutil = self._psutil
        try:
            proc = psutil.Process(pid)
            with proc.oneshot():
                name = proc.name()
                try:
                    exe = proc.exe() or None
                except (psutil.AccessDenied, psutil.ZombieProcess):
                    exe = None
                try:
                    user = proc.username()
                except (psutil.AccessDenied, KeyError):
                    user = None
                ppid = proc.ppid() or None
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            return None
        return ProcessInfo(name=name, executable=exe, user=user, ppid=ppid)

    def platform(self) -> dict[str, str]:
        import platform

        uname = platform.uname()
        return {"system": uname.system, "kernel": uname.release, "architecture": uname.machine}


@dataclass
class RecordedSystem:
    """A machine as recorded: files, command outputs and psutil answers, for tests."""

    files: dict[str, str] = field(default_factory=dict)
    commands: dict[str, str] = field(default_factory=dict)  # " ".join(argv) -> stdout
    host_name: str = "recorded"
    host_fqdn: str | None = None
    boot: float = 0.0
    cpus: tuple[int | None, int | None] = (1, 1)  # physical, logical
    memory: int = 0
    parts: list[Partition] = field(default_factory=list)
    usage: dict[str, tuple[int, int]] = field(default_factory=dict)
    addresses: dict[str, list[NicAddress]] = field(default_factory=dict)
    stats: dict[str, NicStats] = field(default_factory=dict)
    socket_table: list[Socket] = field(default_factory=list)
    processes: dict[int, ProcessInfo] = field(default_factory=dict)
    uname: dict[str, str] = field(default_factory=lambda: {"system": "Linux", "kernel": "", "architecture": ""})

    def read_text(self, path: str) -> str | None:
        return self.files.get(path)

    def run(self, argv: list[str], timeout: float = 60) -> str | None:
        return self.commands.get(" ".join(argv))

    def has_command(self, name: str) -> bool:
        return any(key.split(" ", 1)[0] == name for key in self.commands)

    def hostname(self) -> str:
        return self.host_name

    def fqdn(self) -> str | None:
        return self.host_fqdn

    def boot_time(self) -> float:
        return self.boot

    def cpu_count(self, logical: bool) -> int | None:
        return self.cpus[1] if logical else self.cpus[0]

    def memory_total(self) -> int:
        return self.memory

    def partitions(self) -> list[Partition]:
        return self.parts

    def disk_usage(self, mount_point: str) -> tuple[int, int] | None:
        return self.usage.get(mount_point)

    def nic_addresses(self) -> dict[str, list[NicAddress]]:
        return self.addresses

    def nic_stats(self) -> dict[str, NicStats]:
        return self.stats

    def sockets(self) -> list[Socket]:
        return self.socket_table

    def process(self, pid: int) -> ProcessInfo | None:
        return self.processes.get(pid)

    def platform(self) -> dict[str, str]:
        return self.uname
