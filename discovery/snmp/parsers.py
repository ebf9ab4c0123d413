"""From SNMP walk values to device facts: pure functions, tested on recordings of real gear.

Every table column is optional (agents leave columns out); a row's index comes from the
OID suffix, never from an index column (see shared/design/snmp-notes.md).
"""

from __future__ import annotations

import ipaddress
import re
from typing import Any

from discovery.snmp import oids
from discovery.snmp.values import Walk, WalkValue, column, integer, mac, text
from schema.enums import AdminStatus, OperStatus

IF_TYPES = {  # IANAifType-MIB: the types real devices answer with
    1: "other",
    2: "regular1822",
    6: "ethernetCsmacd",
    7: "iso88023Csmacd",
    9: "iso88025TokenRing",
    15: "fddi",
    18: "ds1",
    19: "e1",
    20: "basicISDN",
    21: "primaryISDN",
    22: "propPointToPointSerial",
    23: "ppp",
    24: "softwareLoopback",
    28: "slip",
    30: "ds3",
    32: "frameRelay",
    33: "rs232",
    37: "atm",
    39: "sonet",
    49: "aal5",
    53: "propVirtual",
    54: "propMultiplexor",
    56: "fibreChannel",
    62: "fastEther",
    63: "isdn",
    69: "fastEtherFX",
    71: "ieee80211",
    77: "lapd",
    81: "ds0",
    94: "adsl",
    97: "vdsl",
    108: "pppMultilinkBundle",
    117: "gigabitEthernet",
    131: "tunnel",
    134: "atmSubInterface",
    135: "l2vlan",
    136: "l3ipvlan",
    142: "ipForward",
    144: "ieee1394",
    150: "mplsTunnel",
    161: "ieee8023adLag",
    166: "mpls",
    171: "pos",
    188: "radioMAC",
    209: "bridge",
}
VIRTUAL_IF_TYPES = frozenset(
    {"softwareLoopback", "propVirtual", "tunnel", "l2vlan", "l3ipvlan", "mplsTunnel", "bridge"}
)
"""Interface types that are no hardware port: their MAC (if any) identifies no device."""
ADMIN_STATUS = {1: AdminStatus.UP, 2: AdminStatus.DOWN, 3: AdminStatus.TESTING}
OPER_STATUS = {
    1: OperStatus.UP,
    2: OperStatus.DOWN,
    3: OperStatus.TESTING,
    4: OperStatus.UNKNOWN,
    5: OperStatus.DORMANT,
    6: OperStatus.NOT_PRESENT,
    7: OperStatus.LOWER_LAYER_DOWN,
}
"""ifOperStatus as RFC 2863 names it; a number outside it (or none) is ``unknown``."""
TICKS_PER_SECOND = 100  # TimeTicks: hundredths of a second
IF_SPEED_SATURATED = 4_294_967_295


def parse_system(walk: Walk) -> dict[str, Any]:
    object_id = walk.get(oids.SYS_OBJECT_ID)
    return {
        "sys_descr": text(walk.get(oids.SYS_DESCR)),
        "sys_object_id": str(object_id) if object_id is not None else None,
        "sys_name": text(walk.get(oids.SYS_NAME)),
        "location": text(walk.get(oids.SYS_LOCATION)),
        "contact": text(walk.get(oids.SYS_CONTACT)),
        "sys_services": integer(walk.get(oids.SYS_SERVICES)),
        "ip_forwarding": integer(walk.get(oids.IP_FORWARDING)) == 1,
        "host_resources": oids.HR_SYSTEM_UPTIME in walk,
        "memory_bytes": (integer(walk.get(oids.HR_MEMORY_SIZE)) or 0) * 1024 or None,
    }


def enterprise_number(sys_object_id: str | None) -> int | None:
    """The private enterprise number in a sysObjectID (the arc after 1.3.6.1.4.1)."""
    if not sys_object_id or not sys_object_id.startswith(oids.ENTERPRISES + "."):
        return None
    return int(sys_object_id[len(oids.ENTERPRISES) + 1 :].split(".", 1)[0])


