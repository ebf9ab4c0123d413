"""Turning collected facts into a report of the contract in ``schema/report.py``.

Each topic's collector turns its own facts into records (agent/collectors/); this module
only assembles them around the Host record, and holds the rule that spans topics: which
of the host's keys identify it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from agent.collectors import REGISTRY, Collector, Facts
from agent.collectors.base import HostRecord, HostReport
from agent.collectors.identity import IdentityFacts
from schema.report import ReportDict
from schema.report_builder import drop_none

HOST_REF = "host"


def source_name(facts: Facts) -> str:
    """Unique per host even where host names repeat: name and machine-id."""
    identity: IdentityFacts | None = facts.get("identity")
    hostname = (identity.hostname if identity else None) or "unknown"
    machine_id = identity.machine_id if identity else None
    return f"{hostname}/{machine_id}" if machine_id else hostname


def build_report(
    facts: Facts,
    network_domain: str = "global",
    now: datetime | None = None,
    source: tuple[str, str] | None = None,
    collectors: tuple[Collector[Any], ...] = REGISTRY,
    report_id: str | None = None,
) -> ReportDict:
    """The report of one host from its facts; ``source`` is (kind, name), the agent's by default.

    SSH discovery runs the agent's collectors over SSH (discovery/ssh/system.py) and calls
    this too, as does the mapping of an inventory agent's XML (cmdb_server/inventory/mapping.py)
    with facts read from it, so that every source of one machine describes it the same way
    and they meet in one CI.
    """
    present = [c for c in collectors if c.name in facts]
    host = HostRecord()
    for collector in present:
        collector.describe_host(facts[collector.name], host)
    report = HostReport(network_domain, host_ref=HOST_REF)
    report.builder.add(
        {
            "ref": HOST_REF,
            "class": "LinuxHost" if host.linux else "Host",
            "identity": host_identity(host),
            "attributes": drop_none(host.attributes),
        }
    )
    for collector in present:
        collector.records(facts[collector.name], report)
    kind, name = source or ("agent", source_name(facts))
    return report.builder.build(kind, name, collected_at=now, report_id=report_id)


def host_identity(host: HostRecord) -> dict[str, object]:
    """The keys that identify the host: machine-id, FQDN, and the host name only beside the
    primary MAC (a host name alone repeats across sites); with none of them, the bare name."""
    identity = dict(host.identity)
    if not identity.get("primary_mac"):
        identity.pop("hostname", None)
    keys = drop_none(identity)
    return keys or {"fqdn": host.identity.get("hostname")}
