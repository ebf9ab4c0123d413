"""Device class and facts from SNMP: one recorded case per vendor, and the order of evidence."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from discovery.snmp import oids
from discovery.snmp.classify import DeviceClass, Evidence, classify
from discovery.snmp.device import build_device_report, device_facts
from discovery.snmp.parsers import enterprise_number, looks_like_model, parse_chassis
from discovery.snmp.snmprec import load_snmprec, parse_snmprec
from discovery.snmp.values import Walk
from discovery.snmp.vendors import OVERRIDES, vendors
from schema.model import load_schema
from tests.conftest import REPO_ROOT
from tests.integration.snmp_agents import SNMPSIM_DATA

CASES_DIR = REPO_ROOT / "tests" / "fixtures" / "snmp" / "facts"
CASES = sorted(CASES_DIR.glob("*.json"))
FIELDS = ("class", "vendor", "model", "serial", "os_name", "os_version", "firmware", "kernel")


@cache
def recorded_walk(expected_file: Path) -> Walk:
    """The case's own recording, or the snmpsim-data recording its ``.ref`` names."""
    own = expected_file.with_suffix(".snmprec")
    if own.exists():
        return load_snmprec(own)
    return load_snmprec(SNMPSIM_DATA / expected_file.with_suffix(".ref").read_text().strip())


def case_facts(expected_file: Path) -> dict[str, Any]:
    return dict(device_facts(recorded_walk(expected_file))["device"])


@pytest.mark.parametrize("expected_file", CASES, ids=lambda p: p.stem)
def test_each_recorded_vendor_case_gives_its_expected_facts_field_by_field(expected_file: Path) -> None:
    expected = json.loads(expected_file.read_text())
    assert set(expected) == set(FIELDS), "a case states every field (null where the device does not tell)"
    found = case_facts(expected_file)
    wrong = {field: (found.get(field), expected[field]) for field in FIELDS if found.get(field) != expected[field]}
    assert not wrong, f"(found, expected) by field: {wrong}"


def test_every_case_has_a_recording_and_the_ten_vendors_each_have_one() -> None:
    for expected_file in CASES:
        assert expected_file.with_suffix(".snmprec").exists() or expected_file.with_suffix(".ref").exists()
    systems = {json.loads(p.read_text())["os_name"] for p in CASES}
    assert {
        "IOS",
        "Junos",
        "EOS",
        "ArubaOS-Switch",
        "AOS-CX",
        "RouterOS",
        "VRP",
        "OS10",
        "Dell Networking OS",
        "FortiOS",
        "Linux",
    } <= systems


def test_every_vendor_override_has_a_recorded_case() -> None:
    recorded = {enterprise_number(str(recorded_walk(p).get(oids.SYS_OBJECT_ID))) for p in CASES}
    assert set(OVERRIDES) <= recorded


def test_sources_name_every_recorded_case() -> None:
    sources = (CASES_DIR.parent / "SOURCES.md").read_text()
    for expected_file in CASES:
        assert f"`{expected_file.stem}`" in sources, expected_file.stem


def test_network_gear_that_answers_host_resources_is_still_a_network_device() -> None:
    for case in ("juniper-qfx5100", "arista-dcs-7050", "aruba-cx-8325", "dell-os10-s4128f", "mikrotik-rb760igs"):
        walk = recorded_walk(CASES_DIR / f"{case}.json")
        assert oids.HR_SYSTEM_UPTIME in walk, case
        assert case_facts(CASES_DIR / f"{case}.json")["class"] in ("Switch", "Router"), case


def test_mikrotik_board_in_sysdescr_is_the_model_not_the_version_and_its_serial_is_read() -> None:
    facts = case_facts(CASES_DIR / "mikrotik-rb760igs.json")
    assert facts["model"] == "RB760iGS"  # sysDescr "RouterOS RB760iGS"
    assert facts["os_version"] == "7.1.1"  # mtxrLicVersion, not the board name
    assert facts["serial"] == "E1F10E90A6E9"  # mtxrSerialNumber 1.3.6.1.4.1.14988.1.1.7.3.0


