"""Discovery parsers on recorded outputs: SSH command outputs and SNMP walks of real devices."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from agent.collectors.sockets import SocketsCollector
from discovery.snmp import parsers as snmp_parsers
from discovery.snmp.snmprec import load_snmprec, parse_snmprec
from discovery.ssh import parsers as ssh
from discovery.ssh.batch import Answer
from discovery.ssh.system import SshSystem
from tests.conftest import REPO_ROOT
from tests.integration.snmp_agents import SNMPSIM_DATA
from tests.snmp_digest import digest

SSH_FIXTURES = REPO_ROOT / "tests" / "fixtures" / "ssh"
SNMP_FIXTURES = REPO_ROOT / "tests" / "fixtures" / "snmp"


def ssh_parse(kind: str, raw: Path) -> Any:
    text = raw.read_text()
    if kind == "ip_addr":
        return ssh.parse_ip_addr_json(text)
    if kind == "ss_listeners":
        return ssh.parse_ss_listeners(text)
    if kind == "ss_established":
        return ssh.parse_ss_established(text, {22, 80, 8000, 7687})
    if kind == "df":
        return ssh.parse_df(text, ssh.parse_real_fs_types(raw.with_suffix(".filesystems").read_text()))
    if kind == "uname":
        return ssh.parse_uname(text)
    if kind == "ps":
        return {str(pid): info for pid, info in ssh.parse_ps(text).items()}
    if kind == "grep_files":
        return ssh.parse_grep_files(text)
    raise AssertionError(f"no parser for {kind}")


SSH_CASES = sorted(SSH_FIXTURES.glob("*/*.raw"))


@pytest.mark.parametrize("raw", SSH_CASES, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_ssh_parser_matches_the_recorded_expectation(raw: Path) -> None:
    assert ssh_parse(raw.parent.name, raw) == json.loads(raw.with_suffix(".json").read_text())


@pytest.mark.parametrize("kind", sorted({p.parent.name for p in SSH_CASES}))
def test_every_ssh_parser_has_two_recorded_systems(kind: str) -> None:
    assert len(list((SSH_FIXTURES / kind).glob("*.raw"))) >= 2


def test_the_server_end_of_a_connection_is_not_a_dependency() -> None:
    connections = ssh.parse_ss_established(
        (SSH_FIXTURES / "ss_established" / "debian-12-vm.raw").read_text(), {8000, 22}
    )
    assert ("cmdb-server", 41000) not in {(c["process_name"], c["remote_port"]) for c in connections}
    assert all(c["process_name"] != "sshd" for c in connections)


def test_ssh_finds_the_long_running_programs_as_the_agent_does() -> None:
    """A unit's processes are one program, a worker is its master's, a shell's pip is none."""
    outputs = {
        "listeners": "tcp LISTEN 0 511 0.0.0.0:80 0.0.0.0:* "
        'users:(("nginx",pid=902,fd=6),("nginx",pid=901,fd=6),("nginx",pid=900,fd=6))\n'
        'tcp LISTEN 0 128 127.0.0.1:8080 0.0.0.0:* users:(("gunicorn",pid=1200,fd=5))\n'
        'tcp LISTEN 0 244 127.0.0.1:5432 0.0.0.0:* users:(("postgres",pid=700,fd=7))\n',
        "established": '0 0 127.0.0.1:41000 127.0.0.1:8080 users:(("nginx",pid=901,fd=12))\n'
        '0 0 192.0.2.2:50000 198.51.100.7:5432 users:(("gunicorn",pid=1201,fd=9))\n'
        '0 0 192.0.2.2:52000 151.101.0.223:443 users:(("pip",pid=3100,fd=3))\n',
        "processes": (SSH_FIXTURES / "ps" / "debian-12-systemd.raw").read_text(),
        "files": (SSH_FIXTURES / "grep_files" / "debian-12-cgroup-v2.raw").read_text(),
    }
    system = SshSystem({name: Answer(text, 0) for name, text in outputs.items()})
    sockets = SocketsCollector().collect(system, {})
    assert [(p.key, p.listens) for p in sockets.programs] == [
        ("unit:app.service", "tcp/8080"),
        ("unit:nginx.service", "tcp/80"),
        ("unit:postgresql@15-main.service", "tcp/5432"),
    ]
    assert [(c.program, c.remote_port) for c in sockets.connections] == [
        ("unit:app.service", 5432),
        ("unit:nginx.service", 8080),
    ]


SNMP_CASES = sorted(SNMP_FIXTURES.glob("*.json"))


@pytest.mark.parametrize("expected_file", SNMP_CASES, ids=lambda p: p.stem)
def test_snmp_walk_of_a_recorded_device_gives_the_expected_facts(expected_file: Path) -> None:
    expected = json.loads(expected_file.read_text())
    walk = load_snmprec(SNMPSIM_DATA / expected.pop("recording"))
    assert json.loads(json.dumps(digest(walk))) == expected


def test_speed_saturated_in_if_speed_comes_from_if_high_speed_and_columns_may_be_missing() -> None:
    walk = parse_snmprec(
        "1.3.6.1.2.1.2.2.1.2.7|4|TenGigE0/0/0\n"
        "1.3.6.1.2.1.2.2.1.5.7|66|4294967295\n"
        "1.3.6.1.2.1.31.1.1.1.15.7|66|10000\n"
        "1.3.6.1.2.1.2.2.1.6.7|4x|\n"
        "1.3.6.1.2.1.2.2.1.8.7|2|7\n"
        "1.3.6.1.2.1.2.2.1.2.9|4|\n"
        "1.3.6.1.2.1.31.1.1.1.1.9|4|mgmt0\n"
    )
    interfaces = snmp_parsers.parse_interfaces(walk)
    assert interfaces[7]["speed_mbps"] == 10_000
    assert interfaces[7]["mac"] is None
    assert interfaces[7]["oper_status"] == "lowerLayerDown"  # kept, not flattened to down
    assert interfaces[9]["name"] == "mgmt0"
    assert interfaces[9]["if_index"] == 9  # from the OID suffix: no ifIndex column here


