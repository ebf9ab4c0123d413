"""SNMP collection of one device: our scanner vs net-snmp's snmpbulkwalk of the same subtrees.

    python -m bench.snmp_vs_netsnmp [--runs 5]

Serves a recording of a real switch (snmpsim-data's Cisco C3560) with snmpsim on a
loopback address, then times, interleaved, our scan (system GET + the subtree walks) and
`snmpbulkwalk` of the same subtrees. Prints JSON lines.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from bench.figures import emit
from discovery.config import DiscoveryConfig, SnmpCredential, SnmpSettings
from discovery.secrets import Secret
from discovery.snmp import oids
from discovery.snmp.scanner import scan_snmp
from tests.integration.snmp_agents import SimulatedDevice

ADDRESS, PORT = "127.0.9.1", 16161
RECORDING = "network/switch/cisco-c3560.snmprec.bz2"


def our_scan() -> float:
    config = DiscoveryConfig(
        targets=[],
        snmp=SnmpSettings(
            port=PORT, timeout_seconds=5, retries=1, credentials=[SnmpCredential("p", "2c", community=Secret("public"))]
        ),
    )
    started = time.perf_counter()
    result = asyncio.run(scan_snmp(ADDRESS, config))
    assert result.report is not None, result.reason
    return time.perf_counter() - started


def net_snmp() -> float:
    started = time.perf_counter()
    subprocess.run(
        ["snmpget", "-v2c", "-c", "public", "-On", f"{ADDRESS}:{PORT}", *oids.SCALARS], capture_output=True, check=False
    )
    for subtree in oids.SUBTREES:
        subprocess.run(
            ["snmpbulkwalk", "-v2c", "-c", "public", "-On", "-Cr25", f"{ADDRESS}:{PORT}", subtree],
            capture_output=True,
            check=False,
        )
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    directory = Path(tempfile.mkdtemp(prefix="cmdb-bench-snmp-"))
    device = SimulatedDevice(directory, RECORDING, ADDRESS, PORT)
    device.start()
    try:
        ours, theirs = [], []
        for _ in range(args.runs):  # interleaved, so that both see the same machine
            ours.append(our_scan())
            theirs.append(net_snmp())
        ratio = statistics.median(ours) / statistics.median(theirs)
        for name, samples in (("our SNMP scan", ours), ("snmpbulkwalk of the same subtrees", theirs)):
            emit(f"SNMP, one device (C3560 recording): {name}", statistics.median(samples), "s median")
        emit("SNMP, one device: ours / snmpbulkwalk", ratio, "x", ("<=", 3.0))
    finally:
        device.stop()
        shutil.rmtree(directory, ignore_errors=True)


if __name__ == "__main__":
    main()