def _speed_mbps(speed: WalkValue | None, high_speed: WalkValue | None) -> int | None:
    if isinstance(high_speed, int) and high_speed > 0:
        return high_speed
    if isinstance(speed, int) and 0 < speed < IF_SPEED_SATURATED:
        return speed // 1_000_000 or None
    return None


def _seconds_since(uptime: int | None, last_change: int | None) -> int | None:
    """How long before the scan an interface changed state: sysUpTime - ifLastChange, in whole
    seconds. None when the change came before the SNMP agent started (ifLastChange 0, RFC 2863)
    or cannot be placed (no sysUpTime, or a value past it: sysUpTime wraps after 497 days)."""
    if not uptime or not last_change or last_change > uptime:
        return None
    return (uptime - last_change) // TICKS_PER_SECOND


def parse_interfaces(walk: Walk) -> dict[int, dict[str, Any]]:
    """Interfaces by ifIndex (taken from the OID suffix) from ifTable and ifXTable."""
    columns = {
        name: column(walk, oid)
        for name, oid in {
            "descr": oids.IF_DESCR,
            "type": oids.IF_TYPE,
            "mtu": oids.IF_MTU,
            "speed": oids.IF_SPEED,
            "mac": oids.IF_PHYS_ADDRESS,
            "admin": oids.IF_ADMIN_STATUS,
            "oper": oids.IF_OPER_STATUS,
            "last_change": oids.IF_LAST_CHANGE,
            "name": oids.IF_NAME,
            "high_speed": oids.IF_HIGH_SPEED,
            "alias": oids.IF_ALIAS,
        }.items()
    }
    indexes = sorted({int(i) for col in columns.values() for i in col if i.isdigit()})
    uptime = integer(walk.get(oids.SYS_UPTIME))
    interfaces: dict[int, dict[str, Any]] = {}
    for index in indexes:
        key = str(index)
        name = text(columns["name"].get(key)) or text(columns["descr"].get(key)) or f"ifIndex {index}"
        if_type = integer(columns["type"].get(key))
        interfaces[index] = {
            "if_index": index,
            "name": name,
            "descr": text(columns["descr"].get(key)),
            "alias": text(columns["alias"].get(key)),
            "mac": mac(columns["mac"].get(key)),
            "mtu": integer(columns["mtu"].get(key)),
            "speed_mbps": _speed_mbps(columns["speed"].get(key), columns["high_speed"].get(key)),
            "admin_status": ADMIN_STATUS.get(integer(columns["admin"].get(key)) or 0),
            "oper_status": OPER_STATUS.get(integer(columns["oper"].get(key)) or 0, OperStatus.UNKNOWN),
            "last_change_s_ago": _seconds_since(uptime, integer(columns["last_change"].get(key))),
            "if_type": IF_TYPES.get(if_type, str(if_type)) if if_type is not None else None,
            "addresses": [],
        }
    return interfaces


LAG_IF_TYPE = "ieee8023adLag"
IF_STACK_ACTIVE = 1


def parse_aggregates(walk: Walk, interfaces: dict[int, dict[str, Any]]) -> dict[int, int]:
    """Port ifIndex -> the ifIndex of the link aggregate (LAG, port-channel) it belongs to.

    IEEE8023-LAG-MIB says it of each port (dot3adAggPortAttachedAggID; Cisco NX-OS, H3C);
    other devices only stack the aggregate over its ports in IF-MIB's ifStackTable (Arista,
    Juniper): there a stacked port counts when the upper interface is of the LAG type (the
    table also stacks VLANs and units over ports, which are no aggregation)."""
    members: dict[int, int] = {}
    for key, value in column(walk, oids.DOT3AD_AGG_PORT_ATTACHED_AGG_ID).items():
        port, aggregate = integer_key(key), integer(value)
        if port in interfaces and aggregate and aggregate != port and aggregate in interfaces:
            members[port] = aggregate
    for key, value in column(walk, oids.IF_STACK_STATUS).items():
        higher, _, lower = key.partition(".")
        upper, port = integer_key(higher), integer_key(lower)
        if (
            integer(value) == IF_STACK_ACTIVE
            and upper in interfaces
            and port in interfaces
            and port != upper
            and interfaces[upper]["if_type"] == LAG_IF_TYPE
        ):
            members.setdefault(port, upper)
    return dict(sorted(members.items()))


