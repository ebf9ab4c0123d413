"""Real SNMP agents for the tests: net-snmp's snmpd, and snmpsim serving recordings of real gear.

Each agent gets a loopback address of its own. snmpsim serves one recording per process
(as community ``public``), so that an address is one device.
"""

from __future__ import annotations

import bz2
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

SNMPSIM_DATA = Path(str(__import__("snmpsim_data").__file__)).parent / "data"
RESPONDER = Path(sys.executable).parent / "snmpsim-command-responder"
V3_USER, V3_AUTH, V3_PRIV = "cmdbv3", "auth-pass-123", "priv-pass-456"


def wait_for_snmp(address: str, port: int, community: str = "public", seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        done = subprocess.run(
            [
                "snmpget",
                "-v2c",
                "-c",
                community,
                "-t",
                "1",
                "-r",
                "0",
                f"{address}:{port}",
                "1.3.6.1.2.1.1.2.0",
            ],
            capture_output=True,
            text=True,
        )
        if done.returncode == 0 and "OID" in done.stdout:
            return
        time.sleep(0.3)
    raise RuntimeError(f"no SNMP agent answered on {address}:{port}")


def snmpd_command(directory: Path, config: Path, endpoint: str) -> list[str]:
    """net-snmp's snmpd in the foreground, logging to and keeping its pid in ``directory``."""
    return [
        shutil.which("snmpd") or "/usr/sbin/snmpd",
        "-f",
        "-Lf",
        str(directory / "snmpd.log"),
        "-C",
        "-c",
        str(config),
        "-p",
        str(directory / "snmpd.pid"),
        endpoint,
    ]


class Snmpd:
    """net-snmp's snmpd with community ``public`` and an SNMPv3 user (SHA + AES)."""

    def __init__(self, directory: Path, address: str, port: int, sys_name: str = "snmpd-test.example.org") -> None:
        self.directory, self.address, self.port = directory, address, port
        self.config = directory / "snmpd.conf"
        self.configure(sys_name)
        self.process: subprocess.Popen[bytes] | None = None

    def configure(self, sys_name: str) -> None:
        """(Re)write the configuration; a running agent takes it at its next start."""
        self.config.write_text(
            "rocommunity public 127.0.0.0/8\n"
            f'createUser {V3_USER} SHA "{V3_AUTH}" AES "{V3_PRIV}"\n'
            f"rouser {V3_USER} priv\n"
            f"sysName {sys_name}\nsysLocation test lab\nsysContact ops@example.org\n"
        )

    def start(self) -> None:
        env = dict(os.environ, SNMP_PERSISTENT_DIR=str(self.directory / "persist"), MIBS="")
        self.process = subprocess.Popen(
            snmpd_command(self.directory, self.config, f"udp:{self.address}:{self.port}"),
            env=env,
        )
        wait_for_snmp(self.address, self.port)

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)


class SimulatedDevice:
    """One snmpsim responder serving one recording of snmpsim-data on one address."""

    def __init__(self, directory: Path, recording: str, address: str, port: int) -> None:
        self.recording, self.address, self.port = recording, address, port
        self.data = directory / "data"
        self.data.mkdir(parents=True)
        source = SNMPSIM_DATA / recording
        raw = source.read_bytes()
        (self.data / "public.snmprec").write_bytes(bz2.decompress(raw) if source.suffix == ".bz2" else raw)
        self.cache = directory / "cache"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, wait: bool = True) -> None:
        self.process = subprocess.Popen(
            [
                str(RESPONDER),
                f"--data-dir={self.data}",
                f"--cache-dir={self.cache}",
                f"--agent-udpv4-endpoint={self.address}:{self.port}",
                # Root must name a user; root keeps the venv's Python (under /root) readable.
                "--process-user=root",
                "--process-group=root",
                "--logging-method=null",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        if wait:
            self.wait()

    def wait(self) -> None:
        wait_for_snmp(self.address, self.port)

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
