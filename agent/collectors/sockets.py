"""Listening services, the long-running programs behind them, and the outgoing connections
that become dependencies.

A program is a CI only when it runs for good: a process under a service manager (a
systemd ``.service`` unit) or one holding a listening socket. A process that is neither
(a worker, a child) belongs to the nearest ancestor that is one; a short-lived client
(pip, curl, an SSH session) belongs to none and is not recorded, nor are its connections.
A program is identified by its unit, else by the ports it listens on: two processes
cannot listen on one port, so three Python servers on three ports are three programs,
while one program's processes that share their sockets (nginx's workers) are one. Over SSH
this same collector reads ``ss``, ``ps`` and the cgroups (discovery/ssh/system.py).

Established TCP connections are kept only from the client side (the local port is not
one this host listens on) and aggregated to (program, remote address, remote port).
"""

from __future__ import annotations

import ipaddress
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from agent.collectors.base import Collector, Facts, HostReport
from agent.parsers import canonical_address, parse_cgroup_unit
from agent.system import ProcessInfo, System
from schema.report_builder import drop_none

EPHEMERAL_PORTS_START = 32768
"""UDP sockets bound at or above this port are a client's (a resolver's), not a service's."""

MAX_ANCESTORS = 32


@dataclass(frozen=True)
class Process:
    pid: int
    name: str
    executable: str | None
    user: str | None
    ppid: int | None
    unit: str | None


@dataclass(frozen=True)
class Listener:
    """A listening TCP socket or a bound UDP one, with the process holding it (a ListeningService)."""

    protocol: str
    address: str
    port: int
    process_name: str | None
    executable: str | None
    user: str | None


@dataclass(frozen=True)
class Program:
    """A long-running program (a SoftwareInstance): ``key`` is ``unit:...`` or ``listens:...``."""

    key: str
    unit: str | None
    process_name: str
    listens: str | None
    executable: str | None
    user: str | None


@dataclass(frozen=True)
class Connection:
    """Outgoing TCP connections of one program to one remote port (a dependency)."""

    program: str
    remote_address: str
    remote_port: int
    count: int


@dataclass(frozen=True)
class SocketsFacts:
    listeners: list[Listener]
    programs: list[Program]
    connections: list[Connection]


ListenSocket = tuple[str, str, int]
"""A listening socket as a program's identity counts it: (protocol, local address, port)."""


def counts_as_listening(protocol: str, port: int) -> bool:
    """Whether a bound socket is a service's: not a client's UDP port (a resolver's)."""
    return not (protocol == "udp" and port >= EPHEMERAL_PORTS_START)


