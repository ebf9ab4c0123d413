"""Network devices and SNMP-managed hosts over SNMP v2c/v3 (pysnmp, asyncio)."""
