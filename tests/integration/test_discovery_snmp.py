"""SNMP discovery against net-snmp's snmpd and snmpsim serving recordings of real devices."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from cmdb_server.config import Settings
from discovery.config import DiscoveryConfig, SnmpCredential, SnmpSettings
from discovery.results import Status
from discovery.secrets import Secret
from discovery.snmp.scanner import scan_snmp
from schema import Role
from tests.integration.conftest import BOOTSTRAP_TOKEN, bearer
from tests.integration.server_process import BIN, ServerProcess
from tests.integration.snmp_agents import V3_AUTH, V3_PRIV, V3_USER, SimulatedDevice, Snmpd

ADMIN = bearer(BOOTSTRAP_TOKEN)
SNMPD_ADDRESS = "127.0.0.6"
DEVICES = {
    "127.0.1.1": "network/switch/cisco-c3560.snmprec.bz2",  # CDP neighbours
    "127.0.1.2": "network/router/juniper-mx960-12-3r6-6.snmprec.bz2",  # LLDP, Juniper MIB serial
    "127.0.1.3": "cloud/arista-dcs-7150s-52-cl.snmprec.bz2",  # LLDP, ENTITY-MIB
}


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def snmpd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Snmpd]:
    agent = Snmpd(tmp_path_factory.mktemp("snmpd"), SNMPD_ADDRESS, free_udp_port())
    agent.start()
    try:
        yield agent
    finally:
        agent.stop()


@pytest.fixture(scope="module")
def devices(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    """The recorded devices, each on its own address, all on one port (returned)."""
    port = free_udp_port()
    base = tmp_path_factory.mktemp("snmpsim")
    simulated = [SimulatedDevice(base / a, r, a, port) for a, r in DEVICES.items()]
    for device in simulated:
        device.start(wait=False)
    try:
        for device in simulated:
            device.wait()
        yield port
    finally:
        for device in simulated:
            device.stop()


def config(port: int, *credentials: SnmpCredential, timeout: float = 2) -> DiscoveryConfig:
    return DiscoveryConfig(
        targets=[],
        name="test-collector",
        snmp=SnmpSettings(port=port, timeout_seconds=timeout, retries=1, credentials=list(credentials)),
    )


PUBLIC = SnmpCredential("public", "2c", community=Secret("public"))
V3 = SnmpCredential(
    "v3",
    "3",
    user=V3_USER,
    auth_protocol="sha",
    auth_key=Secret(V3_AUTH),
    priv_protocol="aes",
    priv_key=Secret(V3_PRIV),
)


def net_snmp(command: str, agent: Snmpd, *oids: str) -> list[str]:
    done = subprocess.run(
        [command, "-v2c", "-c", "public", "-Oqv", f"{agent.address}:{agent.port}", *oids],
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.splitlines()


def unquote(value: str) -> str:
    """net-snmp's -Oqv output of a string value, without its quotes."""
    return value[1:-1] if len(value) >= 2 and value[0] == value[-1] == '"' else value


