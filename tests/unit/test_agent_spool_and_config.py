"""The agent's spool keeps order and its bound; its configuration refuses mistakes by name."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import pytest

from agent.config import ConfigError, load_config
from agent.spool import Spool


def test_spool_returns_reports_oldest_first_and_drops_the_oldest_when_full(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    spool = Spool(tmp_path / "spool", max_reports=3)
    for i in range(5):
        spool.put({"report_id": f"r{i}", "n": i})
    pending = spool.pending()
    assert [json.loads(gzip.decompress(spool.read(p)))["n"] for p in pending] == [2, 3, 4]
    assert "dropping the oldest" in caplog.text
    spool.remove(pending[0])
    assert len(spool.pending()) == 2


def test_a_rejected_report_is_kept_aside_with_its_reason(tmp_path: Path) -> None:
    spool = Spool(tmp_path, max_reports=5)
    path = spool.put({"report_id": "bad"})
    kept = spool.reject(path, "HTTP 422: records[0].identity: missing identity keys")
    assert spool.pending() == []
    assert kept.exists()
    assert "missing identity keys" in kept.with_suffix(".reason.txt").read_text()


def test_failed_deliveries_are_counted_beside_a_report_and_go_with_it(tmp_path: Path) -> None:
    spool = Spool(tmp_path, max_reports=1)
    first = spool.put({"report_id": "first"})
    assert [spool.count_failure(first) for _ in range(3)] == [1, 2, 3]
    assert spool.pending() == [first]  # the count is no report
    spool.reject(first, "HTTP 500")
    second = spool.put({"report_id": "second"})
    assert spool.count_failure(second) == 1
    spool.put({"report_id": "third"})  # drops the oldest, its count with it
    assert sorted(p.name for p in tmp_path.iterdir() if p.is_file()) == [spool.pending()[0].name]


def test_config_file_then_environment(tmp_path: Path) -> None:
    file = tmp_path / "agent.toml"
    file.write_text('server_url = "http://cmdb:8000"\ninterval_seconds = 600\nspool_max_reports = 7\n')
    config = load_config(str(file), {"CMDB_AGENT_INTERVAL_SECONDS": "60", "CMDB_AGENT_TOKEN": "cmdb_x"})
    assert config.set_aside_after_failures == 3
    assert config.transport_settings().set_aside_after_failures == 3
    assert load_config(str(file), {"CMDB_AGENT_SET_ASIDE_AFTER_FAILURES": "0"}).set_aside_after_failures == 0
    assert config.server_url == "http://cmdb:8000"
    assert config.interval_seconds == 60.0
    assert config.spool_max_reports == 7
    assert config.resolved_token() == "cmdb_x"


@pytest.mark.parametrize(
    ("content", "environ", "message"),
    [
        ('sever_url = "http://x"\n', {}, "unknown setting(s) sever_url"),
        ("interval_seconds = 'hourly'\n", {}, "setting interval_seconds"),
        ("spool_max_reports = 0\n", {}, "spool_max_reports: must be at least 1"),
        ("set_aside_after_failures = -1\n", {}, "set_aside_after_failures: must be 0"),
        ("server_url = \n", {}, "agent.toml"),
        ("", {"CMDB_AGENT_RETRIES": "many"}, "setting retries"),
    ],
)
def test_config_mistakes_are_named(tmp_path: Path, content: str, environ: dict[str, str], message: str) -> None:
    file = tmp_path / "agent.toml"
    file.write_text(content)
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        load_config(str(file), environ)


def test_a_missing_token_is_a_clear_error(tmp_path: Path) -> None:
    file = tmp_path / "agent.toml"
    file.write_text("")
    config = load_config(str(file), {"CMDB_AGENT_TOKEN_FILE": str(tmp_path / "missing-token")})
    with pytest.raises(ConfigError, match="cannot read token_file"):
        config.resolved_token()


def test_the_content_digest_ignores_id_time_and_volatile_values_only() -> None:
    from agent.unchanged import content_digest, short_report
    from schema import load_schema

    schema = load_schema()
    host = {"ref": "host", "class": "LinuxHost", "identity": {"machine_id": "m"}, "attributes": {"cpu_cores": 2}}
    disk: dict[str, Any] = {
        "ref": "fs",
        "class": "Filesystem",
        "parent": "host",
        "identity": {"mount_point": "/"},
        "attributes": {"size_bytes": 10, "used_bytes": 1},
    }
    report: dict[str, Any] = {
        "version": 1,
        "report_id": "a",
        "source": {"kind": "agent", "name": "web1"},
        "collected_at": "2026-11-27T00:00:00+00:00",
        "records": [host, disk],
        "relations": [],
    }
    later = {**report, "report_id": "b", "collected_at": "2026-11-27T01:00:00+00:00"}
    later["records"] = [
        report["records"][0],
        {**report["records"][1], "attributes": {"size_bytes": 10, "used_bytes": 7}},
    ]
    assert content_digest(later, schema) == content_digest(report, schema)
    resized = {**later, "records": [host, {**disk, "attributes": {"size_bytes": 20}}]}
    assert content_digest(resized, schema) != content_digest(report, schema)
    short = short_report(later, schema, "f" * 64)
    assert short["same_as"] == "f" * 64
    assert short["records"] == [{"ref": "fs", "class": "Filesystem", "attributes": {"used_bytes": 7}}]
    assert (short["report_id"], short["collected_at"]) == ("b", "2026-11-27T01:00:00+00:00")


def test_a_ca_file_reaches_the_transport_and_an_unreadable_one_is_a_clear_error(tmp_path: Path) -> None:
    file = tmp_path / "agent.toml"
    file.write_text(f'token = "cmdb_x"\nca_file = "{tmp_path / "missing-ca.pem"}"\n')
    with pytest.raises(ConfigError, match="cannot use ca_file"):
        load_config(str(file), {}).transport_settings()
    not_pem = tmp_path / "not-a-ca.pem"
    not_pem.write_text("hello\n")
    with pytest.raises(ConfigError, match="cannot use ca_file"):
        load_config(str(file), {"CMDB_AGENT_CA_FILE": str(not_pem)}).transport_settings()
    assert load_config(str(file), {"CMDB_AGENT_CA_FILE": ""}).ca_file == ""
