"""An inventory agent's XML mapped to a report (cmdb_server/inventory/mapping.py), field by field.

The fixtures are this test VM's own inventories by the real agents (tests/fixtures/inventory/):
FusionInventory 2.6 (``fusion.xml``), the same with a fake dmidecode giving a Dell's UUID,
BIOS and memory (``fusion-dmidecode.xml``), and OCS Inventory 2.10 (``ocs.xml``).
"""

from __future__ import annotations

import dataclasses
import json
from collections import Counter
from datetime import UTC, datetime
from typing import Any

import pytest

from cmdb_server import authority
from cmdb_server.inventory.document import InventoryDocument
from cmdb_server.inventory.mapping import inventory_report
from schema import load_schema
from schema.report import parse_report
from tests.inventory_documents import fixture

SCHEMA = load_schema()
AT = datetime(2026, 12, 1, 4, 25, 12, tzinfo=UTC)
MIB = 1024 * 1024
DELL_UUID = "4c4c4544-0042-3510-8052-b4c04f4e4d32"


def mapped(doc: InventoryDocument) -> dict[str, Any]:
    report = inventory_report(doc, source_name="vm-2026-12-01-04-25-12", report_id="r-1", collected_at=AT)
    data: dict[str, Any] = json.loads(json.dumps(report))  # as it travels
    # Passes the contract, and describes one host as an agent token may (part B holds it to that).
    authority.check_agent_scope(parse_report(data, SCHEMA))
    return data


def records(report: dict[str, Any], class_name: str) -> dict[str, dict[str, Any]]:
    return {r["ref"]: r for r in report["records"] if r["class"] == class_name}


def host(report: dict[str, Any]) -> dict[str, Any]:
    (record,) = (r for r in report["records"] if r["ref"] == "host")
    return dict(record)


def with_section(doc: InventoryDocument, name: str, *items: dict[str, Any]) -> InventoryDocument:
    return dataclasses.replace(doc, content={**doc.content, name: tuple(items)})


def with_hardware(doc: InventoryDocument, **fields: str) -> InventoryDocument:
    return with_section(doc, "HARDWARE", {**doc.first("HARDWARE"), **fields})


@pytest.mark.parametrize("name", ["fusion.xml", "fusion-dmidecode.xml", "ocs.xml"])
def test_every_inventory_maps_to_a_valid_report_of_the_inventory_source(name: str) -> None:
    report = mapped(fixture(name))
    assert report["version"] == 1
    assert report["report_id"] == "r-1"
    assert report["source"] == {"kind": "inventory", "name": "vm-2026-12-01-04-25-12"}
    assert datetime.fromisoformat(report["collected_at"]) == AT
    assert [r["ref"] for r in report["records"] if "parent" not in r and r["class"].endswith("Host")] == ["host"]


def test_fusion_host_as_our_agent_names_it() -> None:
    record = host(mapped(fixture("fusion.xml")))
    assert record["class"] == "LinuxHost"  # OPERATINGSYSTEM/KERNEL_NAME linux
    assert record["identity"] == {"hostname": "vm", "primary_mac": "02:fc:00:00:00:01"}  # FQDN "vm" has no domain
    assert record["attributes"] == {
        "name": "vm",
        "hostname": "vm",
        "os_name": "Debian GNU/Linux",  # OPERATINGSYSTEM/NAME, not HARDWARE/OSNAME
        "os_version": "12.11",
        "kernel": "6.18.44-fc-v857",  # fusion's HARDWARE/OSVERSION is the kernel too
        "architecture": "x86_64",
        "cpu_model": "Intel(R) Xeon(R) Processor",
        "cpu_cores": 2,
        "cpu_threads": 2,
        "memory_bytes": 24105 * MIB,
        "virtual": True,  # VMSYSTEM Docker
    }  # no boot_time (time - uptime: a second off every other run), no hardware_uuid (Docker)


