"""The real inventory agents on this machine, mapped, against our own agent and through ingest.

FusionInventory 2.6 and OCS Inventory 2.10 run here in ``--local`` mode (about 1 s and 2 s).
Our agent's report is built in-process from this same machine (``collect_facts(LiveSystem())``).
The mapping must describe what both see with the same CIs: the same Host identity keys,
interfaces, addresses and packages; and a second run of an inventory agent must give the
same fingerprint (cmdb_server/intake.py), so that an unchanged host costs no update.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from agent.collectors import collect_facts
from agent.report import build_report
from agent.system import LiveSystem
from cmdb_server.intake import fingerprint
from cmdb_server.inventory.document import InventoryDocument
from cmdb_server.inventory.mapping import inventory_report
from schema import load_schema
from tests.integration.test_reconciliation import fresh, get, send
from tests.inventory_documents import run_fusion, run_ocs

SCHEMA = load_schema()
MIB = 1024 * 1024

ROUNDED_TO_MIB = {"memory_bytes", "size_bytes"}
"""Inventory agents give these in MiB; our agent in bytes."""


def mapped(doc: InventoryDocument, at: datetime | None = None) -> dict[str, Any]:
    return dict(
        inventory_report(
            doc, source_name=doc.device_id, report_id=str(uuid.uuid4()), collected_at=at or datetime.now(UTC)
        )
    )


def ours() -> dict[str, Any]:
    return dict(build_report(collect_facts(LiveSystem())))


def by_ref(report: dict[str, Any], class_name: str) -> dict[str, dict[str, Any]]:
    return {r["ref"]: r for r in report["records"] if r["class"] == class_name}


def test_fusion_maps_this_machine_to_the_cis_our_agent_reports(tmp_path: Path) -> None:
    agent, inventory = ours(), mapped(run_fusion(tmp_path / "fusion"))
    host, seen = by_ref(agent, "LinuxHost")["host"], by_ref(inventory, "LinuxHost")["host"]
    # Identity: our agent's keys, less the machine-id no inventory agent sends.
    assert seen["identity"] == {k: v for k, v in host["identity"].items() if k != "machine_id"}
    shared = set(host["attributes"]) & set(seen["attributes"])
    assert shared >= {"hostname", "os_name", "kernel", "architecture", "cpu_model", "cpu_cores", "memory_bytes"}
    for name in shared:
        ours_, theirs = host["attributes"][name], seen["attributes"][name]
        if name in ROUNDED_TO_MIB:
            assert abs(ours_ - theirs) < MIB, name
        elif name == "os_version":
            assert theirs.startswith(ours_), (ours_, theirs)  # fusion reads /etc/debian_version: 12.11
        else:
            assert ours_ == theirs, (name, ours_, theirs)

    nics, seen_nics = by_ref(agent, "Interface"), by_ref(inventory, "Interface")
    assert set(seen_nics) == set(nics)
    for ref, nic in seen_nics.items():
        for name, value in nic["attributes"].items():
            assert nics[ref]["attributes"][name] == value, (ref, name)
    assert by_ref(inventory, "IPAddress") == by_ref(agent, "IPAddress")
    assert by_ref(inventory, "SoftwarePackage") == by_ref(agent, "SoftwarePackage")
    relations = {(r["type"], r["from"], r["to"]) for r in agent["relations"] if r["type"] in ("INSTALLED", "HAS_IP")}
    assert {(r["type"], r["from"], r["to"]) for r in inventory["relations"]} == relations

    filesystems = by_ref(agent, "Filesystem")
    for ref, fs in by_ref(inventory, "Filesystem").items():
        ours_fs = filesystems[ref]["attributes"]
        assert {k: fs["attributes"][k] for k in ("device", "fs_type")} == {k: ours_fs[k] for k in ("device", "fs_type")}
        assert abs(fs["attributes"]["size_bytes"] - ours_fs["size_bytes"]) < MIB


@pytest.mark.parametrize("run", [run_fusion, pytest.param(run_ocs, marks=pytest.mark.slow)], ids=["fusion", "ocs"])
def test_two_runs_of_an_inventory_agent_have_one_fingerprint(
    run: Callable[[Path], InventoryDocument], tmp_path: Path
) -> None:
    first, second = run(tmp_path / "first"), run(tmp_path / "second")
    assert first.section("SOFTWARES")  # a real inventory
    prints = {fingerprint(mapped(doc), SCHEMA) for doc in (first, second)}
    assert len(prints) == 1
    assert None not in prints


@pytest.fixture(scope="module")
def both_reports(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    """This machine as our agent and as the FusionInventory agent (mapped) report it."""
    return {"agent": ours(), "inventory": mapped(run_fusion(tmp_path_factory.mktemp("fusion")))}


@pytest.mark.slow
@pytest.mark.parametrize("order", [("agent", "inventory"), ("inventory", "agent")], ids="-then-".join)
def test_our_agent_and_an_inventory_agent_make_one_host_in_either_order(
    client: TestClient, both_reports: dict[str, dict[str, Any]], order: tuple[str, str]
) -> None:
    start = datetime.now(UTC) - timedelta(minutes=5)
    answers = {
        kind: send(client, fresh(both_reports[kind], start + timedelta(seconds=i))) for i, kind in enumerate(order)
    }
    hosts = get(client, "/cis", **{"class": "Host"})
    assert hosts["total"] == 1, [h["name"] for h in hosts["items"]]
    host = hosts["items"][0]
    assert answers["agent"]["cis"]["host"] == answers["inventory"]["cis"]["host"] == host["uid"]
    assert host["attributes"]["machine_id"] == Path("/etc/machine-id").read_text().strip()
    assert set(get(client, f"/cis/{host['uid']}")["seen_by"]) == {"agent", "inventory"}
    # Our agent's values hold where the inventory rounds (memory in MiB).
    assert (
        host["attributes"]["memory_bytes"]
        == by_ref(both_reports["agent"], "LinuxHost")["host"]["attributes"]["memory_bytes"]
    )

    nics = get(client, f"/cis/{host['uid']}/relationships", type="HAS_INTERFACE")["items"]
    eth0 = [e for e in nics if e["other"]["name"] == "eth0"]
    assert len(eth0) == 1
    assert answers["agent"]["cis"]["if:eth0"] == answers["inventory"]["cis"]["if:eth0"]
    addresses = get(client, "/cis", **{"class": "IPAddress"})
    assert addresses["total"] == len(by_ref(both_reports["agent"], "IPAddress"))
    assert answers["agent"]["cis"]["ip:192.0.2.2"] == answers["inventory"]["cis"]["ip:192.0.2.2"]

    installed = get(client, f"/cis/{host['uid']}/relationships", type="INSTALLED", limit=1000)["items"]
    packages = by_ref(both_reports["agent"], "SoftwarePackage")
    assert len(installed) == len(packages) == len({e["other"]["uid"] for e in installed})
    assert all(
        {s["source"].split(":", 1)[0] for s in e["sources"] if s["ended_at"] is None} == {"agent", "inventory"}
        for e in installed
    )
    # The inventory's own hardware hangs off the same host.
    disks = get(client, f"/cis/{host['uid']}/relationships", type="HAS_DISK")["items"]
    assert [e["other"]["name"] for e in disks] == ["vda"]
    # Nothing changed for either source the second time.
    later = start + timedelta(minutes=1)
    for i, kind in enumerate(order):
        assert send(client, fresh(both_reports[kind], later + timedelta(seconds=i)))["events"] == 0, kind