def test_a_linux_hosts_kernel_comes_from_sysdescr_and_forwarding_does_not_make_it_a_router() -> None:
    facts = case_facts(CASES_DIR / "linux-netsnmp-debian12.json")
    assert facts["kernel"] == "6.1.0-28-amd64"
    assert facts["architecture"] == "x86_64"
    assert (facts["class"], facts["os_name"], facts["vendor"]) == ("LinuxHost", "Linux", None)  # Net-SNMP is no maker


ENTITY_WITH_HOST_NAME = """\
1.3.6.1.2.1.1.1.0|4|Edge device
1.3.6.1.2.1.1.2.0|6|1.3.6.1.4.1.99999.1
1.3.6.1.2.1.1.5.0|4|edge-gw-07.example.net
1.3.6.1.2.1.47.1.1.1.1.2.1|4|edge-gw-07
1.3.6.1.2.1.47.1.1.1.1.4.1|2|0
1.3.6.1.2.1.47.1.1.1.1.5.1|2|3
1.3.6.1.2.1.47.1.1.1.1.11.1|4|SN0042
"""


def test_a_chassis_description_that_is_the_host_name_is_not_taken_as_the_model() -> None:
    walk = parse_snmprec(ENTITY_WITH_HOST_NAME)
    assert parse_chassis(walk)["model"] is None
    assert parse_chassis(walk)["serial"] == "SN0042"
    named = parse_snmprec(ENTITY_WITH_HOST_NAME.replace("|4|edge-gw-07\n", "|4|WS-C3560G-48TS\n"))
    assert parse_chassis(named)["model"] == "WS-C3560G-48TS"


@pytest.mark.parametrize(
    ("descr", "is_model"),
    [
        ("WS-C3560G-48TS", True),
        ("HUAWEI S5720 Routing Switch", True),
        ("edge-gw-07", False),  # the sysName's short form
        ("edge-gw-07.example.net", False),
        ("core1.dc2.example.org", False),  # another domain name
        ("RouterOS 7.1.1 (stable) on RB760iGS", False),  # a sentence
        ("Fortinet FGT_60F, HW Serial#: FGT60FTK00000000", False),
        ("Chassis", False),  # no digit: a kind, not a model
        (None, False),
    ],
)
def test_what_reads_as_a_model_name(descr: str | None, is_model: bool) -> None:
    assert looks_like_model(descr, {"edge-gw-07.example.net"}) is is_model


@pytest.mark.parametrize(
    ("enterprise", "sys_descr", "facts"),
    [
        (
            674,
            "Dell EMC Networking OS10 Enterprise.\r\nCopyright (c) 1999-2020 by Dell Inc. All Rights Reserved.\r\n"
            "System Description: OS10 Enterprise.\r\nOS Version: 10.5.1.3.\r\nSystem Type: S4148F-ON",
            {"version": "10.5.1.3", "model": "S4148F-ON"},
        ),
        (
            2636,
            "Juniper Networks, Inc. qfx5100-48s-6q Ethernet Switch, kernel JUNOS 14.1X53-D40.8, Build date: ...",
            {"version": "14.1X53-D40.8", "model": "qfx5100-48s-6q"},
        ),
        (14988, "RouterOS RB760iGS", {"model": "RB760iGS"}),
        (
            30065,
            "Arista Networks EOS version 4.15.3F running on an Arista Networks DCS-7050TX-128",
            {"version": "4.15.3F", "model": "DCS-7050TX-128"},
        ),
        (47196, "Aruba JL635A 8325 GL.10.04.2000", {"version": "GL.10.04.2000", "model": "JL635A"}),
        (
            8072,
            "Linux web1 6.1.0-28-amd64 #1 SMP PREEMPT_DYNAMIC Debian 6.1.119-1 (2024-11-22) x86_64",
            {"kernel": "6.1.0-28-amd64", "architecture": "x86_64"},
        ),
        (
            311,
            "Hardware: x86 Family 6 - Software: Windows Version 6.3 (Build 9600 Multiprocessor Free)",
            {"version": "6.3"},
        ),
    ],
)
def test_vendor_sysdescr_patterns(enterprise: int, sys_descr: str, facts: dict[str, str]) -> None:
    assert vendors()[enterprise].from_descr(sys_descr) == facts


