"""Interfaces as an NMS sees them, from every source: recorded SNMP walks of real devices (and
of the real snmpd the tests start), sysfs and ``ip`` outputs recorded in a network namespace."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from agent.collectors.interfaces import InterfacesCollector, link_state, oper_status
from agent.system import NicAddress, NicStats, RecordedSystem
from discovery.snmp import parsers
from discovery.snmp.snmprec import load_snmprec, parse_snmprec
from discovery.snmp.vlans import port_list
from discovery.ssh.batch import Answer
from discovery.ssh.system import SshSystem
from schema.enums import AdminStatus, OperStatus
from schema.model import load_schema
from tests.conftest import REPO_ROOT
from tests.integration.snmp_agents import SNMPSIM_DATA
from tests.snmp_digest import interface_records

FIXTURES = REPO_ROOT / "tests" / "fixtures"
CASES = sorted((FIXTURES / "snmp" / "interfaces").glob("*.json"))
CHECKED = ("name", "if_descr", "alias", "admin_status", "oper_status", "speed_mbps", "native_vlan", "vlans")


def recording(path: str) -> Path:
    """A recording of ours (tests/...) or of the snmpsim-data package."""
    return REPO_ROOT / path if path.startswith("tests/") else SNMPSIM_DATA / path


def records_of(case: Path) -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, Any]]]:
    expected = json.loads(case.read_text())
    found = json.loads(json.dumps(interface_records(load_snmprec(recording(expected["recording"])))))
    return expected["interfaces"], found


@pytest.mark.parametrize("case", CASES, ids=lambda p: p.stem)
def test_the_interface_records_of_a_recorded_device_are_the_expected_ones_field_by_field(case: Path) -> None:
    expected, found = records_of(case)
    assert sorted(found, key=int) == sorted(expected, key=int), "the same interfaces (by ifIndex)"
    wrong = [
        f"ifIndex {index} {field}: {found[index].get(field)!r}, expected {record.get(field)!r}"
        for index, record in expected.items()
        for field in sorted(set(record) | set(found[index]))
        if found[index].get(field) != record.get(field)
    ]
    assert not wrong, "\n".join(wrong)


def test_the_recorded_cases_cover_every_status_and_vlans() -> None:
    """The expectations hold admin-down ports, lowerLayerDown, notPresent, aliases and VLANs."""
    seen: set[tuple[str, Any]] = set()
    for case in CASES:
        for record in json.loads(case.read_text())["interfaces"].values():
            seen |= {("admin", record.get("admin_status")), ("oper", record.get("oper_status"))}
            seen |= {(k, True) for k in ("alias", "vlans", "native_vlan", "last_change") if k in record}
    assert {("admin", "down"), ("oper", "lowerLayerDown"), ("oper", "notPresent")} <= seen
    assert {("alias", True), ("vlans", True), ("native_vlan", True), ("last_change", True)} <= seen


def nics(case: str) -> dict[str, dict[str, Any]]:
    return {r["name"]: r for r in records_of(FIXTURES / "snmp" / "interfaces" / f"{case}.json")[1].values()}


def test_admin_down_is_told_from_oper_down_on_the_real_snmpd() -> None:
    """Recorded from net-snmp in a namespace: peer0 shut down, uplink0 up over a shut peer."""
    found = nics("net-snmp-linux-netns")
    assert (found["peer0"]["admin_status"], found["peer0"]["oper_status"]) == ("down", "down")
    # The kernel says lowerLayerDown; net-snmp 5.9 flattens it to down, and says so.
    assert (found["uplink0"]["admin_status"], found["uplink0"]["oper_status"]) == ("up", "down")
    # cable0 came up 642 s (ticks 67524 - 3314) before the walk; lo has not changed since snmpd started.
    assert found["cable0"]["last_change"] == "2026-12-01T11:49:18+00:00"
    assert "last_change" not in found["lo"]


def test_descr_alias_and_vlans_of_a_dlink_access_switch() -> None:
    port1, port2 = nics("dlink-des3200")["1"], nics("dlink-des3200")["2"]
    assert port1["if_descr"] == "D-Link DES-3200-18 R4.04.004 Port 1"
    assert port1["alias"] == "VLAN1113-access-mode"
    assert (port1["native_vlan"], port1["vlans"]) == (1113, ["1113"])  # egress bitmap 0x83..: ports 1, 7, 8
    assert (port2["native_vlan"], port2["vlans"]) == (1, ["1", "40", "41"])


def test_lower_layer_down_and_not_present_are_kept() -> None:
    assert nics("dcs-3726c")["Port2"]["oper_status"] == "lowerLayerDown"
    assert nics("arista-dcs-7150s")["Ethernet1"]["oper_status"] == "notPresent"


def test_junos_port_lists_written_as_text_map_through_the_bridge_port_table() -> None:
    """Junos answers dot1qVlanStaticEgressPorts.100 = "4,6,22,132" and maps its bridge ports."""
    walk = load_snmprec(SNMPSIM_DATA / "network/router/juniper-mx960-16-1r6-7-a.snmprec.bz2")
    by_index = interface_records(walk)
    assert [index for index, r in by_index.items() if "100" in r.get("vlans", [])] == ["554", "556", "619", "859"]


def test_port_lists_are_bitmaps_from_the_most_significant_bit() -> None:
    assert port_list(bytes.fromhex("8384")) == [1, 7, 8, 9, 14]
    assert port_list(b"") == []
    assert port_list(b"4,6,22") == [4, 6, 22]


def test_every_oper_status_has_its_rfc_2863_name_and_last_change_needs_an_uptime() -> None:
    lines = [f"1.3.6.1.2.1.2.2.1.8.{n}|2|{n}" for n in range(1, 9)]
    lines += ["1.3.6.1.2.1.1.3.0|67|100000", "1.3.6.1.2.1.2.2.1.9.1|67|40000", "1.3.6.1.2.1.2.2.1.9.2|67|0"]
    lines += ["1.3.6.1.2.1.2.2.1.9.3|67|200000", "1.3.6.1.2.1.2.2.1.7.1|2|2", "1.3.6.1.2.1.2.2.1.7.2|2|9"]
    found = parsers.parse_interfaces(parse_snmprec("\n".join(lines)))
    assert [found[n]["oper_status"] for n in range(1, 9)] == [*OperStatus, "unknown"]
    assert [found[n]["last_change_s_ago"] for n in (1, 2, 3)] == [600, None, None]  # 0: before the agent started
    assert (found[1]["admin_status"], found[2]["admin_status"], found[3]["admin_status"]) == ("down", None, None)


def test_the_schema_enums_are_the_closed_sets() -> None:
    interface = load_schema().classes["Interface"].attributes
    assert interface["oper_status"].values == tuple(OperStatus)
    assert interface["admin_status"].values == tuple(AdminStatus)
    has_interface = load_schema().relationships["HAS_INTERFACE"]
    assert not has_interface.is_member({"physical": True, "oper_status": "lowerLayerDown"})
    assert not has_interface.is_member({"physical": True, "oper_status": "up", "admin_status": "down"})
    assert has_interface.is_member({"physical": True, "oper_status": "up", "admin_status": "up"})


def recorded_netns() -> RecordedSystem:
    """The namespace the snmpd recording was made in, as the agent reads it (sysfs recorded with
    ``grep -s . */operstate */flags ...`` in /sys/class/net)."""
    system = RecordedSystem()
    for line in (FIXTURES / "agent" / "sysfs_net" / "netns-veth-pairs.grep").read_text().splitlines():
        path, _, value = line.partition(":")
        system.files[f"/sys/class/net/{path}"] = value + "\n"
    for nic in ("lo", "peer0", "uplink0", "cable0", "cable1"):
        system.stats[nic] = NicStats(nic != "peer0", 65536 if nic == "lo" else 1500, 0)
        system.addresses[nic] = [NicAddress("link", "02:00:00:00:00:01", None)]
    return system


def test_the_agent_reports_what_sysfs_says_in_rfc_2863_words() -> None:
    facts = InterfacesCollector().collect(recorded_netns(), {})
    found = {n.name: n for n in facts.interfaces}
    status = {name: (n.admin_status, n.oper_status) for name, n in found.items()}
    assert status == {
        "lo": ("up", "up"),  # the kernel's "unknown" with carrier, as net-snmp says
        "peer0": ("down", "down"),
        "uplink0": ("up", "lowerLayerDown"),
        "cable0": ("up", "up"),
        "cable1": ("up", "up"),
    }
    assert (found["cable0"].alias, found["cable0"].speed_mbps) == ("to rack B", 10000)
    assert found["peer0"].speed_mbps is None  # no speed file can be read on a link that is down


def test_the_kernels_unknown_is_up_only_with_carrier() -> None:
    assert oper_status("unknown", AdminStatus.UP, True) is OperStatus.UP
    assert oper_status("unknown", AdminStatus.UP, False) is OperStatus.UNKNOWN
    assert oper_status("unknown", AdminStatus.DOWN, None) is OperStatus.DOWN
    assert oper_status("dormant", AdminStatus.UP, True) is OperStatus.DORMANT
    assert link_state("eth0", lambda path: None) == {}  # no sysfs: nothing is claimed


def test_ssh_and_the_agent_report_the_same_interface_attributes() -> None:
    """Over SSH the same collector reads `ip -j addr` and sysfs recorded in the same namespace
    (the sysfs files as the SSH batch's ``grep -aH ''`` gives them) and says what the agent says."""
    sysfs = (FIXTURES / "agent" / "sysfs_net" / "netns-veth-pairs.grep").read_text()
    answers = {
        "ip_addr": Answer((FIXTURES / "ssh" / "ip_addr" / "netns-veth-states.raw").read_text(), 0),
        "files": Answer("".join(f"/sys/class/net/{line}\n" for line in sysfs.splitlines()), 0),
    }
    ssh = {n.name: n for n in InterfacesCollector().collect(SshSystem(answers), {}).interfaces}
    agent = {n.name: n for n in InterfacesCollector().collect(recorded_netns(), {}).interfaces}
    for name in agent:
        for field in ("admin_status", "oper_status", "alias", "speed_mbps"):
            assert getattr(ssh[name], field) == getattr(agent[name], field), (name, field)
    assert ssh["cable0"].mtu == agent["cable0"].mtu == 1500


def test_a_checked_field_missing_from_every_case_would_be_noticed() -> None:
    fields = {f for case in CASES for r in json.loads(case.read_text())["interfaces"].values() for f in r}
    assert set(CHECKED) <= fields