@pytest.mark.parametrize("credential", [PUBLIC, V3], ids=["v2c", "v3-sha-aes"])
def test_snmpd_scan_equals_what_net_snmp_tools_read(snmpd: Snmpd, credential: SnmpCredential) -> None:
    result = asyncio.run(scan_snmp(snmpd.address, config(snmpd.port, credential)))
    assert result.status is Status.OK, result.reason
    assert result.report is not None
    device = result.report["records"][0]
    sys_name, sys_descr = (unquote(v) for v in net_snmp("snmpget", snmpd, "1.3.6.1.2.1.1.5.0", "1.3.6.1.2.1.1.1.0"))
    assert device["class"] == "LinuxHost"
    assert device["attributes"]["name"] == sys_name == "snmpd-test.example.org"
    assert device["attributes"]["sys_descr"] == sys_descr
    # net-snmp's sysDescr is `uname -a`'s: the kernel release is its third word
    assert (device["attributes"]["os_name"], device["attributes"]["kernel"]) == ("Linux", os.uname().release)
    assert "vendor" not in device["attributes"]  # Net-SNMP names the agent, not the machine's maker
    if_descr = [unquote(v) for v in net_snmp("snmpbulkwalk", snmpd, "1.3.6.1.2.1.2.2.1.2")]
    if_names = [unquote(v) for v in net_snmp("snmpbulkwalk", snmpd, "1.3.6.1.2.1.31.1.1.1.1")] or if_descr
    interfaces = [r for r in result.report["records"] if r["class"] == "Interface"]
    assert [r["identity"]["name"] for r in interfaces] == if_names
    mtus = [int(v) for v in net_snmp("snmpbulkwalk", snmpd, "1.3.6.1.2.1.2.2.1.4")]
    assert [r["attributes"]["mtu"] for r in interfaces] == mtus


def test_a_wrong_community_is_silence_and_a_wrong_v3_key_is_an_auth_failure(snmpd: Snmpd) -> None:
    wrong_community = SnmpCredential("wrong", "2c", community=Secret("not-public"))
    silent = asyncio.run(scan_snmp(snmpd.address, config(snmpd.port, wrong_community, timeout=0.5)))
    assert silent.status is Status.NO_ANSWER
    assert silent.report is None
    wrong_key = SnmpCredential(
        "v3-wrong",
        "3",
        user=V3_USER,
        auth_protocol="sha",
        auth_key=Secret("wrong-auth-key"),
        priv_protocol="aes",
        priv_key=Secret(V3_PRIV),
    )
    refused = asyncio.run(scan_snmp(snmpd.address, config(snmpd.port, wrong_key)))
    assert refused.status is Status.AUTH_FAILED
    assert refused.report is None
    assert "wrong-auth-key" not in refused.reason


def scan_devices(port: int) -> dict[str, dict[str, Any]]:
    reports = {}
    for address in DEVICES:
        result = asyncio.run(scan_snmp(address, config(port, PUBLIC)))
        assert result.status is Status.OK, (address, result.reason)
        assert result.report is not None
        reports[address] = result.report
    return reports


@pytest.mark.slow
def test_recorded_devices_become_network_devices_with_vendor_model_serial(client: TestClient, devices: int) -> None:
    reports = scan_devices(devices)
    for report in reports.values():
        response = client.post("/api/v1/reports", json=report, headers=ADMIN)
        assert response.status_code == 200, response.text
    found = {
        ci["attributes"]["management_ip"]: ci
        for ci in client.get("/api/v1/cis", params={"class": "NetworkDevice", "limit": 500}, headers=ADMIN).json()[
            "items"
        ]
        if "management_ip" in ci["attributes"] and ci["attributes"]["management_ip"] in DEVICES
    }
    expected = {
        "127.0.1.1": ("Switch", "Cisco", "WS-C3560G-48TS-E", "FOC1408Z61U", "12.2(55)SE3"),
        "127.0.1.2": ("Router", "Juniper Networks", "MX960", "JN11FCEC5AFA", "12.3R6.6"),
        "127.0.1.3": ("Switch", "Arista Networks", "DCS-7150S-52-CL", "JPE15151458", "4.20.5F"),
    }
    for address, (ci_class, vendor, model, serial, os_version) in expected.items():
        ci = found[address]
        attributes = ci["attributes"]
        assert (
            ci["class"],
            attributes["vendor"],
            attributes["model"],
            attributes["serial"],
            attributes["os_version"],
        ) == (
            ci_class,
            vendor,
            model,
            serial,
            os_version,
        )
        nics = client.get(f"/api/v1/cis/{ci['uid']}/relationships", params={"type": "HAS_INTERFACE"}, headers=ADMIN)
        reported = [r for r in reports[address]["records"] if r["class"] == "Interface" and r.get("parent") == "device"]
        assert len(nics.json()["items"]) == len(reported) > 10
    c3560 = found["127.0.1.1"]
    addresses = client.get(f"/api/v1/cis/{c3560['uid']}/relationships", params={"type": "HAS_INTERFACE"}, headers=ADMIN)
    vlan2 = next(r["other"] for r in addresses.json()["items"] if r["other"]["name"] == "Vl2")
    ips = client.get(f"/api/v1/cis/{vlan2['uid']}/relationships", params={"type": "HAS_IP"}, headers=ADMIN).json()
    assert {r["other"]["name"] for r in ips["items"]} == {"10.1.100.148", "2001:da8:215:100::148"}
    # The Arista stacks Port-Channel1 over Ethernet47 and 48 (ifStackTable): its ports are its members.
    arista = client.get(
        f"/api/v1/cis/{found['127.0.1.3']['uid']}/relationships", params={"type": "HAS_INTERFACE"}, headers=ADMIN
    ).json()["items"]
    channel = next(r["other"] for r in arista if r["other"]["name"] == "Port-Channel1")
    members = client.get(
        f"/api/v1/cis/{channel['uid']}/relationships", params={"type": "MEMBER_OF", "direction": "in"}, headers=ADMIN
    ).json()["items"]
    assert sorted(r["other"]["name"] for r in members) == ["Ethernet47", "Ethernet48"]


