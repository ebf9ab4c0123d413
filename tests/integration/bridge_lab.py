"""A Linux bridge acting as an access switch, two hosts on its ports, in namespaces the test makes.

Namespace ``sw`` holds bridge ``br0`` with ports ``swp1`` and ``swp2`` (veth pairs into the
namespaces ``h1`` and ``h2``), and a real snmpd serving IF-MIB itself and BRIDGE-MIB through
a ``pass_persist`` script over ``bridge -j fdb show`` (bridge_fdb_passpersist.py). Addresses
live only inside these namespaces; everything is removed at the end.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from tests.integration.snmp_agents import snmpd_command

PASS_PERSIST = Path(__file__).with_name("bridge_fdb_passpersist.py")


def sh(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(args), check=True, capture_output=True, text=True)


class BridgeLab:
    def __init__(self) -> None:
        self.directory = Path(tempfile.mkdtemp(prefix="cmdb-bridge-"))
        self.directory.chmod(0o755)
        tag = uuid.uuid4().hex[:6]
        self.tag = tag
        self.namespaces = {side: f"cmdbt-{tag}-{side}" for side in ("sw", "h1", "h2")}
        self.switch_address = "10.232.0.1"
        self.addresses = {"h1": "10.232.0.11", "h2": "10.232.0.12"}
        self.ports = {"h1": "swp1", "h2": "swp2"}
        self.host_nic = "eth0"
        self.switch_name = f"access-{tag}"
        self.process: subprocess.Popen[bytes] | None = None

    def in_namespace(self, side: str, *command: str) -> list[str]:
        return ["ip", "netns", "exec", self.namespaces[side], *command]

    def start(self) -> None:
        for namespace in self.namespaces.values():
            sh("ip", "netns", "add", namespace)
        sw = self.namespaces["sw"]
        sh("ip", "-n", sw, "link", "set", "lo", "up")
        # Learnt entries stay until the test is over (the default is five minutes).
        sh("ip", "-n", sw, "link", "add", "br0", "type", "bridge", "ageing_time", "360000")
        sh("ip", "-n", sw, "addr", "add", f"{self.switch_address}/24", "dev", "br0")
        sh("ip", "-n", sw, "link", "set", "br0", "up")
        for host, port in self.ports.items():
            self.plug(host, port)
        config = self.directory / "snmpd.conf"
        config.write_text(
            f"rocommunity public\nsysName {self.switch_name}\nsysServices 2\n"
            f"pass_persist .1.3.6.1.2.1.17 {sys.executable} {PASS_PERSIST}\n"
        )
        env = dict(os.environ, MIBS="", SNMP_PERSISTENT_DIR=str(self.directory / "persist"))
        self.process = subprocess.Popen(
            self.in_namespace("sw", *snmpd_command(self.directory, config, f"udp:{self.switch_address}:161")),
            env=env,
        )
        self.wait_for_agent()
        self.learn()

    def wait_for_agent(self, seconds: float = 30) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            done = subprocess.run(
                self.in_namespace(
                    "sw",
                    "snmpget",
                    "-v2c",
                    "-c",
                    "public",
                    "-t",
                    "1",
                    "-r",
                    "0",
                    self.switch_address,
                    "1.3.6.1.2.1.1.5.0",
                ),
                capture_output=True,
                text=True,
            )
            if self.switch_name in done.stdout:
                return
            time.sleep(0.3)
        raise RuntimeError("the switch's snmpd did not answer")

    def plug(self, host: str, port: str, nic: str | None = None, mac: str | None = None) -> None:
        """A cable from ``port`` of the bridge to ``nic`` of the host (its address moves there)."""
        sw, ns = self.namespaces["sw"], self.namespaces[host]
        nic = nic or self.host_nic
        peer = f"c{self.tag}{host}{port}"[:15]
        sh("ip", "link", "add", peer, "type", "veth", "peer", "name", f"p{self.tag}{port}"[:15])
        sh("ip", "link", "set", peer, "netns", ns)
        sh("ip", "-n", ns, "link", "set", peer, "name", nic)
        sh("ip", "link", "set", f"p{self.tag}{port}"[:15], "netns", sw)
        sh("ip", "-n", sw, "link", "set", f"p{self.tag}{port}"[:15], "name", port)
        sh("ip", "-n", sw, "link", "set", port, "master", "br0")
        sh("ip", "-n", sw, "link", "set", port, "up")
        if mac:
            sh("ip", "-n", ns, "link", "set", nic, "address", mac)
        sh("ip", "-n", ns, "link", "set", "lo", "up")
        sh("ip", "-n", ns, "addr", "add", f"{self.addresses[host]}/24", "dev", nic)
        sh("ip", "-n", ns, "link", "set", nic, "up")

    def unplug(self, host: str, nic: str | None = None) -> None:
        sh("ip", "-n", self.namespaces[host], "link", "del", nic or self.host_nic)

    def mac(self, host: str, nic: str | None = None) -> str:
        links = json.loads(sh("ip", "-n", self.namespaces[host], "-j", "link", "show", nic or self.host_nic).stdout)
        return str(links[0]["address"])

    def learn(self, seconds: float = 30) -> None:
        """Each host talks to the switch (an ARP request, then a datagram), until the bridge
        has learnt its MAC on its port."""
        deadline = time.monotonic() + seconds
        send = "import socket; socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b'x', ({!r}, 9))"
        for host in self.ports:
            mac = self.mac(host)
            while mac not in self.fdb():
                if time.monotonic() > deadline:
                    raise RuntimeError(f"the bridge did not learn {host}'s MAC")
                sh(*self.in_namespace(host, sys.executable, "-c", send.format(self.switch_address)))
                time.sleep(0.2)

    def wait_until_served(self, host: str, port: str, seconds: float = 30) -> None:
        """Until the switch's snmpd serves ``host``'s MAC on ``port``: snmpd keeps its interface
        table and the FDB script its table for a moment, and a scan that starts at once (its
        first packet leaves within 0.3 s) would read the bridge as it was, as an NMS's poll can."""
        suffix = ".".join(str(int(b, 16)) for b in self.mac(host).split(":"))
        number = int(sh(*self.in_namespace("sw", "cat", f"/sys/class/net/{port}/brport/port_no")).stdout, 16)
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            walks = [
                subprocess.run(
                    self.in_namespace(
                        "sw", "snmpwalk", "-v2c", "-c", "public", "-On", "-Oq", "-t", "1", self.switch_address, oid
                    ),
                    capture_output=True,
                    text=True,
                ).stdout
                for oid in ("1.3.6.1.2.1.31.1.1.1.1", "1.3.6.1.2.1.17.4.3.1.2")
            ]
            if f' "{port}"\n' in walks[0] and f".{suffix} {number}\n" in walks[1]:
                return
            time.sleep(0.3)
        raise RuntimeError(f"the switch's snmpd did not serve {host} on {port}")

    def fdb(self) -> str:
        return sh(*self.in_namespace("sw", "bridge", "fdb", "show", "br", "br0")).stdout

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
        for namespace in self.namespaces.values():
            subprocess.run(["ip", "netns", "del", namespace], capture_output=True)
        shutil.rmtree(self.directory, ignore_errors=True)