def long_running_programs(
    processes: Mapping[int, Process], listening: Mapping[int, Iterable[ListenSocket]], connected: Iterable[int] = ()
) -> tuple[list[dict[str, Any]], dict[int, str]]:
    """The long-running programs behind the sockets of a host (pure), and each socket holder's key.

    ``listening``: pid -> its listening sockets; ``connected``: pids with outgoing
    connections; ``processes``: those and their ancestors. A program with no socket at all
    (a cron daemon) is not looked for: the CMDB records what serves or depends on
    something. A program's key is ``unit:<unit>`` or ``listens:<ports>``, ports as
    ``tcp/80``; where two programs listen on one port (each on its own address), as
    ``udp/127.0.0.2:161``. The programs come back as dicts of the SoftwareInstance
    attributes, with ``key``.
    """
    sockets = {pid: set(held) for pid, held in listening.items() if held}

    def root(pid: int) -> int | None:
        """The process a socket holder's program is named after: itself when it is in a unit
        or listens, else the nearest listening ancestor outside any unit (a process started
        from a unit's process but outside its cgroup, as a login shell is from sshd, is not
        that unit's)."""
        process = processes.get(pid)
        for _ in range(MAX_ANCESTORS):
            if process is None or (process.unit and process.pid != pid):
                return None
            if process.unit or sockets.get(process.pid):
                return process.pid
            process = processes.get(process.ppid) if process.ppid is not None else None
        return None

    roots = {pid: top for pid in sorted({*sockets, *connected}) if (top := root(pid)) is not None}
    held: dict[int, set[ListenSocket]] = defaultdict(set)
    for pid, top in roots.items():
        held[top] |= sockets.get(pid, set())
    # A port is shared when processes hold it on different addresses (processes sharing one
    # socket, nginx's workers, or one program on two addresses, are no sharing).
    addresses: dict[tuple[str, int], dict[int, set[str]]] = defaultdict(lambda: defaultdict(set))
    for top, socks in held.items():
        for protocol, address, port in socks:
            addresses[(protocol, port)][top].add(address)
    shared = {port for port, by_root in addresses.items() if len({frozenset(a) for a in by_root.values()}) > 1}

    def shown(sock: ListenSocket) -> tuple[tuple[str, int, str], str]:
        protocol, address, port = sock
        if (protocol, port) in shared:  # programs on one port, each on its own address
            host = f"[{address}]" if ":" in address else address
            return (protocol, port, address), f"{protocol}/{host}:{port}"
        return (protocol, port, ""), f"{protocol}/{port}"

    def ports_of(top: int) -> str:
        return ",".join(text for _, text in sorted({shown(sock) for sock in held[top]}))

    key_of: dict[int, str] = {}
    members: dict[str, list[Process]] = defaultdict(list)
    for pid, top in roots.items():
        process = processes[top]
        key = f"unit:{process.unit}" if process.unit else f"listens:{ports_of(top)}"
        key_of[pid] = key
        members[key].append(processes[pid])
    programs = []
    for key, procs in sorted(members.items()):
        main = procs[0]  # the lowest pid: the one that started the others, as a rule
        tops = {roots[p.pid] for p in procs}
        listens = ",".join(text for _, text in sorted({shown(sock) for top in tops for sock in held[top]}))
        programs.append(
            {
                "key": key,
                "unit": main.unit,
                "process_name": main.name,
                "listens": listens or None,
                "executable": main.executable,
                "user": main.user,
            }
        )
    return programs, key_of


