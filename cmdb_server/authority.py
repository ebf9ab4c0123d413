"""Which sources a token may speak for, and what an agent's report may describe.

A report names its source (``kind:name``) in its body, but the body alone proves
nothing: the token decides. An agent token is one host's agent: it speaks for one agent
source (bound at its first report), and for one inventory source (``inventory:<DEVICEID>``,
a FusionInventory or OCS agent beside it on the same host), and describes that host, the host's parts and the few
shared things a host names (schema: ``agent_may_name``). A collector token speaks for the
source patterns it was issued for (``snmp:dc1@*``). An admin may speak for any source;
an engineer sends imports only (``POST /import``).

Pure rules: the bindings kept in the graph are checked in the ingest transaction.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from cmdb_server.errors import Forbidden
from schema import Role, SourceKind
from schema.report import Record, Report, ReportHeader

COLLECTOR_KINDS = (SourceKind.SSH, SourceKind.SNMP, SourceKind.IMPORT, SourceKind.INVENTORY)
"""Kinds of source a collector token may be issued for: not an agent's, not a person's.
``inventory:*``: the FusionInventory and OCS agents of a fleet, which share one token (each
inventory is still held to one host: check_agent_scope)."""

AGENT_KINDS = (SourceKind.AGENT, SourceKind.INVENTORY)
"""Kinds of source an agent token speaks for: its host's agent, and an inventory agent on it."""

LEGACY_COLLECTOR_SOURCES = ("ssh:*", "snmp:*")
"""What a collector token issued before source scopes existed may speak for."""


class SourcePatternError(ValueError):
    """A source pattern a collector token cannot be issued for."""


def parse_source_pattern(text: str) -> str:
    """``kind:name``, the name ending in ``*`` to cover every name it starts with
    (``snmp:dc1@*``: collector dc1's SNMP sources, one per address it scans)."""
    kind, sep, name = text.partition(":")
    if not sep or not name:
        raise SourcePatternError(f"{text!r}: write a source as KIND:NAME (e.g. 'snmp:dc1@*')")
    if kind not in {k.value for k in COLLECTOR_KINDS}:
        allowed = ", ".join(k.value for k in COLLECTOR_KINDS)
        raise SourcePatternError(f"{text!r}: a collector token may be issued for {allowed} sources only")
    if "*" in name[:-1]:
        raise SourcePatternError(f"{text!r}: '*' may only end the name")
    return f"{kind}:{name}"


def collector_sources(collector: str) -> tuple[str, ...]:
    """The sources of one collector (``cmdb-discover``'s ``name``): its SSH and SNMP scans."""
    return (f"ssh:{collector}@*", f"snmp:{collector}@*")


def matches(pattern: str, source_key: str) -> bool:
    if pattern.endswith("*"):
        return source_key.startswith(pattern[:-1])
    return source_key == pattern


def check_source(role: Role, sources: Sequence[str] | None, header: ReportHeader) -> None:
    """Forbidden unless a token of ``role`` (issued for ``sources``) may send as the report's source."""
    key = header.source_key
    if role is Role.ADMIN:
        return
    if role is Role.AGENT:
        if header.source_kind not in AGENT_KINDS:
            raise Forbidden(
                f"an agent token speaks for its host's agents only; it may not send a '{header.source_kind.value}' "
                "report",
                field="source.kind",
            )
        return  # which source: bound to the token at its first report (checked in the transaction)
    if role is Role.COLLECTOR:
        if header.source_kind not in COLLECTOR_KINDS:
            raise Forbidden(
                f"a collector token never speaks for '{header.source_kind.value}' sources: those are an agent's or "
                "a person's",
                field="source.kind",
            )
        allowed = tuple(sources) if sources is not None else LEGACY_COLLECTOR_SOURCES
        if not any(matches(p, key) for p in allowed):
            raise Forbidden(
                f"this collector token may speak for {', '.join(allowed) or 'no source'}, not for {key}",
                field="source",
            )
        return
    if header.source_kind is not SourceKind.IMPORT:
        raise Forbidden(
            f"a {role.value} token sends imports only, not '{header.source_kind.value}' reports", field="source.kind"
        )


def _host_parts(records: Iterable[Record], host_ref: str) -> set[str]:
    """The host's ref and the refs of every record whose parents lead to it."""
    parent_of = {r.ref: r.parent_ref for r in records}
    parts = set()
    for ref in parent_of:
        seen: set[str] = set()
        current: str | None = ref
        while current is not None and current not in seen and current != host_ref:
            seen.add(current)
            current = parent_of.get(current)
        if current == host_ref:
            parts.add(ref)
    return parts


def hypervisor_guests(report: Report) -> set[str]:
    """Refs of the guests an inventory report lists on its hypervisor (VIRTUALMACHINES): Host
    records identified by their SMBIOS UUID alone (which the guest's own agent reads too), no
    part of them reported, and related by HOSTED_ON to the report's one other Host and by
    nothing else. Only an inventory source names them; its precedence is below the guests'
    own agents (schema/ci_classes.toml), so their values win."""
    if report.source_kind is not SourceKind.INVENTORY:
        return set()
    hosts = {r.ref: r for r in report.records if r.parent_ref is None and r.ci_class.is_a("Host")}
    parents = {r.parent_ref for r in report.records}
    candidates = {ref for ref, r in hosts.items() if set(r.identity) == {"hardware_uuid"} and ref not in parents}
    hypervisors = set(hosts) - candidates
    if len(hypervisors) != 1:
        return set()
    (hypervisor,) = hypervisors
    guests = set(candidates)
    for relation in report.relations:
        for ref in {relation.from_ref, relation.to_ref} & candidates:
            if not (relation.type == "HOSTED_ON" and relation.from_ref == ref and relation.to_ref == hypervisor):
                guests.discard(ref)
    hosted = {r.from_ref for r in report.relations if r.type == "HOSTED_ON"}
    return guests & hosted


def check_agent_scope(report: Report) -> None:
    """Forbidden unless the report describes one host, its parts, and what an agent may name
    (and, from an inventory, the guests of a hypervisor: ``hypervisor_guests``)."""
    guests = hypervisor_guests(report)
    who = "an inventory" if report.source_kind is SourceKind.INVENTORY else "an agent token"
    hosts = [r for r in report.records if r.parent_ref is None and r.ci_class.is_a("Host") and r.ref not in guests]
    if len(hosts) != 1:
        raise Forbidden(
            f"{who} describes its own host: its report holds exactly one Host record (this one has {len(hosts)})",
            field="records",
        )
    parts = _host_parts(report.records, hosts[0].ref)
    for record in report.records:
        if (
            record.ref in parts
            or record.ref in guests
            or (record.parent_ref is None and record.ci_class.agent_may_name)
        ):
            continue
        raise Forbidden(
            f"{who} describes its own host and the host's parts only; record {record.ref[:100]!r} "
            f"({record.ci_class.name}) is neither",
            field=f"records[{record.index}]",
        )
    for relation in report.relations:
        if relation.from_ref not in parts and relation.to_ref not in parts:
            raise Forbidden(
                f"{who} relates its own host and the host's parts only; this relation touches neither",
                field=f"relations[{relation.index}]",
            )
