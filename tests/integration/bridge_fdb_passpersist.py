"""snmpd ``pass_persist`` script: BRIDGE-MIB of the Linux bridges of this network namespace.

Serves dot1dBasePortIfIndex (bridge port -> ifIndex, from /sys/class/net/*/brport) and
dot1dTpFdbTable's port and status columns (from ``bridge -j fdb show``): learnt entries are
``learned(3)``, the bridge's own (permanent) ones ``self(4)``. Run by the snmpd of
tests/integration/bridge_lab.py inside the switch's namespace; stdlib only.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

BRIDGE = "1.3.6.1.2.1.17"
BASE_PORT_IF_INDEX = BRIDGE + ".1.4.1.2"
FDB_PORT = BRIDGE + ".4.3.1.2"
FDB_STATUS = BRIDGE + ".4.3.1.3"


def _table() -> list[tuple[tuple[int, ...], int]]:
    ports: dict[str, tuple[int, int]] = {}  # name -> (bridge port, ifIndex)
    for brport in Path("/sys/class/net").glob("*/brport/port_no"):
        name = brport.parent.parent.name
        if_index = int((brport.parent.parent / "ifindex").read_text())
        ports[name] = (int(brport.read_text(), 16), if_index)
    rows: dict[tuple[int, ...], int] = {}
    for number, if_index in ports.values():
        rows[(*tuple(int(a) for a in BASE_PORT_IF_INDEX.split(".")), number)] = if_index
    fdb = json.loads(subprocess.run(["bridge", "-j", "fdb", "show"], capture_output=True, text=True).stdout or "[]")
    for entry in fdb:
        port = ports.get(entry.get("ifname", ""))
        if port is None or (entry.get("vlan") is not None and "master" not in entry):
            continue
        if "self" in entry.get("flags", []) and entry.get("master") is None:
            continue  # the port device's own multicast list, no bridge entry
        mac = tuple(int(b, 16) for b in entry["mac"].split(":"))
        if mac[0] & 1:
            continue  # multicast
        status = 4 if entry.get("state") == "permanent" else 3
        rows[tuple(int(a) for a in FDB_PORT.split(".")) + mac] = port[0]
        rows[tuple(int(a) for a in FDB_STATUS.split(".")) + mac] = status
    return sorted(rows.items())


def _answer(oid: tuple[int, ...], value: int) -> str:
    return "." + ".".join(map(str, oid)) + "\ninteger\n" + str(value) + "\n"


def main() -> None:
    cached: tuple[float, list[tuple[tuple[int, ...], int]]] = (0.0, [])
    for line in sys.stdin:
        command = line.strip()
        if command == "PING":
            sys.stdout.write("PONG\n")
        elif command in ("get", "getnext"):
            asked = tuple(int(a) for a in sys.stdin.readline().strip().strip(".").split(".") if a)
            if time.monotonic() - cached[0] > 1:  # a walk asks once per row: read the bridge once a second
                cached = (time.monotonic(), _table())
            rows = cached[1]
            if command == "get":
                found = next(((o, v) for o, v in rows if o == asked), None)
            else:
                found = next(((o, v) for o, v in rows if o > asked), None)
            sys.stdout.write(_answer(*found) if found else "NONE\n")
        elif command == "set":
            sys.stdin.readline()
            sys.stdin.readline()
            sys.stdout.write("not-writable\n")
        elif not command:
            break
        sys.stdout.flush()


if __name__ == "__main__":
    main()