def test_fusion_with_dmi_adds_bios_and_memory_modules_but_no_container_uuid() -> None:
    report = mapped(fixture("fusion-dmidecode.xml"))
    attributes = host(report)["attributes"]
    assert {k: attributes.get(k) for k in ("vendor", "model", "serial", "hardware_uuid")} == {
        "vendor": "Dell Inc.",
        "model": "PowerEdge R640",
        "serial": None,  # fusion blanks BIOS/SSN in a container
        "hardware_uuid": None,  # VMSYSTEM Docker: not this machine's SMBIOS UUID to trust
    }
    assert {k: attributes[k] for k in ("bios_vendor", "bios_version", "bios_date", "asset_tag", "chassis_type")} == {
        "bios_vendor": "Dell Inc.",
        "bios_version": "2.11.0",
        "bios_date": "2021-03-24",  # BDATE 03/24/2021
        "asset_tag": "ASSET-42",
        "chassis_type": "Rack Mount Chassis",
    }
    modules = records(report, "MemoryModule")
    assert modules == {
        f"mem:{slot}": {
            "ref": f"mem:{slot}",
            "class": "MemoryModule",
            "parent": "host",
            "identity": {"slot": slot},
            "attributes": {
                "name": slot,
                "slot": slot,
                "capacity_bytes": 16 * 1024 * MIB,
                "type": "DDR4",
                "speed_mhz": 2666,
                "manufacturer": "Hynix",
                "part_number": "HMA82GR7AFR8N-VK",
                "serial": serial,
            },
        }
        for slot, serial in (("A1", "12345678"), ("A2", "87654321"))
    }
    assert len(report["relations"]) == len(mapped(fixture("fusion.xml"))["relations"])  # parts hang by parent


def test_ocs_host_reads_the_os_from_hardware_and_cpus_per_socket() -> None:
    record = host(mapped(fixture("ocs.xml")))
    assert record["class"] == "LinuxHost"
    assert record["identity"] == {"hostname": "vm", "primary_mac": "02:fc:00:00:00:01"}
    assert record["attributes"] == {
        "name": "vm",
        "hostname": "vm",
        "os_name": "Debian GNU/Linux",  # OSNAME "Debian GNU/Linux 12" less OSVERSION
        "os_version": "12",
        "architecture": "x86_64",  # HARDWARE/DESCRIPTION "x86_64/<uptime>"
        "cpu_model": "Intel(R) Xeon(R) Processor",
        "cpu_cores": 2,
        "cpu_threads": 2,  # LOGICAL_CPUS
        "memory_bytes": 24105 * MIB,
        "virtual": False,  # OCS says Physical
    }  # OCS sends no kernel: its OSVERSION is the distribution's


@pytest.mark.parametrize("name", ["fusion.xml", "ocs.xml"])
def test_network_rows_of_one_interface_are_one_interface_with_its_addresses(name: str) -> None:
    report = mapped(fixture(name))
    nics = records(report, "Interface")
    eth0 = nics["if:eth0"]["attributes"]
    assert eth0["mac"] == "02:fc:00:00:00:01"
    assert eth0["physical"] is True  # fusion VIRTUALDEV 0; OCS has its DRIVER virtio_net
    assert eth0["admin_status"] == "up"
    assert "speed_mbps" not in eth0  # SPEED -1
    # ifb's random MACs never identify the host: not physical (fusion VIRTUALDEV 1, OCS no DRIVER).
    assert nics["if:ifb0"]["attributes"]["physical"] is False
    assert nics["if:ifb1"]["attributes"]["admin_status"] == "down"
    addresses = {
        r["identity"]["address"]: r["attributes"]["prefix_length"] for r in records(report, "IPAddress").values()
    }
    has_ip = {(r["from"], r["to"]) for r in report["relations"] if r["type"] == "HAS_IP"}
    if name == "fusion.xml":
        assert set(nics) == {"if:lo", "if:eth0", "if:ifb0", "if:ifb1"}  # 7 rows
        assert eth0["addresses"] == [
            "192.0.2.2/24",
            "fd00::2/64",
            "fe80::fc:ff:fe00:1/64",
        ]  # IPMASK6 ffff:ffff:ffff:ffff::
        assert nics["if:lo"]["attributes"]["addresses"] == ["127.0.0.1/8", "::1/128"]  # not fusion's fff0::
        assert addresses == {"192.0.2.2": 24, "fd00::2": 64}  # loopback and link-local stay on the interface
        assert has_ip == {("if:eth0", "ip:192.0.2.2"), ("if:eth0", "ip:fd00::2")}
    else:
        assert set(nics) == {"if:eth0", "if:ifb0", "if:ifb1"}  # 4 rows, no lo; IPv6 in IPADDRESS
        assert eth0["addresses"] == ["192.0.2.2/24", "fe80::fc:ff:fe00:1/64"]
        assert eth0["mtu"] == 1400
        assert addresses == {"192.0.2.2": 24}
        assert has_ip == {("if:eth0", "ip:192.0.2.2")}


