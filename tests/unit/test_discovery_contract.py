"""The scanner contract, the agent's collectors over SSH's System, and what a scan imports.

Peers are real: the sweep tests probe silent loopback addresses, and the SSH System runs
its batch in this machine's own shell (the transport, paramiko, is tested against a real
sshd in tests/integration/test_discovery_ssh.py).
"""

from __future__ import annotations

import asyncio
import importlib
import inspect
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from agent.collectors import REGISTRY as COLLECTORS
from agent.collectors import collect_facts
from agent.system import LiveSystem
from discovery.config import DiscoveryConfig, SnmpCredential, SnmpSettings, SshCredential, SshSettings
from discovery.results import Status
from discovery.scanner import REGISTRY, Scanner, wanted_scanners
from discovery.secrets import Secret
from discovery.ssh.batch import CommandResult
from discovery.ssh.system import SshSystem
from discovery.sweep import sweep

SILENT = "127.0.0.251"  # nothing listens here: SNMP hears silence, SSH's connection is refused


def _factory(path: str) -> type:
    module, _, name = path.partition(":")
    factory = getattr(importlib.import_module(module), name)
    assert inspect.isclass(factory), path
    return factory


@pytest.mark.parametrize("entry", REGISTRY, ids=lambda e: e.protocol)
def test_every_registered_scanner_answers_the_contract(entry: object) -> None:
    """As napalm's drivers against their base: a scanner whose signatures drift fails here."""
    scanner = _factory(entry.factory)  # type: ignore[attr-defined]
    assert scanner.protocol == entry.protocol  # type: ignore[attr-defined]
    for name in ("probe", "collect", "close"):
        contract = getattr(Scanner, name)
        method = getattr(scanner, name)
        assert inspect.iscoroutinefunction(method) == inspect.iscoroutinefunction(contract), name
        assert list(inspect.signature(method).parameters) == list(inspect.signature(contract).parameters), name


def _config(snmp: bool, ssh: bool) -> DiscoveryConfig:
    return DiscoveryConfig(
        targets=[SILENT],
        snmp=SnmpSettings(
            port=16199,
            timeout_seconds=0.3,
            retries=0,
            credentials=[SnmpCredential("c", "2c", Secret("public"))] if snmp else [],
        ),
        ssh=SshSettings(port=16122, timeout_seconds=0.3, credentials=[SshCredential("k", "root")] if ssh else []),
    )


def test_a_sweep_asks_only_the_scanners_its_credentials_call_for() -> None:
    assert [e.protocol for e in wanted_scanners(_config(snmp=True, ssh=True))] == ["snmp", "ssh"]
    assert [e.protocol for e in wanted_scanners(_config(snmp=False, ssh=True))] == ["ssh"]
    [result] = asyncio.run(sweep(_config(snmp=False, ssh=True)))
    assert [p.protocol for p in result.protocols] == ["ssh"]


def test_a_sweep_lists_every_protocols_result_in_the_registrys_order() -> None:
    [result] = asyncio.run(sweep(_config(snmp=True, ssh=True)))
    assert [(p.protocol, p.status) for p in result.protocols] == [("snmp", Status.NO_ANSWER), ("ssh", Status.NO_ANSWER)]
    assert "nothing listens on port 16122" in result.protocols[1].reason


class LocalShell:
    """This machine's shell as the far end of a session: the commands are the real ones."""

    def __init__(self) -> None:
        self.calls = 0

    def run(self, command: str, timeout: float | None = None) -> CommandResult:
        self.calls += 1
        done = subprocess.run(["sh", "-c", command], capture_output=True, text=True, timeout=timeout, check=False)
        return CommandResult(done.returncode, done.stdout)


def test_one_batch_answers_every_registered_collector_with_no_round_trip_more() -> None:
    """A collector that asks what the batch does not read would cost a round trip per question."""
    shell = LocalShell()
    system = SshSystem.read(shell, timeout=30)
    facts = collect_facts(system)
    assert facts["errors"] == {}
    assert set(facts) == {"errors", *(c.name for c in COLLECTORS if c.is_enabled(system))}
    assert (shell.calls, system.remote_calls) == (1, 0)


