"""An inventory agent's document as a report of the contract (pure): FusionInventory 2.6 and OCS 2.10.

The XML is read into the facts our own agent's collectors keep (agent/collectors/), and the
report is built by the agent's ``build_report``, so that one machine reported by our agent
and by an inventory agent is described by the same records, refs, identity keys and
normalisation (MACs, addresses, package versions) and meets in the same CIs. What only the
inventory agents see (BIOS, memory modules, disks, a hypervisor's guests) is added by the
topics below. The two agents name the same things differently; each field says where it
comes from for each (README, "What an inventory becomes").

Left out on purpose: what changes every run and tells nothing of the configuration
(ACCESSLOG, PROCESSES, ENVS, HARDWARE/CHECKSUM, the uptime in OCS's HARDWARE/DESCRIPTION,
and fusion's BOOT_TIME, which is ``time - uptime`` to the second and so one second off
every other run), users and groups, and what the agents say of themselves. DRIVES/FREE is
df's Available, not what is free: used space (volatile anyway) is our agent's to say.
The document comes from an agent on a host nobody vetted: a value that does not parse is
left out, never an error.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from agent.collectors.base import Collector, Facts, HostRecord, HostReport
from agent.collectors.filesystems import Filesystem, FilesystemsCollector
from agent.collectors.identity import IdentityCollector, IdentityFacts
from agent.collectors.interfaces import InterfacesCollector, InterfacesFacts, IpAddress, Nic
from agent.collectors.os_info import OsCollector, OsFacts
from agent.collectors.packages import Package, PackagesCollector
from agent.parsers import canonical_address, clean_dmi, prefix_length, rpm_package
from agent.report import build_report
from cmdb_server.inventory.document import InventoryAgent, InventoryDocument, InventoryItem
from schema.enums import AdminStatus, SourceKind
from schema.identifiers import identifier_rules
from schema.report import ReportDict
from schema.report_builder import drop_none

MIB = 1024 * 1024
"""DRIVES/TOTAL, HARDWARE/MEMORY and MEMORIES/CAPACITY are in MiB (df -k / 1024, MemTotal / 1024)."""

MB = 1000 * 1000
"""STORAGES/DISKSIZE is in decimal MB (fusion 274877 and OCS 274877.906944 for a 274877906944-byte disk)."""

SMBIOS_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")

OWN_SMBIOS = frozenset(
    {"", "physical", "vmware", "kvm", "qemu", "virtualbox", "xen", "xen hvm", "hyperv", "hyper-v", "parallels", "bochs"}
)
"""HARDWARE/VMSYSTEM of a machine whose HARDWARE/UUID is its own SMBIOS UUID: a physical one or
a hypervisor's guest (the guest's own agent reads the same UUID). In a container (Docker,
lxc, OpenVZ, Virtuozzo, a zone) fusion makes one up: the container id, or a hash of the
machine-id and host name, which identifies no hardware. OCS sends no VMSYSTEM on some
systems: its UUID is dmidecode's."""

PACKAGE_MANAGERS = {"deb": "dpkg", "rpm": "rpm", "apk": "apk"}
"""SOFTWARES/FROM as schema's SoftwarePackage.manager; any other (snap, pacman, nix) is ``other``."""

OCS_NOT_LINUX = ("aix", "freebsd", "openbsd", "netbsd", "dragonfly", "sunos", "solaris", "hp-ux", "darwin", "mac")
"""How OCS's unix agent names the systems that are not Linux (HARDWARE/OSNAME); on Linux it
writes os-release's NAME and VERSION_ID ("Debian GNU/Linux 12", "Ubuntu 22.04") or "Linux"."""


def inventory_report(
    doc: InventoryDocument,
    *,
    source_name: str,
    report_id: str,
    collected_at: datetime,
    network_domain: str = "global",
) -> ReportDict:
    """The report of the host an inventory describes, as source ``inventory:<source_name>``."""
    return build_report(
        inventory_facts(doc),
        network_domain=network_domain,
        now=collected_at,
        source=(SourceKind.INVENTORY.value, source_name),
        collectors=TOPICS,
        report_id=report_id,
    )


