"""Discovery collectors: SSH and SNMP scanners that report hosts and network gear."""
