"""Which sources a token may speak for, and what an agent's report may describe (pure rules)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from cmdb_server import authority
from cmdb_server.errors import Forbidden
from schema import Role, SourceKind, load_schema
from schema.report import ReportHeader, parse_report

SCHEMA = load_schema()


def header(kind: SourceKind, name: str) -> ReportHeader:
    return ReportHeader("r1", kind, name, datetime.now(UTC))


@pytest.mark.parametrize(
    ("text", "problem"),
    [("snmp", "KIND:NAME"), ("agent:web1", "ssh, snmp, import"), ("manual:x", "ssh, snmp, import"), ("ssh:a*b", "end")],
)
def test_a_collector_token_is_issued_for_collector_sources_only(text: str, problem: str) -> None:
    with pytest.raises(authority.SourcePatternError, match=problem):
        authority.parse_source_pattern(text)


def test_a_collector_token_is_issued_for_a_fleets_inventory_agents() -> None:
    assert authority.parse_source_pattern("inventory:*") == "inventory:*"
    assert authority.matches("inventory:*", "inventory:web1-2026-12-01-04-25-12")


def test_a_pattern_covers_the_names_it_starts() -> None:
    assert authority.parse_source_pattern("snmp:dc1@*") == "snmp:dc1@*"
    assert authority.matches("snmp:dc1@*", "snmp:dc1@10.0.0.1")
    assert not authority.matches("snmp:dc1@*", "snmp:dc10@10.0.0.1")
    assert not authority.matches("snmp:dc1@*", "ssh:dc1@10.0.0.1")
    assert authority.matches("import:cmdb", "import:cmdb")
    assert not authority.matches("import:cmdb", "import:cmdb2")


@pytest.mark.parametrize(
    ("role", "sources", "kind", "name", "allowed"),
    [
        (Role.COLLECTOR, ("snmp:dc1@*",), SourceKind.SNMP, "dc1@10.0.0.1", True),
        (Role.COLLECTOR, ("snmp:dc1@*",), SourceKind.SSH, "dc1@10.0.0.1", False),
        (Role.COLLECTOR, ("snmp:dc1@*",), SourceKind.AGENT, "web1", False),
        (Role.COLLECTOR, None, SourceKind.SSH, "anyone@10.0.0.1", True),  # issued before scopes
        (Role.COLLECTOR, None, SourceKind.MANUAL, "anyone", False),
        (Role.AGENT, None, SourceKind.AGENT, "web1", True),
        (Role.AGENT, None, SourceKind.INVENTORY, "web1-2026-12-01-04-25-12", True),  # its host's inventory agent
        (Role.COLLECTOR, ("inventory:*",), SourceKind.INVENTORY, "web1-2026-12-01-04-25-12", True),
        (Role.COLLECTOR, ("inventory:*",), SourceKind.AGENT, "web1", False),
        (Role.COLLECTOR, ("snmp:dc1@*",), SourceKind.INVENTORY, "web1-2026-12-01-04-25-12", False),
        (Role.COLLECTOR, None, SourceKind.INVENTORY, "web1", False),  # issued before scopes: ssh and snmp only
        (Role.ENGINEER, None, SourceKind.INVENTORY, "web1", False),
        (Role.AGENT, None, SourceKind.SSH, "web1", False),
        (Role.ENGINEER, None, SourceKind.IMPORT, "alice", True),
        (Role.ENGINEER, None, SourceKind.MANUAL, "alice", False),
        (Role.ADMIN, None, SourceKind.MANUAL, "anything", True),
    ],
)
def test_which_sources_a_token_speaks_for(
    role: Role, sources: tuple[str, ...] | None, kind: SourceKind, name: str, allowed: bool
) -> None:
    if allowed:
        authority.check_source(role, sources, header(kind, name))
    else:
        with pytest.raises(Forbidden):
            authority.check_source(role, sources, header(kind, name))


def report(records: list[dict[str, Any]], relations: list[dict[str, Any]] | None = None, kind: str = "agent") -> Any:
    data = {
        "version": 1,
        "report_id": "r1",
        "source": {"kind": kind, "name": "web1"},
        "collected_at": datetime.now(UTC).isoformat(),
        "records": records,
        "relations": relations or [],
    }
    return parse_report(data, SCHEMA)


HOST = {"ref": "host", "class": "LinuxHost", "identity": {"machine_id": "m1"}, "attributes": {"hostname": "web1"}}
NIC = {"ref": "eth0", "class": "Interface", "parent": "host", "identity": {"name": "eth0"}}
IP = {"ref": "ip", "class": "IPAddress", "identity": {"address": "192.0.2.1", "domain": "global"}}
APP = {"ref": "app", "class": "Application", "identity": {"name": "shop"}}


def test_an_agent_report_of_its_host_parts_and_addresses_is_in_scope() -> None:
    authority.check_agent_scope(report([HOST, NIC, IP], [{"type": "HAS_IP", "from": "eth0", "to": "ip"}]))


@pytest.mark.parametrize(
    ("records", "field"),
    [
        ([NIC | {"parent": "other"}, HOST | {"ref": "other"}, APP], "records[2]"),
        ([IP, APP], "records"),
        ([IP], "records"),
    ],
)
def test_an_agent_report_beyond_its_host_is_refused(records: list[dict[str, Any]], field: str) -> None:
    with pytest.raises(Forbidden) as refused:
        authority.check_agent_scope(report(records))
    assert refused.value.field == field


GUEST_UUID = "564d1111-2222-3333-4444-555566667777"
GUEST: dict[str, Any] = {
    "ref": "vm",
    "class": "Host",
    "identity": {"hardware_uuid": GUEST_UUID},
    "attributes": {"hostname": "guest1", "virtual": True},
}
HOSTED = {"type": "HOSTED_ON", "from": "vm", "to": "host"}


def test_an_inventory_of_a_hypervisor_names_its_guests_by_their_smbios_uuid() -> None:
    authority.check_agent_scope(
        report([HOST, NIC, GUEST, GUEST | {"ref": "vm2"}], [HOSTED, HOSTED | {"from": "vm2"}], "inventory")
    )


@pytest.mark.parametrize(
    ("kind", "records", "relations"),
    [
        ("agent", [HOST, GUEST], [HOSTED]),  # our agent names no guests
        ("inventory", [HOST, GUEST], []),  # not hosted here
        (
            "inventory",
            [
                HOST,
                GUEST
                | {
                    "identity": {
                        "hardware_uuid": GUEST_UUID,
                        "hostname": "guest1",
                        "primary_mac": "02:00:00:00:00:01",
                    }
                },
            ],
            [HOSTED],
        ),
        ("inventory", [HOST, GUEST, NIC | {"parent": "vm"}], [HOSTED]),  # with parts of its own
        ("inventory", [HOST, GUEST, APP], [HOSTED, {"type": "DEPENDS_ON", "from": "vm", "to": "app"}]),
        (
            "inventory",
            [HOST, GUEST, GUEST | {"ref": "vm2"}],
            [HOSTED, {"type": "HOSTED_ON", "from": "vm", "to": "vm2"}],
        ),
    ],
)
def test_a_guest_is_in_scope_only_as_an_inventorys_uuid_hosted_on_its_host(
    kind: str, records: list[dict[str, Any]], relations: list[dict[str, Any]]
) -> None:
    with pytest.raises(Forbidden):
        authority.check_agent_scope(report(records, relations, kind))