def test_the_primary_mac_is_the_default_gateways_interface_else_the_one_with_the_hosts_address() -> None:
    doc = fixture("fusion.xml")
    assert host(mapped(with_hardware(doc, DEFAULTGATEWAY="", IPADDR="192.0.2.2")))["identity"]["primary_mac"] == (
        "02:fc:00:00:00:01"
    )
    unknown = host(mapped(with_hardware(doc, DEFAULTGATEWAY="198.51.100.1", IPADDR="198.51.100.2")))
    assert unknown["identity"] == {"fqdn": "vm"}  # our agent's rule: a bare host name is no key (agent/report.py)


@pytest.mark.parametrize("name", ["fusion.xml", "ocs.xml"])
def test_packages_are_our_agents_one_per_name_version_architecture(name: str) -> None:
    doc = fixture(name)
    softwares = doc.section("SOFTWARES")
    distinct = {(s["NAME"], s["VERSION"], s.get("ARCH") or s.get("ARCHITECTURE")) for s in softwares}
    report = mapped(doc)
    packages = records(report, "SoftwarePackage")
    assert len(packages) == len(distinct) == 817
    assert packages["pkg:dpkg:adduser:all:3.134"] == {
        "ref": "pkg:dpkg:adduser:all:3.134",
        "class": "SoftwarePackage",
        "identity": {"package_name": "adduser", "version": "3.134", "architecture": "all", "manager": "dpkg"},
        "attributes": {"name": "adduser"},
    }
    installed = [r for r in report["relations"] if r["type"] == "INSTALLED"]
    assert {r["to"] for r in installed} == set(packages)
    assert {r["from"] for r in installed} == {"host"}


def test_both_agents_name_this_machines_packages_alike() -> None:
    """OCS lists a multi-arch package as dpkg's binary:Package (binutils-common:amd64); fusion,
    dpkg and our agent without the suffix: one package CI, whichever agent reports it."""
    fusion = {
        tuple(sorted(r["identity"].items())) for r in records(mapped(fixture("fusion.xml")), "SoftwarePackage").values()
    }
    ocs = {
        tuple(sorted(r["identity"].items())) for r in records(mapped(fixture("ocs.xml")), "SoftwarePackage").values()
    }
    assert fusion == ocs
    assert (
        ("architecture", "amd64"),
        ("manager", "dpkg"),
        ("package_name", "binutils-common"),
        ("version", "2.40-2"),
    ) in ocs


def test_duplicate_softwares_are_one_package_and_rpm_and_others_name_their_manager() -> None:
    doc = with_section(
        fixture("fusion.xml"),
        "SOFTWARES",
        {"NAME": "bash", "VERSION": "5.2-1", "ARCH": "amd64", "FROM": "deb"},
        {"NAME": "bash", "VERSION": "5.2-1", "ARCH": "amd64", "FROM": "deb"},
        {"NAME": "kernel", "VERSION": "5.14.0-362.el9", "ARCHITECTURE": "x86_64", "FROM": "rpm"},
        {"NAME": "gpg-pubkey", "VERSION": "fd431d51-4ae0493b", "ARCH": "(none)", "FROM": "rpm"},
        {"NAME": "firefox", "VERSION": "120.0", "ARCH": "amd64", "FROM": "snap"},
        {"NAME": "nameless-arch", "VERSION": "1", "FROM": "snap"},
    )
    packages = {tuple(r["identity"].values()) for r in records(mapped(doc), "SoftwarePackage").values()}
    assert packages == {
        ("bash", "5.2-1", "amd64", "dpkg"),
        ("kernel", "5.14.0-362.el9", "x86_64", "rpm"),
        ("firefox", "120.0", "amd64", "other"),
    }


