"""Ingest rate of FusionInventory inventories next to our own agent's reports.

    bench/with_server -- .venv/bin/python -m bench.inventory_ingest --hosts 200

Each host of the synthetic estate (bench/estate.py) is described twice: as our agent's
report (gzipped JSON to ``POST /api/v1/reports``) and as the XML FusionInventory 2.6 sends
(zlib to ``POST /ocsinventory``, HTTP basic with the token as password). The XML is the real
agent's inventory of this machine (tests/fixtures/inventory/) with the host's own name,
hardware, interfaces, addresses and packages put in: its other sections (controllers,
processes, environment, users) keep their real size. Phases, each timed on its own hosts
of a fresh graph: full inventories, full agent reports, the same inventories again
(unchanged), and inventories of hosts our agent already reports (one CI each: the join).
Prints one JSON line per figure (bench/figures.py).
"""

from __future__ import annotations

import argparse
import base64
import gzip
import json
import os
import time
import xml.etree.ElementTree as ET
import zlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from copy import deepcopy
from datetime import UTC, datetime
from pathlib import Path

import httpx

from bench.estate import DMI_VENDOR, Host, host_report, make_hosts
from bench.figures import emit

TEMPLATE = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "inventory"
TEMPLATE_NAME = "fusion.xml"
REPLACED = ("HARDWARE", "BIOS", "NETWORKS", "SOFTWARES", "OPERATINGSYSTEM")


def _text(parent: ET.Element, tag: str, value: str) -> None:
    ET.SubElement(parent, tag).text = value


def fusion_inventory(host: Host, template: ET.Element) -> bytes:
    """The XML FusionInventory would send for ``host``: the template's sections, with the
    host's identity, hardware, interfaces, address and packages."""
    root = deepcopy(template)
    content = root.find("CONTENT")
    assert content is not None
    for tag in REPLACED:
        for element in content.findall(tag):
            content.remove(element)
    device = root.find("DEVICEID")
    assert device is not None
    device.text = f"{host.hostname}-2026-12-01-00-00-00"
    hardware = ET.SubElement(content, "HARDWARE")
    for tag, value in (
        ("NAME", host.hostname),
        ("IPADDR", host.address),
        ("MEMORY", str(32 * 1024)),
        ("OSNAME", "Debian GNU/Linux 12 (bookworm)"),
        ("OSVERSION", "6.1.0-28-amd64"),
        ("PROCESSORN", "1"),
        ("PROCESSORT", "Intel(R) Xeon(R) Gold 6338"),
        ("UUID", host.hardware_uuid),
        ("VMSYSTEM", "Physical"),
    ):
        _text(hardware, tag, value)
    bios = ET.SubElement(content, "BIOS")
    for tag, value in (
        ("SMANUFACTURER", DMI_VENDOR),
        ("SMODEL", "PowerEdge R650"),
        ("SSN", host.serial),
        ("BVERSION", "1.10.2"),
    ):
        _text(bios, tag, value)
    system = ET.SubElement(content, "OPERATINGSYSTEM")
    for tag, value in (
        ("NAME", "Debian GNU/Linux"),
        ("VERSION", "12"),
        ("KERNEL_NAME", "linux"),
        ("KERNEL_VERSION", "6.1.0-28-amd64"),
        ("ARCH", "x86_64"),
        ("FQDN", host.hostname),
    ):
        _text(system, tag, value)
    for name, mac in host.nics():
        row = ET.SubElement(content, "NETWORKS")
        for tag, value in (
            ("DESCRIPTION", name),
            ("MACADDR", mac),
            ("STATUS", "Up"),
            ("TYPE", "ethernet"),
            ("VIRTUALDEV", "0"),
            ("DRIVER", "ixgbe"),
        ):
            _text(row, tag, value)
        if name == "eth0":
            _text(row, "IPADDRESS", host.address)
            _text(row, "IPMASK", "255.255.0.0")
    for p in host.packages:
        row = ET.SubElement(content, "SOFTWARES")
        for tag, value in (
            ("ARCH", "amd64"),
            ("FROM", "deb"),
            ("NAME", f"pkg{p:04d}"),
            ("VERSION", f"1.{p % 7}.{p % 13}"),
            ("PUBLISHER", "Debian"),
        ):
            _text(row, tag, value)
    xml: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return xml


