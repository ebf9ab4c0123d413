"""How long an ad-hoc ``cmdb-discover scan`` takes to send its first packet (issue 17: under 0.3 s).

    python -m bench.discover_startup [--runs 9]

For SNMP, the bench binds a UDP socket on a loopback address and starts
``cmdb-discover scan ADDRESS --snmp-community public --snmp-port PORT --dry-run``; for SSH, a
TCP listener and ``--ssh-user``. The figure is the wall time from starting the process to
the first datagram (SNMP's GET) or connection (SSH's probe) arriving, the median of
``--runs``; the process is then killed, and its CPU time up to there (user + system, from
the kernel's accounting of the child) is the second figure: on a shared machine the wall
time waits for a core, the CPU time does not. Prints JSON lines (bench/figures.py).
"""

from __future__ import annotations

import argparse
import os
import resource
import select
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.figures import emit

ADDRESS = "127.0.9.7"
BIN = Path(__file__).resolve().parent.parent / ".venv" / "bin" / "cmdb-discover"
TARGET_SECONDS = 0.3


def _first_packet(listener: socket.socket, argv: list[str], tcp: bool) -> tuple[float, float]:
    """(wall seconds to the first packet, CPU seconds the process used until then)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        ready, _, _ = select.select([listener], [], [], 30)
        arrived = time.perf_counter()
        if not ready:
            raise SystemExit(f"no packet within 30 s from {' '.join(argv)}")
        if tcp:
            connection, _ = listener.accept()
            connection.close()
        else:
            listener.recvfrom(65535)
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return arrived - started, cpu


def measure(protocol: str, runs: int, command: Path = BIN) -> None:
    tcp = protocol == "ssh"
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM if tcp else socket.SOCK_DGRAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((ADDRESS, 0))
    if tcp:
        listener.listen(8)
    port = listener.getsockname()[1]
    with tempfile.TemporaryDirectory() as scratch:
        key = Path(scratch) / "key"
        key.write_text("not a key: the scan never gets as far as reading it\n")
        common = [str(command), "scan", ADDRESS, "--dry-run", "--timeout", "5"]
        if tcp:
            argv = [*common, "--ssh-user", "root", "--ssh-key", str(key), "--ssh-port", str(port)]
            argv += ["--known-hosts", str(Path(scratch) / "kh")]
        else:
            argv = [*common, "--snmp-community", "public", "--snmp-port", str(port)]
        _first_packet(listener, argv, tcp)  # warm the page cache and the .pyc files
        walls, cpus = [], []
        for _ in range(runs):
            wall, cpu = _first_packet(listener, argv, tcp)
            walls.append(wall)
            cpus.append(cpu)
    listener.close()
    label = {"snmp": "SNMP (v2c community)", "ssh": "SSH (key)"}[protocol]
    emit(
        f"start-up: ad-hoc cmdb-discover scan, {label}, process start to first packet",
        statistics.median(walls),
        "s median",
        ("<=", TARGET_SECONDS),
        max=round(max(walls), 3),
        runs=runs,
    )
    emit(f"start-up: ad-hoc cmdb-discover scan, {label}, CPU time to first packet", statistics.median(cpus), "CPU s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--protocol", choices=["snmp", "ssh", "both"], default="both")
    parser.add_argument("--command", type=Path, default=BIN, help="the cmdb-discover to time (another checkout's)")
    args = parser.parse_args()
    if not os.access(args.command, os.X_OK):
        raise SystemExit(f"{args.command} is missing: run deploy/bootstrap")
    for protocol in ("snmp", "ssh") if args.protocol == "both" else (args.protocol,):
        measure(protocol, args.runs, args.command)
    print(f"load average while measured: {os.getloadavg()[0]:.1f}", file=sys.stderr)


if __name__ == "__main__":
    main()