def test_the_agents_collectors_see_the_same_host_over_ssh_as_the_agent() -> None:
    """What can change while it runs (sockets, other tests' interfaces) is read before and after:
    what SSH saw is what was there throughout, and no more than was there at either time."""
    before = collect_facts(LiveSystem())
    over_ssh = collect_facts(SshSystem.read(LocalShell(), timeout=30))
    after = collect_facts(LiveSystem())
    assert over_ssh["identity"] == after["identity"]
    same = ("os_name", "os_version", "kernel", "architecture", "boot_time", "cpu_model", "cpu_threads", "memory_bytes")
    assert {k: getattr(over_ssh["os"], k) for k in same} == {k: getattr(after["os"], k) for k in same}
    assert over_ssh["dpkg"] == after["dpkg"]

    def between(seen: set[Any], first: set[Any], last: set[Any]) -> None:
        assert first & last <= seen <= first | last

    nics = [set(facts["interfaces"].interfaces) for facts in (over_ssh, before, after)]
    between(*nics)  # every attribute of each interface, as the agent reads it
    mounts = [{f.mount_point for f in facts["filesystems"]} for facts in (over_ssh, before, after)]
    between(*mounts)
    listeners = [{(s.protocol, s.address, s.port) for s in f["sockets"].listeners} for f in (over_ssh, before, after)]
    between(*listeners)


def test_a_question_the_batch_did_not_ask_goes_over_the_session() -> None:
    shell = LocalShell()
    system = SshSystem.read(shell, timeout=30)
    assert system.read_text("/etc/hostname") == Path("/etc/hostname").read_text()
    assert system.read_text("/no/such/file") is None
    assert system.has_command("sh")
    assert not system.has_command("no-such-command-here")
    assert system.remote_calls == 4
    assert system.read_text("/proc/1/cgroup") is not None  # in the batch's globs: no round trip
    assert system.read_text("/sys/class/net/no-such-nic/type") is None
    assert system.remote_calls == 4


HEAVY = ["paramiko", "pysnmp", "httpx", "pydantic", "fastapi", "neo4j", "psutil", "agent.transport", "schema.model"]


def _heavy(modules: set[str], allowed: frozenset[str] = frozenset()) -> set[str]:
    return {m for m in modules if (m in HEAVY or m.split(".")[0] in HEAVY) and m.split(".")[0] not in allowed}


def _imported(code: str) -> set[str]:
    done = subprocess.run(
        [sys.executable, "-c", code + "\nimport json, sys; print(json.dumps(sorted(sys.modules)))"],
        capture_output=True,
        text=True,
        check=True,
    )
    return set(json.loads(done.stdout.splitlines()[-1]))


def test_an_ssh_scan_imports_nothing_heavy_before_its_first_packet() -> None:
    """The CLI, the sweep and the SSH probe: a TCP connection needs neither paramiko nor the report code."""
    modules = _imported(
        "import discovery.cli\n"
        "from discovery.config import DiscoveryConfig, SshCredential, SshSettings\n"
        "from discovery.scanner import wanted_scanners\n"
        "config = DiscoveryConfig(targets=['127.0.0.1'], ssh=SshSettings(credentials=[SshCredential('k', 'root')]))\n"
        "scanners = [e.load(config) for e in wanted_scanners(config)]"
    )
    assert "discovery.ssh.scanner" in modules
    assert not _heavy(modules)
    assert "agent.collectors" not in modules
    assert "multiprocessing" not in modules


def test_an_snmp_scan_imports_pysnmp_and_nothing_else_heavy_before_its_first_packet() -> None:
    modules = _imported(
        "import discovery.cli\n"
        "from discovery.config import DiscoveryConfig, SnmpCredential, SnmpSettings\n"
        "from discovery.scanner import wanted_scanners\n"
        "from discovery.secrets import Secret\n"
        "snmp = SnmpSettings(credentials=[SnmpCredential('c', '2c', Secret('p'))])\n"
        "config = DiscoveryConfig(targets=['127.0.0.1'], snmp=snmp)\n"
        "scanners = [e.load(config) for e in wanted_scanners(config)]"
    )
    assert "pysnmp" in modules
    assert "pysmi" in modules  # blocked: a None entry, so pysnmp goes without its MIB compiler
    assert not [m for m in modules if m.startswith("pysmi.")]
    assert not _heavy(modules, allowed=frozenset({"pysnmp"}))
    assert "discovery.snmp.device" not in modules  # the report code comes after the probe


def test_pysnmps_mib_modules_load_from_their_compiled_files_with_the_same_symbols() -> None:
    engine_symbols = (
        "from pysnmp.hlapi.v3arch.asyncio import SnmpEngine\n"
        "from discovery.snmp import mibcache\n"
        "builder = SnmpEngine().get_mib_builder()\n"
        "print(json.dumps([len(mibcache._compiled), {m: sorted(s) for m, s in builder.mibSymbols.items()}]))"
    )
    runs = {}
    for name, prelude in (("cached", ""), ("pysnmp's way", "mibcache.install = lambda: None\n")):
        code = f"import json\nfrom discovery.snmp import mibcache\n{prelude}"
        code += f"import discovery.snmp.client\n{engine_symbols}"
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
        runs[name] = json.loads(done.stdout)
    compiled, symbols = runs["cached"]
    assert compiled == len(symbols) >= 10  # every MIB module the engine loads came from __pycache__
    assert runs["pysnmp's way"] == [0, symbols]