def integer_key(text: str) -> int | None:
    return int(text) if text.isdigit() else None


def parse_ip_addresses(walk: Walk) -> list[dict[str, Any]]:
    """Addresses with their interface and prefix, from ipAddrTable and ipAddressTable, merged;
    ipAddressTable's broadcast rows are left out (anycast addresses are kept)."""
    found: dict[str, dict[str, Any]] = {}
    masks = column(walk, oids.IP_AD_ENT_NET_MASK)
    for suffix, if_index in column(walk, oids.IP_AD_ENT_IF_INDEX).items():
        try:
            address = str(ipaddress.ip_address(suffix))
            mask = masks.get(suffix)
            prefix = ipaddress.ip_network(f"0.0.0.0/{mask}").prefixlen if isinstance(mask, str) else 32
        except ValueError:
            continue
        if isinstance(if_index, int):
            found[address] = {"address": address, "prefix_length": prefix, "if_index": if_index, "version": 4}
    prefixes = column(walk, oids.IP_ADDRESS_PREFIX)
    types = column(walk, oids.IP_ADDRESS_TYPE)
    for suffix, if_index in column(walk, oids.IP_ADDRESS_IF_INDEX).items():
        arcs = [int(a) for a in suffix.split(".")]
        if len(arcs) < 2 or arcs[0] not in (1, 2) or arcs[1] != len(arcs) - 2:
            continue  # ipv4z/ipv6z (with a zone) and malformed rows are left out
        if types.get(suffix) == oids.IP_ADDRESS_TYPE_BROADCAST:
            continue  # a subnet's broadcast address (Net-SNMP lists one per IPv4 subnet) is no CI
        try:
            address = str(ipaddress.ip_address(bytes(arcs[2:])))
        except ValueError:
            continue
        pointer = prefixes.get(suffix)
        default = 32 if arcs[0] == 1 else 128
        prefix = int(pointer.rsplit(".", 1)[1]) if isinstance(pointer, str) and "." in pointer else default
        if isinstance(if_index, int) and address not in found:
            found[address] = {
                "address": address,
                "prefix_length": prefix,
                "if_index": if_index,
                "version": 4 if arcs[0] == 1 else 6,
            }
    return sorted(found.values(), key=lambda a: (a["version"], ipaddress.ip_address(a["address"])))


def parse_chassis(walk: Walk) -> dict[str, Any]:
    """Model, serial and software of the chassis in entPhysicalTable (class 3, in no container).

    The model is entPhysicalModelName, else entPhysicalDescr where it reads as a model name:
    some agents describe the chassis by the device's host name, which is no model."""
    classes = column(walk, oids.ENT_PHYSICAL_CLASS)
    contained = column(walk, oids.ENT_PHYSICAL_CONTAINED_IN)
    chassis = [i for i, c in classes.items() if c == oids.ENT_CLASS_CHASSIS and contained.get(i, 0) == 0]
    if not chassis:
        chassis = [i for i, c in classes.items() if c == oids.ENT_CLASS_CHASSIS]
    if not chassis:
        return {}
    index = sorted(chassis, key=lambda i: int(i.split(".")[0]))[0]

    def field(oid: str) -> str | None:
        return text(column(walk, oid).get(index))

    descr = field(oids.ENT_PHYSICAL_DESCR)
    sys_name = text(walk.get(oids.SYS_NAME))
    names = {sys_name.lower()} if sys_name else set()
    return {
        "model": field(oids.ENT_PHYSICAL_MODEL_NAME) or (descr if looks_like_model(descr, names) else None),
        "serial": field(oids.ENT_PHYSICAL_SERIAL_NUM),
        "os_version": field(oids.ENT_PHYSICAL_SOFTWARE_REV),
        "firmware": field(oids.ENT_PHYSICAL_FIRMWARE_REV),
        "manufacturer": field(oids.ENT_PHYSICAL_MFG_NAME),
        "descr": descr,
    }


MODEL_MAX_WORDS = 4