def links(client: TestClient, device_uid: str) -> set[tuple[str, str, str]]:
    """(local interface, neighbour name, neighbour port) of every L2 link of a device."""
    result = set()
    nics = client.get(f"/api/v1/cis/{device_uid}/relationships", params={"type": "HAS_INTERFACE"}, headers=ADMIN)
    for nic in nics.json()["items"]:
        edges = client.get(
            f"/api/v1/cis/{nic['other']['uid']}/relationships", params={"type": "CONNECTED_TO"}, headers=ADMIN
        ).json()["items"]
        for edge in edges:
            port = client.get(f"/api/v1/cis/{edge['other']['uid']}", headers=ADMIN).json()
            neighbour = client.get(f"/api/v1/cis/{port['parent_uid']}", headers=ADMIN).json()
            result.add((nic["other"]["name"], neighbour["name"], port["name"]))
    return result


@pytest.mark.slow
def test_lldp_and_cdp_neighbours_become_links_joined_when_the_neighbour_reports(
    client: TestClient, devices: int
) -> None:
    reports = scan_devices(devices)
    uids = {
        a: client.post("/api/v1/reports", json=r, headers=ADMIN).json()["cis"]["device"] for a, r in reports.items()
    }
    cisco_links = links(client, uids["127.0.1.1"])
    assert any(n == "OLD-ShiTang-WIRELESS" and p == "GigabitEthernet0/2" for _, n, p in cisco_links)  # CDP
    juniper_links = links(client, uids["127.0.1.2"])
    assert any(n == "h3c-5800out" and p == "Ten-GigabitEthernet1/0/25" for _, n, p in juniper_links)
    arista_links = links(client, uids["127.0.1.3"])
    assert any(n == "ZJ-BP-Bak-Arista" and p == "Ethernet23" for _, n, p in arista_links)
    # A neighbour known only from LLDP is kept with its chassis id, and joined when it reports itself.
    juniper_report = reports["127.0.1.2"]
    neighbour = next(
        r
        for r in juniper_report["records"]
        if r["ref"].startswith("nbr:") and r.get("attributes", {}).get("name") == "h3c-5800out"
    )
    chassis_id = neighbour["identity"]["chassis_id"]
    before = client.get("/api/v1/cis", params={"class": "NetworkDevice", "name": "h3c-5800out"}, headers=ADMIN).json()
    assert before["total"] == 1
    placeholder = before["items"][0]
    itself = {
        "version": 1,
        "report_id": "h3c-itself",
        "source": {"kind": "snmp", "name": "test@h3c"},
        "collected_at": "2026-11-27T00:00:00+00:00",
        "records": [
            {
                "ref": "device",
                "class": "Switch",
                "identity": {"serial": "210235A0BSH", "vendor": "H3C", "chassis_id": chassis_id},
                "attributes": {"name": "h3c-5800out", "model": "S5800"},
            }
        ],
        "relations": [],
    }
    joined = client.post("/api/v1/reports", json=itself, headers=ADMIN).json()
    assert joined["cis"]["device"] == placeholder["uid"]
    after = client.get(f"/api/v1/cis/{placeholder['uid']}", headers=ADMIN).json()
    assert (after["class"], after["attributes"]["serial"]) == ("Switch", "210235A0BSH")


