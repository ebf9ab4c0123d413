"""Collectors and the report builder, fed with a recorded machine through the System seam."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from agent.collectors import collect_facts
from agent.collectors.base import Collector, Facts
from agent.report import build_report
from agent.system import NicAddress, NicStats, Partition, ProcessInfo, RecordedSystem, Socket, System
from schema import load_schema
from schema.report import parse_report
from tests.conftest import REPO_ROOT

FIXTURES = REPO_ROOT / "tests" / "fixtures" / "agent"


def recorded_web_server() -> RecordedSystem:
    """A Debian web server: nginx on :80, a Python app on 127.0.0.1:8080 using Postgres elsewhere."""
    return RecordedSystem(
        files={
            "/etc/machine-id": "0c1f4e2a9b8d4c7e8f6a5b4c3d2e1f00\n",
            "/proc/200/cgroup": "0::/system.slice/app.service\n",
            "/proc/1/cgroup": "0::/init.scope\n",
            "/etc/os-release": (FIXTURES / "os_release" / "debian-12.raw").read_text(),
            "/proc/cpuinfo": (FIXTURES / "cpuinfo" / "amd-epyc-kvm.raw").read_text(),
            "/proc/net/route": (FIXTURES / "default_route" / "single-default.raw").read_text(),
            "/sys/class/dmi/id/sys_vendor": "QEMU\n",
            "/sys/class/dmi/id/product_serial": "Not Specified\n",
        },
        commands={
            "dpkg-query -W -f=${Package}\t${Version}\t${Architecture}\t${db:Status-Status}\n": (
                FIXTURES / "dpkg_query" / "multiarch-and-removed.raw"
            ).read_text()
        },
        host_name="web1",
        host_fqdn="web1.example.org",
        boot=1_764_000_000.0,
        cpus=(2, 4),
        memory=8 * 2**30,
        parts=[Partition("/dev/vda1", "/", "ext4")],
        usage={"/": (100 * 2**30, 40 * 2**30)},
        addresses={
            "lo": [
                NicAddress("inet", "127.0.0.1", "255.0.0.0"),
                NicAddress("link", "00:00:00:00:00:00", None),
            ],
            "eth0": [
                NicAddress("inet", "192.0.2.10", "255.255.255.0"),
                NicAddress("inet6", "fe80::1%eth0", "ffff:ffff:ffff:ffff::"),
                NicAddress("link", "52:54:00:AB:CD:EF", None),
            ],
        },
        stats={"lo": NicStats(True, 65536, 0), "eth0": NicStats(True, 1500, 1000)},
        socket_table=[
            Socket("tcp", "0.0.0.0", 80, None, None, "LISTEN", 100),
            Socket("tcp", "127.0.0.1", 8080, None, None, "LISTEN", 200),
            Socket("udp", "0.0.0.0", 123, None, None, "NONE", 300),
            # nginx's worker proxies to the app: client side, and the app's side of the same connection
            Socket("tcp", "127.0.0.1", 41000, "127.0.0.1", 8080, "ESTABLISHED", 101),
            Socket("tcp", "127.0.0.1", 8080, "127.0.0.1", 41000, "ESTABLISHED", 200),
            # the app uses Postgres on another host, twice
            Socket("tcp", "192.0.2.10", 50000, "198.51.100.7", 5432, "ESTABLISHED", 200),
            Socket("tcp", "192.0.2.10", 50001, "198.51.100.7", 5432, "ESTABLISHED", 200),
            # a browser somewhere talks to nginx: inbound, not a dependency of this host
            Socket("tcp", "192.0.2.10", 80, "203.0.113.9", 61000, "ESTABLISHED", 100),
            # a short-lived pip downloading: no listening socket, no service unit: not a program
            Socket("tcp", "192.0.2.10", 52000, "151.101.0.223", 443, "ESTABLISHED", 400),
            # three Python servers of one executable, each on its own port, one of them a client too
            Socket("tcp", "0.0.0.0", 8000, None, None, "LISTEN", 500),
            Socket("tcp", "0.0.0.0", 8001, None, None, "LISTEN", 501),
            Socket("tcp", "0.0.0.0", 8002, None, None, "LISTEN", 502),
            Socket("tcp", "192.0.2.10", 53000, "198.51.100.8", 6379, "ESTABLISHED", 502),
        ],
        processes={
            1: ProcessInfo("systemd", "/usr/lib/systemd/systemd", "root"),
            100: ProcessInfo("nginx", "/usr/sbin/nginx", "root", ppid=1),
            101: ProcessInfo("nginx", "/usr/sbin/nginx", "www-data", ppid=100),
            200: ProcessInfo("gunicorn", "/usr/bin/python3.11", "app", ppid=1),
            300: ProcessInfo("chronyd", "/usr/sbin/chronyd", "_chrony", ppid=1),
            400: ProcessInfo("pip", "/usr/bin/python3.11", "root", ppid=1),
            500: ProcessInfo("python3", "/usr/bin/python3.11", "app", ppid=1),
            501: ProcessInfo("python3", "/usr/bin/python3.11", "app", ppid=1),
            502: ProcessInfo("python3", "/usr/bin/python3.11", "app", ppid=1),
        },
        uname={"system": "Linux", "kernel": "6.1.0-21-amd64", "architecture": "x86_64"},
    )


def test_facts_of_a_recorded_machine() -> None:
    facts = collect_facts(recorded_web_server())
    assert facts["errors"] == {}
    assert facts["identity"].machine_id == "0c1f4e2a9b8d4c7e8f6a5b4c3d2e1f00"
    assert facts["identity"].vendor == "QEMU"
    assert facts["identity"].serial is None  # a placeholder, not a serial
    assert facts["os"].os_name == "Debian GNU/Linux"
    assert facts["os"].virtual is True
    assert facts["interfaces"].primary_mac == "52:54:00:ab:cd:ef"
    assert len(facts["dpkg"]) == 3
    assert "rpm" not in facts  # dpkg owns this system
    sockets = facts["sockets"]
    assert [(s.protocol, s.address, s.port, s.process_name) for s in sockets.listeners] == [
        ("tcp", "0.0.0.0", 80, "nginx"),
        ("tcp", "0.0.0.0", 8000, "python3"),
        ("tcp", "0.0.0.0", 8001, "python3"),
        ("tcp", "0.0.0.0", 8002, "python3"),
        ("tcp", "127.0.0.1", 8080, "gunicorn"),
        ("udp", "0.0.0.0", 123, "chronyd"),
    ]
    # One program per service unit, else per set of listening ports; pip is none.
    assert [(p.key, p.process_name) for p in sockets.programs] == [
        ("listens:tcp/80", "nginx"),
        ("listens:tcp/8000", "python3"),
        ("listens:tcp/8001", "python3"),
        ("listens:tcp/8002", "python3"),
        ("listens:udp/123", "chronyd"),
        ("unit:app.service", "gunicorn"),
    ]
    assert [(c.program, c.remote_address, c.remote_port, c.count) for c in sockets.connections] == [
        ("listens:tcp/80", "127.0.0.1", 8080, 1),  # the worker's connection is its master's program's
        ("listens:tcp/8002", "198.51.100.8", 6379, 1),
        ("unit:app.service", "198.51.100.7", 5432, 2),
    ]


def test_the_report_passes_the_contract_and_maps_dependencies() -> None:
    report = build_report(collect_facts(recorded_web_server()))
    parsed = parse_report(json.loads(json.dumps(report)), load_schema())
    host = parsed.records[0]
    assert host.ci_class.name == "LinuxHost"
    assert host.identity == {
        "machine_id": "0c1f4e2a9b8d4c7e8f6a5b4c3d2e1f00",
        "fqdn": "web1.example.org",
        "hostname": "web1",
        "primary_mac": "52:54:00:ab:cd:ef",
    }
    ips = sorted(r.identity["address"] for r in parsed.records if r.ci_class.name == "IPAddress")
    assert ips == ["192.0.2.10", "198.51.100.7", "198.51.100.8"]  # loopback and link-local stay on the interface
    deps = {(r.from_ref, r.to_ref, r.properties.get("port")) for r in parsed.relations if r.type == "DEPENDS_ON"}
    assert deps == {
        ("proc:listens:tcp/80", "svc:tcp:127.0.0.1:8080", None),
        ("proc:unit:app.service", "ip:198.51.100.7", 5432),
        ("proc:listens:tcp/8002", "ip:198.51.100.8", 6379),
    }
    instances = {r.ref: r.identity for r in parsed.records if r.ci_class.name == "SoftwareInstance"}
    assert instances["proc:unit:app.service"] == {"unit": "app.service"}
    assert instances["proc:listens:tcp/8000"] == {"listens": "tcp/8000"}
    assert len(instances) == 6
    eth0 = next(r for r in parsed.records if r.ref == "if:eth0")
    assert eth0.attributes["addresses"] == ["192.0.2.10/24", "fe80::1/64"]
    assert report["source"] == {"kind": "agent", "name": "web1/0c1f4e2a9b8d4c7e8f6a5b4c3d2e1f00"}


def test_a_failing_collector_does_not_stop_the_others() -> None:
    class Broken(Collector[Any]):
        name = "broken"

        def collect(self, system: System, facts: Facts) -> Any:
            raise OSError("disk on fire")

    class Uses(Collector[Any]):
        name = "uses"
        requires = ("broken",)

        def collect(self, system: System, facts: Facts) -> Any:
            return "ran"

    facts = collect_facts(RecordedSystem(), (Uses(), Broken()))
    assert facts["errors"] == {"broken": "OSError: disk on fire"}
    assert facts["uses"] == "ran"


def test_the_agent_does_not_import_the_server_stack() -> None:
    code = (
        "import sys, agent.cli, agent.transport, agent.report;"
        "heavy = sorted(m for m in ('fastapi', 'neo4j', 'pydantic', 'starlette') if m in sys.modules);"
        "print(','.join(heavy))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == ""


def test_collect_prints_this_host_as_one_json_line_that_passes_the_contract() -> None:
    agent = Path(sys.executable).parent / "cmdb-agent"
    done = subprocess.run([str(agent), "collect"], capture_output=True, text=True, check=True)
    assert done.stdout.count("\n") == 1
    report = json.loads(done.stdout)
    parsed = parse_report(report, load_schema())
    assert parsed.records[0].identity["machine_id"] == Path("/etc/machine-id").read_text().strip()
    pretty = subprocess.run([str(agent), "collect", "--pretty"], capture_output=True, text=True, check=True)
    assert pretty.stdout.startswith("{\n  ")


def test_two_programs_on_one_port_of_their_own_addresses_are_two_programs() -> None:
    """Two snmpd on 127.0.0.78:16161 and 127.0.0.79:16161: the address tells them apart."""
    from agent.collectors.sockets import Process, long_running_programs

    processes = {p: Process(p, "snmpd", "/usr/sbin/snmpd", "root", 1, None) for p in (10, 11)}
    programs, _ = long_running_programs(
        processes, {10: {("udp", "127.0.0.78", 16161)}, 11: {("udp", "127.0.0.79", 16161), ("tcp", "::1", 705)}}
    )
    assert [p["key"] for p in programs] == [
        "listens:tcp/705,udp/127.0.0.79:16161",
        "listens:udp/127.0.0.78:16161",
    ]


def test_the_agent_keeps_the_source_name_it_first_reported_as(tmp_path: Path) -> None:
    """The server binds an agent token to its first source: a renamed host keeps speaking as it."""
    from agent.cli import SOURCE_NAME_FILE, _collect
    from agent.config import load_config

    config = load_config(environ={"CMDB_AGENT_SPOOL_DIR": str(tmp_path)})
    first = _collect(config, keep_source_name=True)
    kept = (tmp_path / SOURCE_NAME_FILE).read_text().strip()
    assert first["source"] == {"kind": "agent", "name": kept}
    assert kept.endswith(Path("/etc/machine-id").read_text().strip())
    (tmp_path / SOURCE_NAME_FILE).write_text("old-hostname/" + kept.split("/")[-1] + "\n")
    assert _collect(config, keep_source_name=True)["source"] == {
        "kind": "agent",
        "name": "old-hostname/" + kept.split("/")[-1],
    }
    assert _collect(config)["source"] == {"kind": "agent", "name": kept}  # `cmdb-agent collect` keeps nothing


def test_the_ports_of_a_bond_are_members_of_it() -> None:
    """sysfs as a bonded RHEL 9 server has it: two ports with IFF_SLAVE whose master is bond0, a
    bridge port (master, no IFF_SLAVE) that is no bond member."""
    system = recorded_web_server()
    nics = {"ens1f0": "3c:ec:ef:12:34:56", "ens1f1": "3c:ec:ef:12:34:56", "bond0": "3c:ec:ef:12:34:56", "veth1": None}
    for nic, mac in nics.items():
        system.addresses[nic] = [NicAddress("link", mac, None)] if mac else []
        system.stats[nic] = NicStats(True, 9000, 10000)
        system.files[f"/sys/class/net/{nic}/type"] = "1\n"
    for port in ("ens1f0", "ens1f1"):
        system.files[f"/sys/class/net/{port}/device/uevent"] = "DRIVER=ixgbe\n"
        system.files[f"/sys/class/net/{port}/flags"] = "0x1803\n"
        system.files[f"/sys/class/net/{port}/master/uevent"] = "DEVTYPE=bond\nINTERFACE=bond0\nIFINDEX=4\n"
    system.files["/sys/class/net/bond0/flags"] = "0x1403\n"
    system.files["/sys/class/net/veth1/flags"] = "0x1003\n"
    system.files["/sys/class/net/veth1/master/uevent"] = "DEVTYPE=bridge\nINTERFACE=docker0\nIFINDEX=9\n"
    facts = collect_facts(system)
    by_name = {n.name: n for n in facts["interfaces"].interfaces}
    assert {n: by_name[n].aggregate for n in nics} == {
        "ens1f0": "bond0",
        "ens1f1": "bond0",
        "bond0": None,
        "veth1": None,
    }
    assert (by_name["ens1f0"].physical, by_name["bond0"].physical) == (True, False)
    report = build_report(facts)
    members = sorted((r["from"], r["to"]) for r in report["relations"] if r["type"] == "MEMBER_OF")
    assert members == [("if:ens1f0", "if:bond0"), ("if:ens1f1", "if:bond0")]


def test_aggregate_of_reads_sysfs_flags_and_the_masters_name() -> None:
    from agent.parsers import aggregate_of

    assert aggregate_of("0x1803", "DEVTYPE=team\nINTERFACE=team0\n") == "team0"
    assert aggregate_of("0x1003", "DEVTYPE=bridge\nINTERFACE=br0\n") is None
    assert aggregate_of("0x1803", None) is None
    assert aggregate_of("junk", "INTERFACE=bond0") is None
