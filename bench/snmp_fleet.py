"""SNMP across a fleet, and a sweep of a mostly silent /24.

    python -m bench.snmp_fleet [--devices 50] [--concurrency 8] [--runs 3]

Serves recordings of real switches (snmpsim-data, several models in turn) with one
snmpsim responder per loopback address (127.0.20.1...), then times, interleaved:

- `cmdb-discover scan` of the devices (SNMP only, --concurrency N, worker processes as
  it chooses, and with --processes 1 for comparison);
- net-snmp one device after another (`snmpget` of the scalars and `snmpbulkwalk` of each
  subtree, as in bench.snmp_vs_netsnmp);
- net-snmp with `xargs -P N`, one shell per device.

Then a sweep of 127.0.20.0/24 (the live devices and the silent rest) with the default
settings, against its target: twice the per-target timeout (timeout x tries) plus the
live devices' collection time (one after another) divided by the concurrency; and beside
it, what the silent addresses add to collecting the live devices alone. Prints JSON lines.
"""

from __future__ import annotations

import argparse
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.figures import emit
from discovery.config import DiscoveryConfig
from discovery.snmp import oids
from tests.integration.snmp_agents import SimulatedDevice

PORT = 16162
RECORDINGS = (
    "network/switch/cisco-c3560.snmprec.bz2",
    "network/switch/cisco-c3750.snmprec.bz2",
    "cloud/arista-dcs-7150s-52-cl.snmprec.bz2",
    "network/switch/h3c-e528-1.snmprec.bz2",
    "network/switch/brocade-icx6430-24.snmprec.bz2",
    "network/switch/dlink-des3200.snmprec.bz2",
)
DISCOVER = str(Path(sys.executable).parent / "cmdb-discover")


def net_snmp_script(address: str) -> str:
    """What net-snmp's tools read of one device: the scalars, then each subtree."""
    target = f"{address}:{PORT}"
    lines = [f"snmpget -v2c -c public -On {target} {' '.join(oids.SCALARS)} >/dev/null 2>&1"]
    lines += [f"snmpbulkwalk -v2c -c public -On -Cr25 {target} {subtree} >/dev/null 2>&1" for subtree in oids.SUBTREES]
    return "; ".join(lines)


def timed(command: list[str]) -> tuple[float, subprocess.CompletedProcess[str]]:
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    return time.perf_counter() - started, done


def ours(addresses: list[str], concurrency: int, processes: int | None = None) -> float:
    command = [*scan(f"{addresses[0]}-{addresses[-1]}"), "--concurrency", str(concurrency)]
    if processes is not None:
        command += ["--processes", str(processes)]
    elapsed, done = timed(command)
    reports = done.stdout.splitlines()
    if done.returncode != 0 or len(reports) != len(addresses):
        raise SystemExit(f"cmdb-discover read {len(reports)} of {len(addresses)} devices:\n{done.stderr[-3000:]}")
    return elapsed


def sequential(addresses: list[str]) -> float:
    return timed(["sh", "-c", "\n".join(net_snmp_script(a) for a in addresses)])[0]


def parallel(addresses: list[str], concurrency: int) -> float:
    scripts = "\n".join(shlex.quote(net_snmp_script(a)) for a in addresses) + "\n"
    started = time.perf_counter()
    subprocess.run(["xargs", "-P", str(concurrency), "-n", "1", "sh", "-c"], input=scripts, text=True, check=True)
    return time.perf_counter() - started


def scan(targets: str) -> list[str]:
    """cmdb-discover over SNMP with the default settings, printing its reports."""
    return [DISCOVER, "scan", targets, "--snmp-community", "public", "--snmp-port", str(PORT), "--dry-run"]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--devices", type=int, default=50)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    base = Path(tempfile.mkdtemp(prefix="cmdb-bench-fleet-"))
    addresses = [f"127.0.20.{i + 1}" for i in range(args.devices)]
    devices = [
        SimulatedDevice(base / address, RECORDINGS[i % len(RECORDINGS)], address, PORT)
        for i, address in enumerate(addresses)
    ]
    try:
        for device in devices:
            device.start(wait=False)
        for device in devices:
            device.wait()
        ours(addresses, args.concurrency)  # untimed: snmpsim indexes each recording on first use
        timings: dict[str, list[float]] = {"ours": [], "ours, one process": [], "sequential": [], "xargs": []}
        for _ in range(args.runs):  # interleaved, so that all see the same machine
            timings["ours"].append(ours(addresses, args.concurrency))
            timings["ours, one process"].append(ours(addresses, args.concurrency, processes=1))
            timings["xargs"].append(parallel(addresses, args.concurrency))
            timings["sequential"].append(sequential(addresses))
        median = {name: statistics.median(samples) for name, samples in timings.items()}
        n, c = args.devices, args.concurrency
        emit(f"SNMP, {n} devices: cmdb-discover, {c} at once", median["ours"], "s median")
        emit(f"SNMP, {n} devices: cmdb-discover, {c} at once, one process", median["ours, one process"], "s median")
        emit(f"SNMP, {n} devices: snmpbulkwalk one device after another", median["sequential"], "s median")
        emit(f"SNMP, {n} devices: xargs -P {c} snmpbulkwalk", median["xargs"], "s median")
        emit(
            f"SNMP, {n} devices: ours / sequential snmpbulkwalk", median["ours"] / median["sequential"], "x", ("<=", 1)
        )
        emit(f"SNMP, {n} devices: ours / xargs -P {c} snmpbulkwalk", median["ours"] / median["xargs"], "x", ("<=", 1.5))

        # The sweep: a /24 where only the devices answer, with the default settings.
        defaults = DiscoveryConfig(targets=[])
        per_target = defaults.snmp.timeout_seconds * (1 + defaults.snmp.retries)
        sweeps, alone = [], []
        for _ in range(args.runs):
            elapsed, done = timed([*scan("127.0.20.0/24"), "--show-all"])
            found = len(done.stdout.splitlines())
            summary = done.stderr.strip().splitlines()[-1] if done.stderr.strip() else ""
            if found != n:
                raise SystemExit(f"the sweep found {found} of {n} devices: {summary}")
            sweeps.append(elapsed)
            alone.append(timed(scan(f"{addresses[0]}-{addresses[-1]}"))[0])
        # The live devices' collection time as the target counts it: one device after another.
        collection = timed([*scan(f"{addresses[0]}-{addresses[-1]}"), "--concurrency", "1", "--processes", "1"])[0]
        target = 2 * per_target + collection / defaults.concurrency
        wall = statistics.median(sweeps)
        emit(f"Sweep of a /24 ({n} live SNMP devices, {256 - 2 - n} silent), default settings", wall, "s median")
        emit(
            f"Sweep target: 2 x {per_target:g} s (a silent target's timeout x tries) + {collection:.1f} s"
            f" (the live devices one after another) / {defaults.concurrency} at once",
            target,
            "s",
        )
        emit("Sweep: wall time / target", wall / target, "x", ("<=", 1.0))
        emit(f"Sweep: the {n} live devices alone, same settings", statistics.median(alone), "s median")
        emit(
            "Sweep: what the silent addresses add to the live devices' collection, in timeouts",
            (wall - statistics.median(alone)) / per_target,
            "x",
            ("<=", 2.0),
        )
    finally:
        for device in devices:
            device.stop()
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
