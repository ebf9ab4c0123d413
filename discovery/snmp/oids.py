"""OIDs the scanner reads, named after their MIB objects (dotted, without a leading dot)."""

from __future__ import annotations

# SNMPv2-MIB system group
SYS_DESCR = "1.3.6.1.2.1.1.1.0"
SYS_OBJECT_ID = "1.3.6.1.2.1.1.2.0"
SYS_UPTIME = "1.3.6.1.2.1.1.3.0"
SYS_CONTACT = "1.3.6.1.2.1.1.4.0"
SYS_NAME = "1.3.6.1.2.1.1.5.0"
SYS_LOCATION = "1.3.6.1.2.1.1.6.0"
SYS_SERVICES = "1.3.6.1.2.1.1.7.0"
SYSTEM = "1.3.6.1.2.1.1"

# IF-MIB
IF_TABLE = "1.3.6.1.2.1.2.2.1"
IF_DESCR = "1.3.6.1.2.1.2.2.1.2"
IF_TYPE = "1.3.6.1.2.1.2.2.1.3"
IF_MTU = "1.3.6.1.2.1.2.2.1.4"
IF_SPEED = "1.3.6.1.2.1.2.2.1.5"
IF_PHYS_ADDRESS = "1.3.6.1.2.1.2.2.1.6"
IF_ADMIN_STATUS = "1.3.6.1.2.1.2.2.1.7"
IF_OPER_STATUS = "1.3.6.1.2.1.2.2.1.8"
IF_LAST_CHANGE = "1.3.6.1.2.1.2.2.1.9"  # TimeTicks: sysUpTime when the interface entered its oper state
IF_X_TABLE = "1.3.6.1.2.1.31.1.1.1"
IF_NAME = "1.3.6.1.2.1.31.1.1.1.1"
IF_HIGH_SPEED = "1.3.6.1.2.1.31.1.1.1.15"
IF_ALIAS = "1.3.6.1.2.1.31.1.1.1.18"

# IP-MIB
IP_FORWARDING = "1.3.6.1.2.1.4.1.0"
IP_ADDR_TABLE = "1.3.6.1.2.1.4.20.1"
IP_AD_ENT_IF_INDEX = "1.3.6.1.2.1.4.20.1.2"
IP_AD_ENT_NET_MASK = "1.3.6.1.2.1.4.20.1.3"
IP_ADDRESS_TABLE = "1.3.6.1.2.1.4.34.1"
IP_ADDRESS_IF_INDEX = "1.3.6.1.2.1.4.34.1.3"
IP_ADDRESS_TYPE = "1.3.6.1.2.1.4.34.1.4"
IP_ADDRESS_TYPE_BROADCAST = 3  # unicast(1), anycast(2), broadcast(3): the subnet's broadcast, no one's address
IP_ADDRESS_PREFIX = "1.3.6.1.2.1.4.34.1.5"

# ENTITY-MIB entPhysicalTable
ENT_PHYSICAL_TABLE = "1.3.6.1.2.1.47.1.1.1.1"
ENT_PHYSICAL_DESCR = "1.3.6.1.2.1.47.1.1.1.1.2"
ENT_PHYSICAL_CONTAINED_IN = "1.3.6.1.2.1.47.1.1.1.1.4"
ENT_PHYSICAL_CLASS = "1.3.6.1.2.1.47.1.1.1.1.5"
ENT_PHYSICAL_NAME = "1.3.6.1.2.1.47.1.1.1.1.7"
ENT_PHYSICAL_HARDWARE_REV = "1.3.6.1.2.1.47.1.1.1.1.8"
ENT_PHYSICAL_FIRMWARE_REV = "1.3.6.1.2.1.47.1.1.1.1.9"
ENT_PHYSICAL_SOFTWARE_REV = "1.3.6.1.2.1.47.1.1.1.1.10"
ENT_PHYSICAL_SERIAL_NUM = "1.3.6.1.2.1.47.1.1.1.1.11"
ENT_PHYSICAL_MFG_NAME = "1.3.6.1.2.1.47.1.1.1.1.12"
ENT_PHYSICAL_MODEL_NAME = "1.3.6.1.2.1.47.1.1.1.1.13"
ENT_CLASS_CHASSIS = 3