@pytest.mark.slow
def test_a_sweep_of_a_24_gives_every_address_a_result_in_about_one_timeout(devices: int, tmp_path: Path) -> None:
    started = time.monotonic()
    done = subprocess.run(
        [
            str(BIN / "cmdb-discover"),
            "scan",
            "127.0.1.0/24",
            "--snmp-community",
            "public",
            "--snmp-community",
            "private",
            "--snmp-port",
            str(devices),
            "--timeout",
            "1",
            "--dry-run",
            "--show-all",
        ],
        capture_output=True,
        text=True,
        env=dict(os.environ),
    )
    elapsed = time.monotonic() - started
    assert done.returncode == 0, done.stderr
    reports = [json.loads(line) for line in done.stdout.splitlines()]
    assert sorted(r["source"]["name"].split("@")[1] for r in reports) == sorted(DEVICES)
    rows = [line for line in done.stderr.splitlines() if line.startswith("127.0.1.")]
    assert len(rows) == 254
    assert sum("ok" in row.split()[1] for row in rows) == 3
    assert "254 target(s)" in done.stderr
    # Two credentials, one retry, 251 silent addresses: sequentially that is over 1000 s, and
    # with the default 32 collections at once, 16 s if silence held a collection slot.
    assert elapsed < 60, f"sweep took {elapsed:.0f}s"


def test_a_configured_sweep_sends_its_reports_with_a_collector_token(
    snmpd: Snmpd, settings: Settings, empty_graph: None, make_token: Callable[[Role], str], tmp_path: Path
) -> None:
    server = ServerProcess(settings)
    server.start()
    try:
        config = tmp_path / "discover.toml"
        config.write_text(
            f"""
name = "lab-collector"
server_url = "{server.url}"
token_env = "TEST_COLLECTOR_TOKEN"
spool_dir = "{tmp_path / "spool"}"
[targets]
include = ["{snmpd.address}", "127.0.0.7"]
[snmp]
port = {snmpd.port}
timeout_seconds = 1
[[snmp.credentials]]
name = "lab"
version = "2c"
community_env = "TEST_COMMUNITY"
"""
        )
        env = dict(os.environ, TEST_COLLECTOR_TOKEN=make_token(Role.COLLECTOR), TEST_COMMUNITY="public")
        done = subprocess.run(
            [str(BIN / "cmdb-discover"), "scan", "--config", str(config)],
            capture_output=True,
            text=True,
            env=env,
        )
        assert done.returncode == 0, done.stderr
        assert "sent 1 report(s)" in done.stderr
        assert "public" not in done.stdout + done.stderr  # the community never shows
        hosts = httpx.get(f"{server.url}/api/v1/cis", params={"class": "Host"}, headers=ADMIN).json()
        assert [h["name"] for h in hosts["items"]] == ["snmpd-test.example.org"]
        history = httpx.get(f"{server.url}/api/v1/cis/{hosts['items'][0]['uid']}/history", headers=ADMIN).json()
        assert history["items"][-1]["source"] == f"snmp:lab-collector@{snmpd.address}"
    finally:
        server.stop()