def inventory_facts(doc: InventoryDocument) -> Facts:
    """The document read into the facts of our agent's topics (and the inventory's own)."""
    return {
        "errors": {},
        "identity": identity_facts(doc),
        "os": os_facts(doc),
        "filesystems": filesystems(doc),
        "interfaces": interfaces_facts(doc),
        "packages": packages(doc),
        "hardware": hardware_facts(doc),
        "virtual_machines": virtual_machines(doc),
    }


# --- reading values -------------------------------------------------------------------


def text(item: InventoryItem, name: str) -> str | None:
    """A field's text, stripped; None when absent, empty or nested."""
    value = item.get(name)
    if not isinstance(value, str):
        return None
    return value.strip() or None


def number(value: str | None) -> float | None:
    """The number a field starts with ("2666", "2666 MHz", "-1 Mbps", "274877.906944")."""
    match = re.match(r"^-?\d+(\.\d+)?", value or "")
    return float(match.group()) if match else None


def positive_int(value: str | None, unit: int = 1) -> int | None:
    found = number(value)
    return round(found * unit) if found is not None and found > 0 else None


def serial_number(value: str | None) -> str | None:
    """A serial, unless it is one of the placeholders firmware and virtual disks give."""
    value = clean_dmi(value)
    return value if identifier_rules().usable("serial", value) else None


def smbios_uuid(value: str | None, vm_system: str | None) -> str | None:
    """HARDWARE/UUID as the SMBIOS UUID our agent reads (lower case), when it is one (OWN_SMBIOS)."""
    uuid = (value or "").strip().lower()
    if (vm_system or "").strip().lower() not in OWN_SMBIOS or not SMBIOS_UUID.match(uuid):
        return None
    return uuid if identifier_rules().usable("hardware_uuid", uuid) else None


def iso_date(value: str | None) -> str | None:
    """BIOS/BDATE (MM/DD/YYYY, as SMBIOS writes it) as YYYY-MM-DD; any other text as it is."""
    match = re.match(r"^(\d{2})/(\d{2})/(\d{4})$", value or "")
    return f"{match[3]}-{match[1]}-{match[2]}" if match else value


# --- the agent's topics ---------------------------------------------------------------


def identity_facts(doc: InventoryDocument) -> IdentityFacts:
    hardware, bios, system = doc.first("HARDWARE"), doc.first("BIOS"), doc.first("OPERATINGSYSTEM")
    hostname = (text(hardware, "NAME") or "").split(".", 1)[0] or None
    fqdn = text(system, "FQDN")  # fusion only; OCS sends the name and a WORKGROUP
    return IdentityFacts(
        machine_id=None,  # neither agent sends /etc/machine-id (OPERATINGSYSTEM/HOSTID is gethostid())
        hostname=hostname,
        fqdn=fqdn if fqdn and "." in fqdn else None,
        vendor=clean_dmi(text(bios, "SMANUFACTURER")),
        model=clean_dmi(text(bios, "SMODEL")),
        serial=serial_number(text(bios, "SSN")),
        hardware_uuid=smbios_uuid(text(hardware, "UUID"), text(hardware, "VMSYSTEM")),
    )


def is_linux(doc: InventoryDocument) -> bool:
    if doc.agent is InventoryAgent.FUSIONINVENTORY:
        return (text(doc.first("OPERATINGSYSTEM"), "KERNEL_NAME") or "").lower() == "linux"
    osname = (text(doc.first("HARDWARE"), "OSNAME") or "").lower()
    return bool(osname) and not osname.startswith(OCS_NOT_LINUX) and "windows" not in osname


