"""Which CI class an SNMP agent is: the evidence a device gives, weighed in one order (pure).

Real gear answers more than its own kind of MIB: Junos, EOS, AOS-CX, RouterOS, OS10 and
PAN-OS all run HOST-RESOURCES-MIB, and Linux hosts forward packets (every Docker host
has ipForwarding on). So no single MIB decides; what the vendor says outranks what an
agent happens to implement.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from discovery.snmp.oids import LLDP_CAP_BRIDGE, LLDP_CAP_ROUTER, LLDP_CAP_STATION


class DeviceClass(StrEnum):
    """The CI classes an SNMP scan reports a device as (declared in schema/ci_classes.toml)."""

    SWITCH = "Switch"
    ROUTER = "Router"
    NETWORK_DEVICE = "NetworkDevice"
    HOST = "Host"
    LINUX_HOST = "LinuxHost"


HOST_CLASSES = frozenset({DeviceClass.HOST, DeviceClass.LINUX_HOST})

# sysServices (SNMPv2-MIB): bit 2^(L-1) set for each OSI layer L the device serves.
SERVICES_LAYER_2 = 0x02
SERVICES_LAYER_3 = 0x04


@dataclass(frozen=True)
class Evidence:
    """What a walk says about the kind of device, each item optional.

    ``object_class`` and ``model_class`` come from vendor data (vendors.toml): the class a
    sysObjectID is declared as, and the class a vendor's model name pattern gives.
    ``vendor_class`` is the class of everything a vendor makes, where it makes one kind of
    thing (Arista switches, Fortinet firewalls; Net-SNMP and Microsoft agents run on hosts).
    ``network_vendor`` is true when the enterprise is a known network-gear maker.
    """

    object_class: str | None = None
    model_class: str | None = None
    vendor_class: str | None = None
    network_vendor: bool = False
    lldp_capabilities: bytes | None = None
    chassis_entity: bool = False
    sys_services: int | None = None
    ip_forwarding: bool = False
    host_resources: bool = False
    os_name: str | None = None


def classify(evidence: Evidence) -> DeviceClass:
    """The CI class of a device, from the first item of evidence that decides.

    1. The vendor's data for this sysObjectID (``models`` in vendors.toml) names the class.
    2. The vendor's model-name patterns (``classes``) match the model the device reports
       (a Juniper ``qfx5100-48s-6q`` is a switch, an ``mx960`` a router).
    3. The vendor makes one kind of device (``class`` of the vendor). Host-agent vendors
       (Net-SNMP, Microsoft) are decided here: an OS agent's host stays a Host whatever
       its bridges and forwarding say.
    4. LLDP local system capabilities enabled (lldpLocSysCapEnabled): bridge is a Switch
       (a layer-3 switch enables bridge and router), router alone a Router, station alone
       a Host.
    5. Network evidence: a known network vendor, an ENTITY-MIB chassis, or sysServices
       with layer 2 or 3. Refined by sysServices layer 2 (Switch), then ipForwarding
       (Router), else NetworkDevice. HOST-RESOURCES-MIB does not outweigh any of these.
    6. HOST-RESOURCES-MIB with none of the above: a Host (LinuxHost when the OS is Linux).
    7. Otherwise: forwarding makes a Router, else a NetworkDevice.
    """
    for declared in (evidence.object_class, evidence.model_class, evidence.vendor_class):
        if declared:
            return _host_kind(evidence) if declared == DeviceClass.HOST else DeviceClass(declared)
    lldp = _lldp_class(evidence.lldp_capabilities)
    if lldp is not None:
        return _host_kind(evidence) if lldp == DeviceClass.HOST else lldp
    services = evidence.sys_services or 0
    network = (
        evidence.network_vendor or evidence.chassis_entity or bool(services & (SERVICES_LAYER_2 | SERVICES_LAYER_3))
    )
    if network:
        if services & SERVICES_LAYER_2:
            return DeviceClass.SWITCH
        return DeviceClass.ROUTER if evidence.ip_forwarding else DeviceClass.NETWORK_DEVICE
    if evidence.host_resources:
        return _host_kind(evidence)
    return DeviceClass.ROUTER if evidence.ip_forwarding else DeviceClass.NETWORK_DEVICE


def _host_kind(evidence: Evidence) -> DeviceClass:
    return DeviceClass.LINUX_HOST if evidence.os_name == "Linux" else DeviceClass.HOST


def _lldp_class(capabilities: bytes | None) -> DeviceClass | None:
    if not capabilities:
        return None
    first = capabilities[0]
    if first & LLDP_CAP_BRIDGE:
        return DeviceClass.SWITCH
    if first & LLDP_CAP_ROUTER:
        return DeviceClass.ROUTER
    if first & LLDP_CAP_STATION:
        return DeviceClass.HOST
    return None
