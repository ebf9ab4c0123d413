"""Listening services, and the outgoing connections that become dependencies.

Established TCP connections are kept only from the client side (the local port is not
one this host listens on) and aggregated to (process, remote address, remote port).
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from agent.collectors.base import Collector, Facts
from agent.parsers import canonical_address
from agent.system import ProcessInfo, System


class SocketsCollector(Collector):
    name = "sockets"

    def collect(self, system: System, facts: Facts) -> dict[str, Any]:
        processes: dict[int, ProcessInfo | None] = {}

        def proc(pid: int | None) -> ProcessInfo | None:
            if pid is None:
                return None
            if pid not in processes:
                processes[pid] = system.process(pid)
            return processes[pid]

        sockets = system.sockets()
        listeners: dict[tuple[str, str, int], dict[str, Any]] = {}
        for sock in sockets:
            listening = (sock.protocol == "tcp" and sock.status == "LISTEN") or (
                sock.protocol == "udp" and sock.remote_address is None
            )
            if not listening:
                continue
            key = (sock.protocol, canonical_address(sock.local_address), sock.local_port)
            info = proc(sock.pid)
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
        connections: Counter[tuple[str, str | None, str | None, str, int]] = Counter()
        for sock in sockets:
            if sock.protocol != "tcp" or sock.status != "ESTABLISHED" or sock.remote_address is None:
                continue
            if sock.local_port in tcp_listen_ports:
                continue  # the server's end of a connection someone made to us
            info = proc(sock.pid)
            if info is None or sock.remote_port is None:
                continue
            connections[
                (
                    info.name,
                    info.executable,
                    info.user,
                    canonical_address(sock.remote_address),
                    sock.remote_port,
                )
            ] += 1
        return {
            "listeners": sorted(listeners.values(), key=lambda s: (s["protocol"], s["address"], s["port"])),
            "connections": [
                {
                    "process_name": name,
                    "executable": exe,
                    "user": user,
                    "remote_address": address,
                    "remote_port": port,
                    "count": count,
                }
                for (name, exe, user, address, port), count in sorted(connections.items(), key=str)
            ],
        }