def os_facts(doc: InventoryDocument) -> OsFacts:
    hardware, system, cpus = doc.first("HARDWARE"), doc.first("OPERATINGSYSTEM"), doc.section("CPUS")
    linux = is_linux(doc)
    if doc.agent is InventoryAgent.FUSIONINVENTORY:
        # fusion's HARDWARE/OSVERSION is the kernel; the OS is in OPERATINGSYSTEM.
        os_name, os_version = text(system, "NAME"), text(system, "VERSION")
        kernel, architecture = text(system, "KERNEL_VERSION"), text(system, "ARCH")
        cores = sum(int(n) for cpu in cpus if (n := positive_int(text(cpu, "CORE"))))
        threads = sum(int(n) for cpu in cpus if (n := positive_int(text(cpu, "THREAD"))))  # siblings, per socket
        cpu_model = next((m for cpu in cpus if (m := text(cpu, "NAME"))), None)
    else:
        # OCS: OSNAME is os-release's "NAME VERSION_ID", OSVERSION its VERSION_ID; no kernel.
        os_name, os_version = text(hardware, "OSNAME"), text(hardware, "OSVERSION")
        if os_name and os_version and os_name.endswith(f" {os_version}"):
            os_name = os_name[: -len(os_version) - 1]
        kernel = None
        # DESCRIPTION is "uname -m/uptime": only the machine is configuration.
        architecture = (text(hardware, "DESCRIPTION") or "").split("/", 1)[0] or None
        cores = sum(int(n) for cpu in cpus if (n := positive_int(text(cpu, "CORES"))))
        threads = sum(int(n) for cpu in cpus if (n := positive_int(text(cpu, "LOGICAL_CPUS"))))
        cpu_model = next((m for cpu in cpus if (m := text(cpu, "TYPE"))), None)
    vm_system = (text(hardware, "VMSYSTEM") or "").lower()
    return OsFacts(
        system="Linux" if linux else None,
        os_name=os_name,
        os_version=os_version,
        distribution=None,  # os-release's ID: neither agent sends it
        kernel=kernel,
        architecture=architecture,
        boot_time=None,  # fusion's is time - uptime, a second off every other run (module docstring)
        cpu_model=cpu_model or text(hardware, "PROCESSORT"),
        cpu_cores=cores or None,
        cpu_threads=threads or None,
        memory_bytes=positive_int(text(hardware, "MEMORY"), MIB),
        virtual=bool(vm_system) and vm_system != "physical",
    )


def filesystems(doc: InventoryDocument) -> list[Filesystem]:
    """DRIVES: the mount point is in TYPE (a Windows drive's in LETTER), sizes in MiB."""
    found: dict[str, Filesystem] = {}
    for drive in doc.section("DRIVES"):
        mount_point = text(drive, "TYPE") or text(drive, "LETTER")
        if not mount_point or mount_point in found:
            continue
        total = number(text(drive, "TOTAL"))
        found[mount_point] = Filesystem(
            mount_point=mount_point,
            device=text(drive, "VOLUMN") or "",
            fs_type=text(drive, "FILESYSTEM") or "",
            size_bytes=round(total * MIB) if total and total > 0 else None,
            used_bytes=None,  # FREE is df's Available: TOTAL - FREE would count the reserved blocks as used
        )
    return list(found.values())


def _address(value: str | None, mask: str | None) -> IpAddress | None:
    try:
        address = canonical_address(value or "")
        version = ipaddress.ip_address(address).version
        length = prefix_length(mask, version)
    except ValueError:
        return None
    if address == "::1":
        length = 128  # the IPv6 loopback is one address (RFC 4291); fusion writes its mask fff0::
    return IpAddress(address, length, version)


def interfaces_facts(doc: InventoryDocument) -> InterfacesFacts:
    """NETWORKS has a row per address: rows of one name and MAC are one interface."""
    hardware = doc.first("HARDWARE")
    fusion = doc.agent is InventoryAgent.FUSIONINVENTORY
    rows: dict[tuple[str, str | None], list[InventoryItem]] = {}
    for row in doc.section("NETWORKS"):
        name = text(row, "DESCRIPTION")
        if name:
            rows.setdefault((name, (text(row, "MACADDR") or "").lower() or None), []).append(row)
    gateway, own_address = text(hardware, "DEFAULTGATEWAY"), text(hardware, "IPADDR")
    interfaces, default_interface, by_address = [], None, None
    for (name, mac), group in rows.items():
        first = group[0]
        addresses: list[IpAddress] = []
        for row in group:
            for value, mask in (
                (text(row, "IPADDRESS"), text(row, "IPMASK")),
                (text(row, "IPADDRESS6"), text(row, "IPMASK6")),
            ):
                address = _address(value, mask) if value else None
                if address is not None and address not in addresses:
                    addresses.append(address)
            if gateway and text(row, "IPGATEWAY") == gateway and default_interface is None:
                default_interface = name
            if own_address and text(row, "IPADDRESS") == own_address and by_address is None:
                by_address = name
        # A hardware port: fusion says VIRTUALDEV=0; OCS has a DRIVER only for a device's port
        # (an ifb or a bridge it lists as "ether" has none, and a random MAC per boot).
        physical = text(first, "VIRTUALDEV") == "0" if fusion else any(text(r, "DRIVER") for r in group)
        status = (text(first, "STATUS") or "").lower()  # the IFF_UP flag in both agents
        interfaces.append(
            Nic(
                name=name,
                mac=mac,
                mtu=positive_int(text(first, "MTU")),
                speed_mbps=positive_int(text(first, "SPEED")),
                admin_status=AdminStatus.UP if status == "up" else AdminStatus.DOWN if status == "down" else None,
                oper_status=None,
                alias=None,
                physical=physical,
                aggregate=None,
                addresses=tuple(addresses),
            )
        )
    default_interface = default_interface or by_address
    primary_mac = next((i.mac for i in interfaces if i.name == default_interface), None)
    return InterfacesFacts(interfaces, default_interface, primary_mac)