@pytest.mark.parametrize("name", ["fusion.xml", "ocs.xml"])
def test_drives_are_filesystems_by_their_mount_point_in_type(name: str) -> None:
    assert records(mapped(fixture(name)), "Filesystem") == {
        "fs:/": {
            "ref": "fs:/",
            "class": "Filesystem",
            "parent": "host",
            "identity": {"mount_point": "/"},
            "attributes": {"name": "/", "device": "/dev/vda", "fs_type": "ext4", "size_bytes": 258019 * MIB},
        }
    }  # no used_bytes: DRIVES/FREE is df's Available, reserved blocks not counted


def test_storages_are_disks_with_placeholder_serials_left_out() -> None:
    fusion = records(mapped(fixture("fusion.xml")), "Disk")
    assert fusion == {
        "disk:vda": {
            "ref": "disk:vda",
            "class": "Disk",
            "parent": "host",
            "identity": {"name": "vda"},
            "attributes": {
                "name": "vda",
                "size_bytes": 274877 * 10**6,
                "manufacturer": "Red Hat, Inc.",
                "type": "disk",
            },
        }  # SERIALNUMBER overlayblk: every virtual disk's
    }
    ocs = records(mapped(fixture("ocs.xml")), "Disk")  # three STORAGES, one empty
    assert {ref: r["attributes"] for ref, r in ocs.items()} == {
        "disk:vda": {"name": "vda", "size_bytes": 274877 * 10**6, "type": "disk"},  # 274877.906944: whole MB
        "disk:zram0": {"name": "zram0", "type": "disk"},
    }
    real = with_section(
        fixture("fusion.xml"),
        "STORAGES",
        {
            "NAME": "sda",
            "DISKSIZE": "960197",
            "MODEL": "MZ7KH960HAJR0D3",
            "MANUFACTURER": "Samsung",
            "SERIALNUMBER": "S47NNA0N123456",
            "INTERFACE": "SATA",
            "FIRMWARE": "HE5C",
            "TYPE": "disk",
        },
    )
    assert records(mapped(real), "Disk")["disk:sda"]["attributes"] == {
        "name": "sda",
        "size_bytes": 960197 * 10**6,
        "model": "MZ7KH960HAJR0D3",
        "manufacturer": "Samsung",
        "serial": "S47NNA0N123456",
        "interface": "SATA",
        "firmware": "HE5C",
        "type": "disk",
    }


@pytest.mark.parametrize(
    ("vm_system", "uuid", "kept"),
    [
        ("VMware", "564D1111-2222-3333-4444-555566667777", "564d1111-2222-3333-4444-555566667777"),
        ("Physical", DELL_UUID, DELL_UUID),
        ("QEMU", DELL_UUID, DELL_UUID),
        ("", DELL_UUID, DELL_UUID),  # OCS on systems it sends no VMSYSTEM for: dmidecode's
        ("Docker", DELL_UUID, None),  # fusion: the container's, whatever dmidecode says
        ("Docker", "3f4e5d6c7b8a", None),  # the container id
        ("lxc", "7d0a6b3c-1f2e-4d5c-8b9a-0e1f2a3b4c5d", None),  # a hash of machine-id and host name
        ("Virtuozzo", DELL_UUID, None),
        ("Physical", "00000000-0000-0000-0000-000000000000", None),  # placeholder
        ("Physical", "03000200-0400-0500-0006-000700080009", None),  # the board vendors' placeholder
        ("Physical", "not-a-uuid", None),
    ],
)
def test_hardware_uuid_only_when_it_is_the_machines_smbios_uuid(vm_system: str, uuid: str, kept: str | None) -> None:
    doc = with_hardware(fixture("fusion-dmidecode.xml"), VMSYSTEM=vm_system, UUID=uuid)
    attributes = host(mapped(doc))["attributes"]
    assert attributes.get("hardware_uuid") == kept
    assert attributes["virtual"] is (vm_system not in ("Physical", ""))