def looks_like_model(value: str | None, host_names: set[str]) -> bool:
    """Whether a free-text description reads as a model name ("WS-C3560G-48TS", "HUAWEI S5720
    Routing Switch"): a few words with a digit, not the device's own name (sysName) nor a
    domain name, not a sentence ("RouterOS 7.1.1 (stable) on RB760iGS")."""
    if not value or not any(c.isdigit() for c in value):
        return False
    lowered = value.lower()
    short_names = {n.split(".", 1)[0] for n in host_names}
    if lowered in host_names or lowered in short_names or lowered.split(".", 1)[0] in short_names:
        return False
    words = value.split()
    if len(words) > MODEL_MAX_WORDS or any(c in value for c in ",:;()#"):
        return False
    return not (len(words) == 1 and re.fullmatch(r"[a-z0-9-]+(\.[a-z0-9-]+)+", value))  # a domain name


CHASSIS_ID_SUBTYPES = {
    1: "chassisComponent",
    2: "interfaceAlias",
    3: "portComponent",
    4: "macAddress",
    5: "networkAddress",
    6: "interfaceName",
    7: "local",
}
PORT_ID_SUBTYPES = {
    1: "interfaceAlias",
    2: "portComponent",
    3: "macAddress",
    4: "networkAddress",
    5: "interfaceName",
    6: "agentCircuitId",
    7: "local",
}


def lldp_capabilities(value: WalkValue | None) -> list[str]:
    """LLDP system capabilities (a BITS value: bit 0 is the first octet's top bit) by name."""
    if not isinstance(value, bytes):
        return []
    return [
        name
        for bit, name in enumerate(oids.LLDP_CAP_BITS)
        if bit // 8 < len(value) and value[bit // 8] & (0x80 >> (bit % 8))
    ]


def cdp_capabilities(value: WalkValue | None) -> list[str]:
    """cdpCacheCapabilities (four octets, a 32-bit mask) in LLDP's capability names."""
    if not isinstance(value, bytes) or not value:
        return []
    mask = int.from_bytes(value[-4:], "big")
    return sorted({name for bit, name in oids.CDP_CAP_BITS.items() if mask & bit})


def _lldp_id(subtype: WalkValue | None, value: WalkValue | None, kind: str) -> str | None:
    """Decode an LLDP chassis or port id by its subtype (802.1AB)."""
    mac_subtype = 4 if kind == "chassis" else 3
    address_subtype = 5 if kind == "chassis" else 4
    if subtype == mac_subtype:
        return mac(value) or text(value)
    if subtype == address_subtype and isinstance(value, bytes) and len(value) in (5, 17) and value[0] in (1, 2):
        return str(ipaddress.ip_address(value[1:]))
    return text(value)


def parse_lldp(walk: Walk) -> dict[str, Any]:
    """Local chassis id, local ports and remote neighbours (by local port number) from LLDP-MIB."""
    local_chassis = _lldp_id(walk.get(oids.LLDP_LOC_CHASSIS_ID_SUBTYPE), walk.get(oids.LLDP_LOC_CHASSIS_ID), "chassis")
    port_subtypes = column(walk, oids.LLDP_LOC_PORT_ID_SUBTYPE)
    local_ports = {
        int(num): {
            "id": _lldp_id(port_subtypes.get(num), value, "port"),
            "desc": text(column(walk, oids.LLDP_LOC_PORT_DESC).get(num)),
        }
        for num, value in column(walk, oids.LLDP_LOC_PORT_ID).items()
        if num.isdigit()
    }
    cols = {
        name: column(walk, oid)
        for name, oid in {
            "chassis_subtype": oids.LLDP_REM_CHASSIS_ID_SUBTYPE,
            "chassis": oids.LLDP_REM_CHASSIS_ID,
            "port_subtype": oids.LLDP_REM_PORT_ID_SUBTYPE,
            "port": oids.LLDP_REM_PORT_ID,
            "port_desc": oids.LLDP_REM_PORT_DESC,
            "sys_name": oids.LLDP_REM_SYS_NAME,
            "sys_desc": oids.LLDP_REM_SYS_DESC,
            "caps": oids.LLDP_REM_SYS_CAP_ENABLED,
        }.items()
    }
    management: dict[str, str] = {}
    for suffix in column(walk, oids.LLDP_REM_MAN_ADDR_TABLE + ".3"):  # lldpRemManAddrIfSubtype
        arcs = [int(a) for a in suffix.split(".")]
        # timeMark.localPort.remIndex.addrSubtype.addrLen.addr...
        if len(arcs) >= 6 and arcs[3] in (1, 2) and arcs[4] == len(arcs) - 5:
            key = ".".join(str(a) for a in arcs[:3])
            management.setdefault(key, str(ipaddress.ip_address(bytes(arcs[5:]))))
    neighbours = []
    for key in sorted(cols["chassis"], key=lambda k: [int(a) for a in k.split(".")]):
        index = key.split(".")
        if len(index) != 3:
            continue
        chassis_subtype, port_subtype = cols["chassis_subtype"].get(key), cols["port_subtype"].get(key)
        neighbours.append(
            {
                "local_port_num": int(index[1]),
                "chassis_id": _lldp_id(chassis_subtype, cols["chassis"].get(key), "chassis"),
                "chassis_id_subtype": CHASSIS_ID_SUBTYPES.get(integer(chassis_subtype) or 0),
                "port_id": _lldp_id(port_subtype, cols["port"].get(key), "port"),
                "port_id_subtype": PORT_ID_SUBTYPES.get(integer(port_subtype) or 0),
                "port_desc": text(cols["port_desc"].get(key)),
                "sys_name": text(cols["sys_name"].get(key)),
                "sys_descr": text(cols["sys_desc"].get(key)),
                "management_ip": management.get(key),
                "capabilities": lldp_capabilities(cols["caps"].get(key)),
                "station_only": _station_only(cols["caps"].get(key)),
            }
        )
    return {"local_chassis_id": local_chassis, "local_ports": local_ports, "neighbours": neighbours}