def test_broadcast_rows_of_ip_address_table_are_not_addresses() -> None:
    walk = parse_snmprec(
        "1.3.6.1.2.1.4.34.1.3.1.4.10.0.0.5|2|2\n"
        "1.3.6.1.2.1.4.34.1.4.1.4.10.0.0.5|2|1\n"  # unicast
        "1.3.6.1.2.1.4.34.1.3.1.4.10.0.0.255|2|2\n"
        "1.3.6.1.2.1.4.34.1.4.1.4.10.0.0.255|2|3\n"  # broadcast
        "1.3.6.1.2.1.4.34.1.3.2.16.32.1.13.184.0.0.0.0.0.0.0.0.0.0.0.1|2|2\n"
        "1.3.6.1.2.1.4.34.1.4.2.16.32.1.13.184.0.0.0.0.0.0.0.0.0.0.0.1|2|2\n"  # anycast: an address of its own
        "1.3.6.1.2.1.4.34.1.3.1.4.10.0.1.1|2|3\n"  # no ipAddressType: kept
    )
    found = [a["address"] for a in snmp_parsers.parse_ip_addresses(walk)]
    assert found == ["10.0.0.5", "10.0.1.1", "2001:db8::1"]


def test_lldp_ids_are_decoded_by_subtype() -> None:
    walk = parse_snmprec(
        "1.0.8802.1.1.2.1.4.1.1.4.0.5.1|2|5\n"
        "1.0.8802.1.1.2.1.4.1.1.5.0.5.1|4x|010a000001\n"
        "1.0.8802.1.1.2.1.4.1.1.6.0.5.1|2|3\n"
        "1.0.8802.1.1.2.1.4.1.1.7.0.5.1|4x|001122334455\n"
        "1.0.8802.1.1.2.1.4.1.1.8.0.5.1|4|uplink to core\n"
    )
    neighbour = snmp_parsers.parse_lldp(walk)["neighbours"][0]
    assert neighbour["chassis_id"] == "10.0.0.1"  # network address subtype
    assert neighbour["port_id"] == "00:11:22:33:44:55"  # MAC address subtype
    assert neighbour["local_port_num"] == 5


def test_cdp_device_id_loses_its_serial_suffix() -> None:
    walk = parse_snmprec(
        "1.3.6.1.4.1.9.9.23.1.2.1.1.6.10101.3|4|core-sw1.example.org(FOC1234X0YZ)\n"
        "1.3.6.1.4.1.9.9.23.1.2.1.1.7.10101.3|4|TenGigabitEthernet1/1\n"
        "1.3.6.1.4.1.9.9.23.1.2.1.1.3.10101.3|2|1\n"
        "1.3.6.1.4.1.9.9.23.1.2.1.1.4.10101.3|4x|0a000002\n"
    )
    neighbour = snmp_parsers.parse_cdp(walk)[0]
    assert neighbour["sys_name"] == "core-sw1.example.org"
    assert neighbour["management_ip"] == "10.0.0.2"
    assert neighbour["local_if_index"] == 10101


def test_the_ssh_batch_runs_every_command_between_markers_and_splits_back() -> None:
    from discovery.ssh.batch import MARKER, batch_script, split_batch
    from discovery.ssh.system import plan

    script = batch_script(
        {"quote": "printf '%s' \"it's\"", "tab": "printf 'a\\tb'", "fails": "ls /nonexistent-path"}, 30
    )
    done = subprocess.run(["sh", "-c", script], capture_output=True, text=True, check=True)
    assert split_batch(done.stdout) == {"quote": Answer("it's", 0), "tab": Answer("a\tb", 0), "fails": Answer("", 2)}
    commands = plan()
    script = batch_script(commands, 30)
    assert all(script.count(f"'{MARKER} {name}'") == 1 for name in commands)


def test_a_batch_command_that_may_block_is_cut_at_the_timeout_and_the_others_still_answer() -> None:
    from discovery.ssh.batch import batch_script, split_batch

    script = batch_script(
        {"stuck": "sleep 30; echo late", "failing": "false", "after": "echo ok"}, 1, may_block=frozenset({"stuck"})
    )
    done = subprocess.run(["sh", "-c", script], capture_output=True, text=True, check=True, timeout=20)
    assert split_batch(done.stdout) == {"stuck": Answer("", 124), "failing": Answer("", 1), "after": Answer("ok\n", 0)}


def test_an_indexed_walk_gives_the_same_columns_as_a_scan_of_the_whole_walk() -> None:
    from discovery.snmp import oids
    from discovery.snmp.values import IndexedWalk, column

    walk = load_snmprec(SNMPSIM_DATA / "network/switch/cisco-c3560.snmprec.bz2")
    indexed = IndexedWalk(walk)
    prefixes = [oids.IF_TABLE + ".1.2", oids.IF_X_TABLE + ".1.1", oids.ENT_PHYSICAL_TABLE + ".1.7", "1.3.6.1.2.1.2"]
    for prefix in [*prefixes, "1.3.6.1.2.1.2.2.1.1", "1.3.6.1.2.1.2.2.1.10", "9.9"]:
        assert column(indexed, prefix) == column(walk, prefix)
    # "1.3.6.1.2.1.2.2.1.1" must not take in column 10, nor 11...: a prefix ends at a dot.
    assert column(indexed, "1.3.6.1.2.1.2.2.1.1")
    assert all("." not in k for k in column(indexed, "1.3.6.1.2.1.2.2.1.1"))
