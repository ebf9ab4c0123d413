"""Record what a live SNMP agent answers as an snmpsim recording (``oid|type|value`` lines).

Reads with net-snmp's ``snmpbulkwalk`` (numeric OIDs, octet strings in hex, raw TimeTicks),
so a recording keeps every value's type and bytes as the agent sent them. Used to record the
real snmpd the tests start (tests/fixtures/snmp/recorded/): ``python -m tests.snmp_record
ADDRESS:PORT SUBTREE... > file.snmprec``.
"""

from __future__ import annotations

import re
import subprocess
import sys

# net-snmp's type names -> snmprec's type tags (ASN.1 tags in decimal, ``x`` for hex values).
TYPES = {
    "INTEGER": "2",
    "Counter32": "65",
    "Gauge32": "66",
    "Timeticks": "67",
    "Counter64": "70",
    "OID": "6",
    "IpAddress": "64",
    "Hex-STRING": "4x",
    "STRING": "4x",
}
LINE = re.compile(r"^\.?([0-9.]+) = (?:([A-Za-z0-9-]+): )?(.*)$")


def to_snmprec(output: str) -> list[str]:
    """``snmpbulkwalk -On -Ox -Ot -Oe`` output as snmprec lines (a value may span lines)."""
    joined: list[str] = []
    for raw in output.splitlines():
        if raw.startswith(".") or not joined:
            joined.append(raw)
        else:  # a long hex string goes on over lines of its own
            joined[-1] += " " + raw
    lines: list[str] = []
    for raw in joined:
        match = LINE.match(raw.strip())
        if not match:
            continue
        oid, kind, value = match.groups()
        if kind is None:  # -Ot prints TimeTicks as a bare number, an empty string as ""
            if value.strip().isdigit():
                kind = "Timeticks"
            elif value.strip() == '""':
                kind = "STRING"
            else:
                continue  # "No Such Object available on this agent at this OID"
        if kind not in TYPES:
            continue
        if kind in ("Hex-STRING", "STRING"):
            value = "" if value.strip() == '""' else value.replace(" ", "").strip('"').lower()
        elif kind == "OID":
            value = value.lstrip(".")
        lines.append(f"{oid}|{TYPES[kind]}|{value.strip()}")
    return lines


def record(endpoint: str, subtrees: list[str], community: str = "public") -> str:
    found: dict[str, str] = {}
    for subtree in subtrees:
        done = subprocess.run(
            ["snmpbulkwalk", "-v2c", "-c", community, "-On", "-Ox", "-Ot", "-Oe", endpoint, subtree],
            capture_output=True,
            text=True,
            check=True,
            env={"MIBS": "", "PATH": "/usr/bin:/bin"},
        )
        for line in to_snmprec(done.stdout):
            found[line.split("|", 1)[0]] = line
    ordered = sorted(found, key=lambda oid: [int(arc) for arc in oid.split(".")])
    return "".join(found[oid] + "\n" for oid in ordered)


if __name__ == "__main__":
    sys.stdout.write(record(sys.argv[1], sys.argv[2:]))