def packages(doc: InventoryDocument) -> list[Package]:
    """SOFTWARES as our agent's packages: fusion's ARCH is OCS's ARCHITECTURE."""
    found = []
    for software in doc.section("SOFTWARES"):
        name, version = text(software, "NAME"), text(software, "VERSION")
        arch = text(software, "ARCH") or text(software, "ARCHITECTURE")
        if not (name and version and arch):
            continue  # no identity (a snap without an architecture)
        manager = PACKAGE_MANAGERS.get((text(software, "FROM") or "").lower(), "other")
        if manager == "dpkg" and name.endswith(f":{arch}"):
            # OCS lists a multi-arch package by dpkg's ${binary:Package} (binutils-common:amd64);
            # dpkg, fusion and our agent name it without the architecture.
            name = name[: -len(arch) - 1]
        if manager == "rpm":
            # Neither agent sends rpm's epoch: a package with one is another CI than our agent's.
            package = rpm_package(name, "", version, arch)
            if package is not None:
                found.append(Package(**package))
            continue
        found.append(Package(package_name=name, version=version, architecture=arch, manager=manager))
    return found


class InventoryPackages(PackagesCollector):
    """Every package manager's packages at once, as SOFTWARES lists them."""

    name = "packages"


# --- what only the inventory agents see ----------------------------------------------


@dataclass(frozen=True)
class MemoryModule:
    slot: str
    capacity_bytes: int | None
    type: str | None
    speed_mhz: int | None
    manufacturer: str | None
    part_number: str | None
    serial: str | None


@dataclass(frozen=True)
class Disk:
    name: str
    size_bytes: int | None
    model: str | None
    manufacturer: str | None
    serial: str | None
    interface: str | None
    firmware: str | None
    type: str | None


@dataclass(frozen=True)
class HardwareFacts:
    bios: dict[str, str | None] = field(default_factory=dict)  # Host attributes
    memory: list[MemoryModule] = field(default_factory=list)
    disks: list[Disk] = field(default_factory=list)