# LLDP-MIB (under 1.0.8802, outside 1.3.6.1)
LLDP_LOC_CHASSIS_ID_SUBTYPE = "1.0.8802.1.1.2.1.3.1.0"
LLDP_LOC_CHASSIS_ID = "1.0.8802.1.1.2.1.3.2.0"
LLDP_LOC_SYS_NAME = "1.0.8802.1.1.2.1.3.3.0"
LLDP_LOC_SYS_CAP_ENABLED = "1.0.8802.1.1.2.1.3.6.0"  # what the device says it is: bridge, router, station...
LLDP_LOCAL_SYSTEM = "1.0.8802.1.1.2.1.3"
LLDP_LOC_PORT_ID_SUBTYPE = "1.0.8802.1.1.2.1.3.7.1.2"
LLDP_LOC_PORT_ID = "1.0.8802.1.1.2.1.3.7.1.3"
LLDP_LOC_PORT_DESC = "1.0.8802.1.1.2.1.3.7.1.4"
LLDP_REM_TABLE = "1.0.8802.1.1.2.1.4.1.1"
LLDP_REM_CHASSIS_ID_SUBTYPE = "1.0.8802.1.1.2.1.4.1.1.4"
LLDP_REM_CHASSIS_ID = "1.0.8802.1.1.2.1.4.1.1.5"
LLDP_REM_PORT_ID_SUBTYPE = "1.0.8802.1.1.2.1.4.1.1.6"
LLDP_REM_PORT_ID = "1.0.8802.1.1.2.1.4.1.1.7"
LLDP_REM_PORT_DESC = "1.0.8802.1.1.2.1.4.1.1.8"
LLDP_REM_SYS_NAME = "1.0.8802.1.1.2.1.4.1.1.9"
LLDP_REM_SYS_DESC = "1.0.8802.1.1.2.1.4.1.1.10"
LLDP_REM_SYS_CAP_ENABLED = "1.0.8802.1.1.2.1.4.1.1.12"
LLDP_CAP_BITS = (
    "other",
    "repeater",
    "bridge",
    "wlanAccessPoint",
    "router",
    "telephone",
    "docsisCableDevice",
    "station",
    "cVlan",
    "sVlan",
    "twoPortMacRelay",
)
"""LldpSystemCapabilitiesMap: bit 0 is the first octet's most significant bit."""
LLDP_CAP_BRIDGE, LLDP_CAP_ROUTER, LLDP_CAP_STATION = 0x20, 0x08, 0x01  # first octet of the BITS
LLDP_REM_MAN_ADDR_TABLE = "1.0.8802.1.1.2.1.4.2.1"

# CISCO-CDP-MIB cdpCacheTable
CDP_CACHE_TABLE = "1.3.6.1.4.1.9.9.23.1.2.1.1"
CDP_CACHE_ADDRESS_TYPE = "1.3.6.1.4.1.9.9.23.1.2.1.1.3"
CDP_CACHE_ADDRESS = "1.3.6.1.4.1.9.9.23.1.2.1.1.4"
CDP_CACHE_VERSION = "1.3.6.1.4.1.9.9.23.1.2.1.1.5"
CDP_CACHE_DEVICE_ID = "1.3.6.1.4.1.9.9.23.1.2.1.1.6"
CDP_CACHE_DEVICE_PORT = "1.3.6.1.4.1.9.9.23.1.2.1.1.7"
CDP_CACHE_PLATFORM = "1.3.6.1.4.1.9.9.23.1.2.1.1.8"
CDP_CACHE_CAPABILITIES = "1.3.6.1.4.1.9.9.23.1.2.1.1.9"
CDP_CAP_BITS = {
    0x01: "router",
    0x02: "bridge",  # transparent bridge
    0x04: "bridge",  # source-route bridge
    0x08: "bridge",  # switch
    0x10: "station",  # host
    0x40: "repeater",
    0x80: "telephone",
}
"""cdpCacheCapabilities (a 32-bit mask, CDP's own bits), in LLDP's capability names."""

# BRIDGE-MIB and Q-BRIDGE-MIB: which MAC the forwarding table learnt on which bridge port
DOT1D_BASE_PORT_IF_INDEX = "1.3.6.1.2.1.17.1.4.1.2"  # dot1dBasePort -> ifIndex
DOT1D_TP_FDB_PORT = "1.3.6.1.2.1.17.4.3.1.2"  # .<mac as 6 arcs> -> dot1dBasePort
DOT1D_TP_FDB_STATUS = "1.3.6.1.2.1.17.4.3.1.3"
DOT1Q_TP_FDB_PORT = "1.3.6.1.2.1.17.7.1.2.2.1.2"  # .<fdb id>.<mac as 6 arcs> -> dot1dBasePort
DOT1Q_TP_FDB_STATUS = "1.3.6.1.2.1.17.7.1.2.2.1.3"
FDB_STATUS_LEARNED = 3  # other(1), invalid(2), learned(3), self(4), mgmt(5)

# IP-MIB neighbour tables (ARP and IPv6 ND): which MAC has which address
IP_NET_TO_PHYSICAL_PHYS_ADDRESS = "1.3.6.1.2.1.4.35.1.4"  # .<ifIndex>.<addrType>.<len>.<addr>
IP_NET_TO_PHYSICAL_STATE = "1.3.6.1.2.1.4.35.1.7"
IP_NET_TO_MEDIA_PHYS_ADDRESS = "1.3.6.1.2.1.4.22.1.2"  # .<ifIndex>.<a.b.c.d> (IPv4 only, deprecated)

# IEEE8023-LAG-MIB: the aggregator (its ifIndex) a port is attached to; 0 when none
DOT3AD_AGG_PORT_ATTACHED_AGG_ID = "1.2.840.10006.300.43.1.2.1.1.13"
# IF-MIB ifStackTable: ifStackStatus.<higher ifIndex>.<lower ifIndex> (a port-channel over its ports)
IF_STACK_STATUS = "1.3.6.1.2.1.31.1.2.1.3"