def _station_only(capabilities: WalkValue | None) -> bool:
    """Whether a neighbour says it is an end station (a host), neither bridge nor router."""
    if not isinstance(capabilities, bytes) or not capabilities:
        return False
    first = capabilities[0]
    return bool(first & oids.LLDP_CAP_STATION) and not first & (oids.LLDP_CAP_BRIDGE | oids.LLDP_CAP_ROUTER)


def _cdp_device_name(device_id: str | None) -> str | None:
    """CDP device ids often carry the serial in parentheses: ``sw1.example.com(FOC123)``."""
    if device_id is None:
        return None
    return device_id.split("(", 1)[0].strip() or device_id


def _cdp_text_or_mac(value: WalkValue | None) -> str | None:
    """A CDP device or port id; six octets that are no text are a MAC (servers' adapters send
    their MAC, as the ProCurve recording shows), never Latin-1 garbage."""
    if isinstance(value, bytes) and len(value) == 6 and not all(32 <= b < 127 for b in value):
        return mac(value)
    return text(value)


def parse_cdp(walk: Walk) -> list[dict[str, Any]]:
    """cdpCacheTable rows (index ifIndex.deviceIndex): who is on which local interface."""
    devices = column(walk, oids.CDP_CACHE_DEVICE_ID)
    ports = column(walk, oids.CDP_CACHE_DEVICE_PORT)
    platforms = column(walk, oids.CDP_CACHE_PLATFORM)
    versions = column(walk, oids.CDP_CACHE_VERSION)
    addresses = column(walk, oids.CDP_CACHE_ADDRESS)
    address_types = column(walk, oids.CDP_CACHE_ADDRESS_TYPE)
    capabilities = column(walk, oids.CDP_CACHE_CAPABILITIES)
    neighbours = []
    for key in sorted(devices, key=lambda k: [int(a) for a in k.split(".")]):
        arcs = key.split(".")
        if len(arcs) != 2:
            continue
        address = addresses.get(key)
        management = None
        if address_types.get(key) == 1 and isinstance(address, bytes) and len(address) == 4:
            management = str(ipaddress.ip_address(address))
        device_id = _cdp_text_or_mac(devices.get(key))
        neighbours.append(
            {
                "local_if_index": int(arcs[0]),
                "device_id": device_id,
                "sys_name": _cdp_device_name(device_id),
                "port_id": _cdp_text_or_mac(ports.get(key)),
                "platform": text(platforms.get(key)),
                "sys_descr": text(versions.get(key)),
                "management_ip": management,
                "capabilities": cdp_capabilities(capabilities.get(key)),
            }
        )
    return neighbours
