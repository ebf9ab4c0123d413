"""Two hosts in network namespaces made by the test, joined by a veth pair, talking LLDP.

Each namespace runs lldpd (real LLDP frames on the link) exposing LLDP-MIB through
net-snmp's snmpd over AgentX. Addresses live only inside these namespaces; everything is
removed at the end.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
import uuid
from pathlib import Path


def sh(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(args), check=True, capture_output=True, text=True)


class LldpLab:
    def __init__(self) -> None:
        # lldpd runs lldpcli as its own user to apply the config: the folder must be open to it.
        self.directory = Path(tempfile.mkdtemp(prefix="cmdb-lldp-"))
        self.directory.chmod(0o755)
        tag = uuid.uuid4().hex[:6]
        self.namespaces = {"a": f"cmdbt-{tag}-a", "b": f"cmdbt-{tag}-b"}
        self.interfaces = {"a": f"cmdbt{tag}a", "b": f"cmdbt{tag}b"}
        self.addresses = {"a": "10.231.0.1", "b": "10.231.0.2"}
        self.names = {"a": f"lldp-a-{tag}", "b": f"lldp-b-{tag}"}
        self.processes: list[subprocess.Popen[bytes]] = []

    def in_namespace(self, side: str, *command: str) -> list[str]:
        return ["ip", "netns", "exec", self.namespaces[side], *command]

    def start(self) -> None:
        for namespace in self.namespaces.values():
            sh("ip", "netns", "add", namespace)
        sh("ip", "link", "add", self.interfaces["a"], "type", "veth", "peer", "name", self.interfaces["b"])
        Path("/run/lldpd").mkdir(exist_ok=True)  # lldpd's privilege separation directory
        for side, namespace in self.namespaces.items():
            nic = self.interfaces[side]
            sh("ip", "link", "set", nic, "netns", namespace)
            sh("ip", "-n", namespace, "addr", "add", f"{self.addresses[side]}/30", "dev", nic)
            sh("ip", "-n", namespace, "link", "set", "lo", "up")
            sh("ip", "-n", namespace, "link", "set", nic, "up")
        for side in self.namespaces:
            agentx = self.directory / f"agentx-{side}"
            config = self.directory / f"snmpd-{side}.conf"
            config.write_text(f"master agentx\nagentXSocket {agentx}\nrocommunity public\nsysName {self.names[side]}\n")
            env = dict(os.environ, MIBS="", SNMP_PERSISTENT_DIR=str(self.directory / f"persist-{side}"))
            self.processes.append(
                subprocess.Popen(
                    self.in_namespace(
                        side,
                        shutil.which("snmpd") or "/usr/sbin/snmpd",
                        "-f",
                        "-Lf",
                        str(self.directory / f"snmpd-{side}.log"),
                        "-C",
                        "-c",
                        str(config),
                        "-p",
                        str(self.directory / f"snmpd-{side}.pid"),
                        f"udp:{self.addresses[side]}:161",
                    ),
                    env=env,
                )
            )
        time.sleep(0.5)  # the AgentX master socket
        for side in self.namespaces:
            lldp_config = self.directory / f"lldpd-{side}.conf"
            lldp_config.write_text(f"configure system hostname {self.names[side]}\nconfigure lldp tx-interval 1\n")
            self.processes.append(
                subprocess.Popen(
                    self.in_namespace(
                        side,
                        shutil.which("lldpd") or "/usr/sbin/lldpd",
                        "-d",
                        "-x",
                        "-X",
                        str(self.directory / f"agentx-{side}"),
                        "-u",
                        str(self.directory / f"lldpd-{side}.socket"),
                        "-I",
                        self.interfaces[side],
                        "-O",
                        str(lldp_config),
                    ),
                    stdout=subprocess.DEVNULL,
                    stderr=open(self.directory / f"lldpd-{side}.log", "wb"),  # noqa: SIM115
                )
            )

    def wait_for_neighbours(self, seconds: float = 60) -> None:
        """Until each side's LLDP-MIB shows the other as its neighbour."""
        deadline = time.monotonic() + seconds
        pending = set(self.namespaces)
        while pending and time.monotonic() < deadline:
            for side in list(pending):
                other = self.names["b" if side == "a" else "a"]
                done = subprocess.run(
                    self.in_namespace(
                        side,
                        "snmpbulkwalk",
                        "-v2c",
                        "-c",
                        "public",
                        "-t",
                        "1",
                        self.addresses[side],
                        "1.0.8802.1.1.2.1.4.1.1.9",
                    ),
                    capture_output=True,
                    text=True,
                )
                if other in done.stdout:
                    pending.discard(side)
            time.sleep(0.5)
        if pending:
            raise RuntimeError(f"LLDP neighbours not seen on {sorted(pending)} within {seconds:.0f}s")

    def stop(self) -> None:
        for process in self.processes:
            process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
        for namespace in self.namespaces.values():
            subprocess.run(["ip", "netns", "del", namespace], capture_output=True)
        shutil.rmtree(self.directory, ignore_errors=True)