class SocketsCollector(Collector[SocketsFacts]):
    name = "sockets"

    def collect(self, system: System, facts: Facts) -> SocketsFacts:
        infos: dict[int, ProcessInfo | None] = {}

        def proc(pid: int | None) -> ProcessInfo | None:
            if pid is None:
                return None
            if pid not in infos:
                infos[pid] = system.process(pid)
            return infos[pid]

        sockets = system.sockets()
        listeners: dict[tuple[str, str, int], dict[str, Any]] = {}
        listening: dict[int, set[ListenSocket]] = defaultdict(set)
        for sock in sockets:
            is_listening = (sock.protocol == "tcp" and sock.status == "LISTEN") or (
                sock.protocol == "udp" and sock.remote_address is None
            )
            if not is_listening:
                continue
            key = (sock.protocol, canonical_address(sock.local_address), sock.local_port)
            info = proc(sock.pid)
            if sock.pid is not None and counts_as_listening(sock.protocol, sock.local_port):
                listening[sock.pid].add(key)
            listeners.setdefault(
                key,
                {
                    "protocol": key[0],
                    "address": key[1],
                    "port": key[2],
                    "process_name": info.name if info else None,
                    "executable": info.executable if info else None,
                    "user": info.user if info else None,
                },
            )
        tcp_listen_ports = {port for protocol, _, port in listeners if protocol == "tcp"}
        outgoing: list[tuple[int, str, int]] = []
        for sock in sockets:
            if sock.protocol != "tcp" or sock.status != "ESTABLISHED" or sock.remote_address is None:
                continue
            if sock.local_port in tcp_listen_ports or sock.pid is None or sock.remote_port is None:
                continue  # the server's end of a connection someone made to us, or no process known
            outgoing.append((sock.pid, canonical_address(sock.remote_address), sock.remote_port))
        processes = self._processes(system, proc, {*listening, *(pid for pid, _, _ in outgoing)})
        programs, key_of = long_running_programs(processes, listening, {pid for pid, _, _ in outgoing})
        connections: Counter[tuple[str, str, int]] = Counter()
        for pid, address, port in outgoing:
            if pid in key_of:
                connections[(key_of[pid], address, port)] += 1
        return SocketsFacts(
            listeners=[
                Listener(**s)
                for s in sorted(listeners.values(), key=lambda s: (s["protocol"], s["address"], s["port"]))
            ],
            programs=[Program(**p) for p in programs],
            connections=[Connection(**c) for c in program_connections(connections)],
        )

    def records(self, facts: SocketsFacts, report: HostReport) -> None:
        """Services, programs, and each program's connections: to a service of this host when the
        remote end is one of its own addresses, else to the remote address (and port)."""
        builder = report.builder
        listeners: dict[tuple[str, int], str] = {}
        for svc in facts.listeners:
            ref = f"svc:{svc.protocol}:{svc.address}:{svc.port}"
            listeners[(svc.address, svc.port)] = (
                ref if svc.protocol == "tcp" else listeners.get((svc.address, svc.port), ref)
            )
            builder.add(
                {
                    "ref": ref,
                    "class": "ListeningService",
                    "parent": report.host_ref,
                    "identity": {"protocol": svc.protocol, "address": svc.address, "port": svc.port},
                    "attributes": drop_none(
                        {
                            "name": f"{svc.process_name or 'unknown'} {svc.protocol}/{svc.port}",
                            "process_name": svc.process_name,
                            "executable": svc.executable,
                            "user": svc.user,
                        }
                    ),
                }
            )
        tcp_listeners = {k: v for k, v in listeners.items() if v.startswith("svc:tcp:")}
        for program in facts.programs:
            identity = {"unit": program.unit} if program.unit else {"listens": program.listens}
            builder.add(
                {
                    "ref": f"proc:{program.key}",
                    "class": "SoftwareInstance",
                    "parent": report.host_ref,
                    "identity": identity,
                    "attributes": drop_none(
                        {
                            "name": program.unit or f"{program.process_name} ({program.listens})",
                            "process_name": program.process_name,
                            "listens": program.listens,
                            "executable": program.executable,
                            "user": program.user,
                        }
                    ),
                }
            )
        for conn in facts.connections:
            proc_ref = f"proc:{conn.program}"
            remote, port = conn.remote_address, conn.remote_port
            if remote in report.own_addresses or ipaddress.ip_address(remote).is_loopback:
                target = _local_listener(tcp_listeners, remote, port)
                if target is not None:
                    builder.relate("DEPENDS_ON", proc_ref, target)
                continue
            builder.relate("DEPENDS_ON", proc_ref, builder.ip_address(remote, report.network_domain), {"port": port})

    @staticmethod
    def _processes(system: System, proc: Any, pids: set[int]) -> dict[int, Process]:
        """The processes with sockets and their ancestors, each with its service unit."""
        found: dict[int, Process] = {}
        todo = sorted(pids)
        while todo:
            pid = todo.pop()
            if pid in found:
                continue
            info = proc(pid)
            if info is None:
                continue
            unit = parse_cgroup_unit(system.read_text(f"/proc/{pid}/cgroup") or "")
            found[pid] = Process(pid, info.name, info.executable, info.user, info.ppid, unit)
            if info.ppid and info.ppid not in found and len(found) < 10_000:
                todo.append(info.ppid)
        return found


def program_connections(connections: Mapping[tuple[str, str, int], int]) -> list[dict[str, Any]]:
    """Connections aggregated per (program key, remote address, remote port), in a stable order."""
    return [
        {"program": key, "remote_address": address, "remote_port": port, "count": count}
        for (key, address, port), count in sorted(connections.items())
    ]


def _local_listener(listeners: dict[tuple[str, int], str], address: str, port: int) -> str | None:
    """The service on this host a local connection reaches: on that address, or on all."""
    for candidate in (address, "0.0.0.0", "::"):  # noqa: S104 (wildcard addresses, not a bind)
        if (candidate, port) in listeners:
            return listeners[(candidate, port)]
    return None