@pytest.mark.parametrize(
    ("evidence", "expected"),
    [
        # 1. the vendor's sysObjectID entry outranks everything below
        (Evidence(object_class="Router", lldp_capabilities=b"\x20", sys_services=2), DeviceClass.ROUTER),
        # 2. the vendor's model-name pattern outranks the vendor's default
        (Evidence(model_class="Switch", vendor_class="Router"), DeviceClass.SWITCH),
        # 3. an OS agent's vendor: a Host, whatever lldpd and forwarding say
        (
            Evidence(vendor_class="Host", lldp_capabilities=b"\x28", ip_forwarding=True, os_name="Linux"),
            DeviceClass.LINUX_HOST,
        ),
        (Evidence(vendor_class="Host", os_name="Windows"), DeviceClass.HOST),
        # 4. LLDP capabilities: bridge (with or without router) is a switch, router alone a router
        (Evidence(lldp_capabilities=b"\x28\x00", host_resources=True), DeviceClass.SWITCH),
        (Evidence(lldp_capabilities=b"\x08\x00", host_resources=True), DeviceClass.ROUTER),
        (Evidence(lldp_capabilities=b"\x01\x00", os_name="Linux"), DeviceClass.LINUX_HOST),
        # 5. network evidence outweighs HOST-RESOURCES-MIB
        (Evidence(network_vendor=True, host_resources=True), DeviceClass.NETWORK_DEVICE),
        (Evidence(chassis_entity=True, host_resources=True, ip_forwarding=True), DeviceClass.ROUTER),
        (Evidence(network_vendor=True, host_resources=True, sys_services=78), DeviceClass.SWITCH),
        (Evidence(sys_services=6, ip_forwarding=True), DeviceClass.SWITCH),
        # 6. HOST-RESOURCES-MIB and nothing that says network gear
        (Evidence(host_resources=True, ip_forwarding=True, sys_services=72, os_name="Linux"), DeviceClass.LINUX_HOST),
        # 7. nothing at all
        (Evidence(ip_forwarding=True), DeviceClass.ROUTER),
        (Evidence(), DeviceClass.NETWORK_DEVICE),
    ],
)
def test_classification_takes_the_first_evidence_that_decides(evidence: Evidence, expected: DeviceClass) -> None:
    assert classify(evidence) is expected


def report_device(facts: dict[str, Any]) -> dict[str, Any]:
    report = build_device_report(
        facts, "127.0.0.9", ("snmp", "test@127.0.0.9"), "default", "2026-01-01T00:00:00+00:00", "r-1"
    )
    return next(r for r in report["records"] if r["ref"] == "device")


def test_facts_are_kept_whatever_the_class_and_every_attribute_is_declared() -> None:
    schema = load_schema()
    for case in ("juniper-qfx5100", "mikrotik-rb760igs", "linux-netsnmp-debian12"):
        facts = device_facts(recorded_walk(CASES_DIR / f"{case}.json"))
        for ci_class in (facts["device"]["class"], "Host", "LinuxHost", "Switch"):
            facts["device"]["class"] = ci_class
            record = report_device(facts)
            attributes = record["attributes"]
            for key in ("vendor", "model", "serial", "os_name", "os_version"):
                assert attributes.get(key) == facts["device"][key], (case, ci_class, key)
            declared = schema.ci_class(ci_class).attributes
            assert set(attributes) <= set(declared), (case, ci_class, set(attributes) - set(declared))
    linux = report_device(device_facts(recorded_walk(CASES_DIR / "linux-netsnmp-debian12.json")))
    assert linux["attributes"]["kernel"] == "6.1.0-28-amd64"
    assert linux["attributes"]["os_name"] == "Linux"