# Q-BRIDGE-MIB VLANs. Ports in these tables are bridge port numbers
# (dot1dBasePort), which dot1dBasePortIfIndex maps to interfaces. A PortList is a bitmap: the
# first octet's most significant bit is bridge port 1.
DOT1Q_PVID = "1.3.6.1.2.1.17.7.1.4.5.1.1"  # .<port>: the VLAN of untagged frames (native/access)
DOT1Q_VLAN_CURRENT_EGRESS_PORTS = "1.3.6.1.2.1.17.7.1.4.2.1.4"  # .<timeMark>.<vlan>: PortList
DOT1Q_VLAN_STATIC_EGRESS_PORTS = "1.3.6.1.2.1.17.7.1.4.3.1.2"  # .<vlan>: PortList, as configured
VLAN_WALKS: tuple[str, ...] = (  # dot1dBasePortIfIndex is walked for the forwarding tables too
    DOT1Q_PVID,
    DOT1Q_VLAN_CURRENT_EGRESS_PORTS,
    DOT1Q_VLAN_STATIC_EGRESS_PORTS,
)

# HOST-RESOURCES-MIB
HR_SYSTEM_UPTIME = "1.3.6.1.2.1.25.1.1.0"
HR_MEMORY_SIZE = "1.3.6.1.2.1.25.2.2.0"
HR_SYSTEM = "1.3.6.1.2.1.25.1"

ENTERPRISES = "1.3.6.1.4.1"

# The subtrees a device's inventory comes from (what `snmpbulkwalk` reads in the benchmarks).
SUBTREES: tuple[str, ...] = (
    IF_TABLE,
    IF_X_TABLE,
    IP_ADDR_TABLE,
    IP_ADDRESS_TABLE,
    ENT_PHYSICAL_TABLE,
    LLDP_LOCAL_SYSTEM,
    LLDP_REM_TABLE,
    LLDP_REM_MAN_ADDR_TABLE,
    CDP_CACHE_TABLE,
    DOT3AD_AGG_PORT_ATTACHED_AGG_ID,
    IF_STACK_STATUS,
    DOT1D_BASE_PORT_IF_INDEX,
    DOT1D_TP_FDB_PORT,
    DOT1Q_TP_FDB_PORT,
    IP_NET_TO_PHYSICAL_PHYS_ADDRESS,
    IP_NET_TO_MEDIA_PHYS_ADDRESS,
    *VLAN_WALKS,
)
# The large tables are read column by column, only the columns the parsers use (a quarter of
# ifTable, a sixth of ifXTable, half of entPhysicalTable), each table's columns side by side
# in one GETBULK: decoding is most of a scan's CPU, and it is paid per value.
COLUMN_WALKS: tuple[tuple[str, ...], ...] = (
    (IF_DESCR, IF_TYPE, IF_MTU, IF_SPEED, IF_PHYS_ADDRESS, IF_ADMIN_STATUS, IF_OPER_STATUS, IF_LAST_CHANGE),
    (IF_NAME, IF_HIGH_SPEED, IF_ALIAS),
    (
        ENT_PHYSICAL_DESCR,
        ENT_PHYSICAL_CONTAINED_IN,
        ENT_PHYSICAL_CLASS,
        ENT_PHYSICAL_FIRMWARE_REV,
        ENT_PHYSICAL_SOFTWARE_REV,
        ENT_PHYSICAL_SERIAL_NUM,
        ENT_PHYSICAL_MFG_NAME,
        ENT_PHYSICAL_MODEL_NAME,
    ),
    # Hosts on switch ports (discovery/snmp/topology.py): the port of each learnt MAC, and the
    # addresses of MACs; the status columns beside them (only learnt rows count).
    (DOT1D_TP_FDB_PORT, DOT1D_TP_FDB_STATUS),
    (DOT1Q_TP_FDB_PORT, DOT1Q_TP_FDB_STATUS),
    (IP_NET_TO_PHYSICAL_PHYS_ADDRESS, IP_NET_TO_PHYSICAL_STATE),
)
# The small tables, walked whole; each walk stops at its own end.
WALKS: tuple[str, ...] = (
    IP_ADDR_TABLE,
    IP_ADDRESS_TABLE,
    LLDP_LOCAL_SYSTEM,
    LLDP_REM_TABLE,
    LLDP_REM_MAN_ADDR_TABLE,
    CDP_CACHE_TABLE,
    DOT3AD_AGG_PORT_ATTACHED_AGG_ID,
    IF_STACK_STATUS,
    DOT1D_BASE_PORT_IF_INDEX,
    IP_NET_TO_MEDIA_PHYS_ADDRESS,
    *VLAN_WALKS,
)
SCALARS: tuple[str, ...] = (
    SYS_DESCR,
    SYS_OBJECT_ID,
    SYS_UPTIME,
    SYS_CONTACT,
    SYS_NAME,
    SYS_LOCATION,
    SYS_SERVICES,
    IP_FORWARDING,
    HR_SYSTEM_UPTIME,
    HR_MEMORY_SIZE,
)