def hardware_facts(doc: InventoryDocument) -> HardwareFacts:
    bios, hardware = doc.first("BIOS"), doc.first("HARDWARE")
    memory: dict[str, MemoryModule] = {}
    for module in doc.section("MEMORIES"):
        slot = text(module, "CAPTION") or text(module, "NUMSLOTS")
        capacity = positive_int(text(module, "CAPACITY"), MIB)
        if not slot or capacity is None or slot in memory:
            continue  # an empty slot is no module
        memory[slot] = MemoryModule(
            slot=slot,
            capacity_bytes=capacity,
            type=clean_dmi(text(module, "TYPE")),
            speed_mhz=positive_int(text(module, "SPEED")),
            manufacturer=clean_dmi(text(module, "MANUFACTURER")),
            part_number=clean_dmi(text(module, "MODEL")),
            serial=serial_number(text(module, "SERIALNUMBER")),
        )
    disks: dict[str, Disk] = {}
    for storage in doc.section("STORAGES"):
        name = text(storage, "NAME")
        if not name or name in disks:
            continue  # OCS sends an empty STORAGES
        disks[name] = Disk(
            name=name,
            # Whole MB: OCS adds the bytes as a fraction (274877.906944) that fusion leaves out (274877),
            # so both agents of one host give one size, not a change at each one's turn.
            size_bytes=positive_int(str(int(found)) if (found := number(text(storage, "DISKSIZE"))) else None, MB),
            model=clean_dmi(text(storage, "MODEL")),
            manufacturer=clean_dmi(text(storage, "MANUFACTURER")),
            serial=serial_number(text(storage, "SERIALNUMBER")),
            interface=text(storage, "INTERFACE"),
            firmware=text(storage, "FIRMWARE"),
            type=text(storage, "TYPE"),
        )
    return HardwareFacts(
        bios={
            "bios_vendor": clean_dmi(text(bios, "BMANUFACTURER")),
            "bios_version": clean_dmi(text(bios, "BVERSION")),
            "bios_date": iso_date(clean_dmi(text(bios, "BDATE"))),
            "asset_tag": serial_number(text(bios, "ASSETTAG")),
            "chassis_type": clean_dmi(text(hardware, "CHASSIS_TYPE")),
        },
        memory=list(memory.values()),
        disks=list(disks.values()),
    )


class HardwareTopic(Collector[HardwareFacts]):
    """BIOS on the Host record, memory modules and disks as its parts."""

    name = "hardware"

    def describe_host(self, facts: HardwareFacts, host: HostRecord) -> None:
        host.attributes.update(facts.bios)

    def records(self, facts: HardwareFacts, report: HostReport) -> None:
        for module in facts.memory:
            report.builder.add(
                {
                    "ref": f"mem:{module.slot}",
                    "class": "MemoryModule",
                    "parent": report.host_ref,
                    "identity": {"slot": module.slot},
                    "attributes": drop_none({"name": module.slot, **vars(module)}),
                }
            )
        for disk in facts.disks:
            report.builder.add(
                {
                    "ref": f"disk:{disk.name}",
                    "class": "Disk",
                    "parent": report.host_ref,
                    "identity": {"name": disk.name},
                    "attributes": drop_none(vars(disk)),
                }
            )


@dataclass(frozen=True)
class VirtualMachine:
    name: str
    hardware_uuid: str
    cpu_threads: int | None
    memory_bytes: int | None


def virtual_machines(doc: InventoryDocument) -> list[VirtualMachine]:
    """VIRTUALMACHINES of a hypervisor: those with an SMBIOS UUID, which their own agent reads too."""
    found: dict[str, VirtualMachine] = {}
    for vm in doc.section("VIRTUALMACHINES"):
        name, uuid = text(vm, "NAME"), smbios_uuid(text(vm, "UUID"), "")
        if name and uuid and uuid not in found:
            found[uuid] = VirtualMachine(
                name=name,
                hardware_uuid=uuid,
                cpu_threads=positive_int(text(vm, "VCPU")),
                memory_bytes=positive_int(text(vm, "MEMORY"), MIB),
            )
    return list(found.values())


class VirtualMachinesTopic(Collector[list[VirtualMachine]]):
    """Each guest a Host identified by its SMBIOS UUID alone, HOSTED_ON this host."""

    name = "virtual_machines"

    def records(self, facts: list[VirtualMachine], report: HostReport) -> None:
        for vm in facts:
            ref = f"vm:{vm.hardware_uuid}"
            report.builder.add(
                {
                    "ref": ref,
                    "class": "Host",
                    "identity": {"hardware_uuid": vm.hardware_uuid},
                    "attributes": drop_none(
                        {
                            "name": vm.name,
                            "hostname": vm.name,
                            "virtual": True,
                            "cpu_threads": vm.cpu_threads,
                            "memory_bytes": vm.memory_bytes,
                        }
                    ),
                }
            )
            report.builder.relate("HOSTED_ON", ref, report.host_ref)


TOPICS: tuple[Collector[Any], ...] = (
    IdentityCollector(),
    OsCollector(),
    FilesystemsCollector(),
    InterfacesCollector(),
    InventoryPackages(),
    HardwareTopic(),
    VirtualMachinesTopic(),
)
"""The topics an inventory describes, in our agent's order: its collectors turn the facts
read above into records exactly as they do for our agent."""