def post_all(send: Callable[[bytes], None], bodies: list[bytes], concurrency: int) -> float:
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        list(pool.map(send, bodies))
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", default=os.environ.get("CMDB_BENCH_URL"))
    parser.add_argument("--token", default=os.environ.get("CMDB_BENCH_TOKEN"))
    parser.add_argument("--hosts", type=int, default=200, help="hosts per phase")
    parser.add_argument("--concurrency", type=int, default=4)
    args = parser.parse_args()
    if not args.url or not args.token:
        parser.error("--url and --token (or run under bench/with_server)")
    template = ET.parse(TEMPLATE / TEMPLATE_NAME).getroot()  # noqa: S314 - our own committed fixture
    n = args.hosts
    hosts = make_hosts(3 * n)
    fusion_hosts, agent_hosts, joined_hosts = hosts[:n], hosts[n : 2 * n], hosts[2 * n :]
    basic = base64.b64encode(f"bench:{args.token}".encode()).decode()
    inventory_headers = {"Content-Type": "application/x-compress-zlib", "Authorization": f"Basic {basic}"}
    report_headers = {"Content-Type": "application/json", "Content-Encoding": "gzip"}
    outcomes: dict[str, int] = {}

    with httpx.Client(base_url=args.url, timeout=300, headers={"Authorization": f"Bearer {args.token}"}) as client:

        def send_inventory(body: bytes) -> None:
            response = client.post("/ocsinventory", content=body, headers=inventory_headers)
            if response.status_code != 200:
                raise RuntimeError(f"inventory refused: {response.status_code} {response.text[:300]}")

        def send_report(body: bytes) -> None:
            response = client.post("/api/v1/reports", content=body, headers=report_headers)
            response.raise_for_status()

        def inventories(of: list[Host]) -> list[bytes]:
            return [zlib.compress(fusion_inventory(h, template)) for h in of]

        def reports(of: list[Host]) -> list[bytes]:
            now = datetime.now(UTC)
            return [gzip.compress(json.dumps(host_report(h, hosts, now=now)).encode(), 6) for h in of]

        xml_size = len(fusion_inventory(fusion_hosts[0], template))
        fusion_bodies = inventories(fusion_hosts)
        seconds = post_all(send_inventory, fusion_bodies, args.concurrency)
        emit("ingest: FusionInventory full inventories", n / seconds, "inventories/s", hosts=n, xml_bytes=xml_size)
        seconds = post_all(send_report, reports(agent_hosts), args.concurrency)
        emit("ingest: cmdb-agent full reports (same hosts' data)", n / seconds, "reports/s", hosts=n)
        seconds = post_all(send_inventory, inventories(fusion_hosts), args.concurrency)
        emit("ingest: FusionInventory unchanged inventories", n / seconds, "inventories/s", hosts=n)
        seconds = post_all(send_report, reports(agent_hosts), args.concurrency)
        emit("ingest: cmdb-agent unchanged full reports", n / seconds, "reports/s", hosts=n)
        post_all(send_report, reports(joined_hosts), args.concurrency)
        seconds = post_all(send_inventory, inventories(joined_hosts), args.concurrency)
        emit("ingest: FusionInventory inventories of hosts the agent reports", n / seconds, "inventories/s", hosts=n)
        hosts_in_graph = client.get("/api/v1/cis", params={"class": "Host", "limit": 1}).json()
        outcomes["hosts"] = hosts_in_graph.get("total", -1) if isinstance(hosts_in_graph, dict) else -1
        emit("hosts in the graph after all phases (expected 3 x hosts)", outcomes["hosts"], "CIs", hosts=3 * n)


if __name__ == "__main__":
    main()