def test_serial_and_vendor_identify_a_physical_machine() -> None:
    doc = with_section(
        fixture("fusion-dmidecode.xml"), "BIOS", {**fixture("fusion-dmidecode.xml").first("BIOS"), "SSN": "CMDBTEST01"}
    )
    record = host(mapped(with_hardware(doc, VMSYSTEM="Physical")))
    assert {k: record["attributes"][k] for k in ("serial", "vendor", "hardware_uuid")} == {
        "serial": "CMDBTEST01",
        "vendor": "Dell Inc.",
        "hardware_uuid": DELL_UUID,
    }
    placeholder = with_section(doc, "BIOS", {**doc.first("BIOS"), "SSN": "To Be Filled By O.E.M."})
    assert "serial" not in host(mapped(placeholder))["attributes"]


def test_a_hypervisors_guests_are_hosts_by_their_uuid_hosted_on_it() -> None:
    doc = with_section(
        with_hardware(fixture("fusion.xml"), VMSYSTEM="Physical"),
        "VIRTUALMACHINES",
        {
            "NAME": "web1",
            "UUID": "564D1111-2222-3333-4444-555566667777",
            "VCPU": "2",
            "MEMORY": "4096",
            "STATUS": "running",
            "VMTYPE": "libvirt",
        },
        {"NAME": "no-uuid", "UUID": "", "STATUS": "off"},
        {"NAME": "zero", "UUID": "00000000-0000-0000-0000-000000000000"},
    )
    report = mapped(doc)
    guests = {r["ref"]: r for r in report["records"] if r["ref"].startswith("vm:")}
    assert guests == {
        "vm:564d1111-2222-3333-4444-555566667777": {
            "ref": "vm:564d1111-2222-3333-4444-555566667777",
            "class": "Host",
            "identity": {"hardware_uuid": "564d1111-2222-3333-4444-555566667777"},
            "attributes": {
                "name": "web1",
                "hostname": "web1",
                "virtual": True,
                "cpu_threads": 2,
                "memory_bytes": 4096 * MIB,
            },
        }
    }
    hosted = [r for r in report["relations"] if r["type"] == "HOSTED_ON"]
    assert hosted == [{"type": "HOSTED_ON", "from": "vm:564d1111-2222-3333-4444-555566667777", "to": "host"}]


def test_an_inventory_missing_sections_or_with_junk_values_still_maps() -> None:
    doc = InventoryDocument(
        query=fixture("ocs.xml").query,
        device_id="x",
        agent=fixture("ocs.xml").agent,
        client="OCS-NG_unified_unix_agent_v2.10.0",
        content={
            "HARDWARE": ({"NAME": "box.example.org", "MEMORY": "lots", "OSNAME": "FreeBSD 14.0", "OSVERSION": "14.0"},),
            "NETWORKS": (
                {"DESCRIPTION": "em0", "MACADDR": "02:00:00:00:00:09", "IPADDRESS": "300.1.2.3", "IPMASK": "x"},
            ),
            "CPUS": ({"TYPE": "x", "CORES": "-1"},),
            "DRIVES": ({"TYPE": "/", "TOTAL": ""},),
            "MEMORIES": ({"CAPTION": "DIMM1", "CAPACITY": "No Module Installed"},),
            "BIOS": ({"BDATE": "sometime"},),
        },
    )
    report = mapped(doc)
    record = host(report)
    assert record["class"] == "Host"  # FreeBSD
    assert record["identity"] == {"fqdn": "box"}
    assert record["attributes"]["bios_date"] == "sometime"
    assert records(report, "Interface")["if:em0"]["attributes"] == {
        "mac": "02:00:00:00:00:09",
        "physical": False,
        "addresses": [],
    }
    assert records(report, "MemoryModule") == {}
    assert Counter(r["class"] for r in report["records"]) == {"Host": 1, "Interface": 1, "Filesystem": 1}
