"""Targets, credentials and secrets of the collector's configuration."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from discovery.config import ConfigError, parse_config
from discovery.results import ProtocolResult, Status, TargetResult
from discovery.secrets import Secret
from discovery.targets import TargetError, expand_targets


def test_targets_expand_cidr_ranges_and_lists_without_exclusions_or_repeats() -> None:
    assert expand_targets(["127.0.1.0/30"]) == ["127.0.1.1", "127.0.1.2"]
    assert expand_targets(["127.0.1.5-127.0.1.7", "127.0.1.6"], ["127.0.1.5"]) == ["127.0.1.6", "127.0.1.7"]
    assert expand_targets(["127.0.1.9/32"]) == ["127.0.1.9"]
    assert len(expand_targets(["127.0.2.0/24"])) == 254


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("127.0.0.300", "not an address"),
        ("127.0.0.9-127.0.0.1", "lower to a higher"),
        ("10.0.0.0/8", "more than"),
    ],
)
def test_bad_targets_are_named(spec: str, message: str) -> None:
    with pytest.raises(TargetError, match=message):
        expand_targets([spec])


def good_config() -> dict[str, object]:
    return {
        "name": "site-a",
        "server_url": "http://127.0.0.1:8000",
        "token_env": "COLLECTOR_TOKEN",
        "targets": {"include": ["127.0.3.0/29"], "exclude": ["127.0.3.1"]},
        "ssh": {"port": 2222, "credentials": [{"user": "cmdb", "key_file": "/etc/cmdb/id"}]},
        "snmp": {
            "credentials": [
                {"version": "2c", "community_env": "COMMUNITY"},
                {
                    "version": "3",
                    "user": "u",
                    "auth_protocol": "sha",
                    "auth_key_file": "AUTHFILE",
                    "priv_protocol": "aes",
                    "priv_key": "inline-priv",
                },
            ]
        },
    }


def test_a_full_config_with_secrets_from_environment_and_files(tmp_path: Path) -> None:
    raw = good_config()
    auth_file = tmp_path / "auth"
    auth_file.write_text("from-a-file\n")
    raw["snmp"]["credentials"][1]["auth_key_file"] = str(auth_file)  # type: ignore[index]
    config = parse_config(raw, {"COLLECTOR_TOKEN": "cmdb_tok", "COMMUNITY": "s3cret"})
    assert config.targets == ["127.0.3.2", "127.0.3.3", "127.0.3.4", "127.0.3.5", "127.0.3.6"]
    assert config.ssh.port == 2222
    assert config.token is not None
    assert config.token.reveal() == "cmdb_tok"
    v2c, v3 = config.snmp.credentials
    assert v2c.community is not None
    assert v2c.community.reveal() == "s3cret"
    assert v3.auth_key is not None
    assert v3.auth_key.reveal() == "from-a-file"
    assert "s3cret" not in repr(config)
    assert "from-a-file" not in repr(config)


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda c: c.update(colour="red"), "unknown key(s) colour"),
        (lambda c: c["snmp"]["credentials"][0].update(community_env="NOPE"), "NOPE is not set"),
        (lambda c: c["snmp"]["credentials"][1].update(auth_protocol="sha3"), "auth_protocol"),
        (lambda c: c["snmp"]["credentials"][0].update(version="1"), "is not 2c or 3"),
        (lambda c: c["ssh"]["credentials"][0].pop("key_file"), "give key_file or a password"),
        (lambda c: c["targets"].update(include=["nowhere"]), "not an address"),
        (lambda c: c.update(ssh={}, snmp={}), "no credentials"),
        (lambda c: c.update(concurrency=0), "concurrency must be at least 1"),
        (lambda c: c.update(probe_concurrency=0), "probe_concurrency must be at least 1"),
        (lambda c: c.update(processes=-1), "processes must be 0"),
    ],
)
def test_config_mistakes_are_named(mutate: object, message: str) -> None:
    raw = good_config()
    mutate(raw)  # type: ignore[operator]
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_config(raw, {"COLLECTOR_TOKEN": "t", "COMMUNITY": "c"})


def test_a_secret_never_prints() -> None:
    secret = Secret("hunter2")
    assert "hunter2" not in repr(secret)
    assert "hunter2" not in f"{secret}"


def test_a_target_result_shows_the_most_telling_failure() -> None:
    result = TargetResult(
        "127.0.0.9",
        [
            ProtocolResult("snmp", Status.NO_ANSWER, "silent"),
            ProtocolResult("ssh", Status.AUTH_FAILED, "bad key"),
        ],
    )
    assert result.status is Status.AUTH_FAILED
    assert result.reason == "ssh: bad key"
    assert (
        TargetResult("127.0.0.9", [ProtocolResult("ssh", Status.OK), ProtocolResult("snmp", Status.ERROR)]).status
        is Status.OK
    )


def test_a_sweep_shares_its_targets_among_processes_only_when_there_are_enough() -> None:
    from discovery.sweep import MIN_TARGETS_PER_PROCESS, process_count

    raw = good_config()
    raw["snmp"]["credentials"].pop()  # type: ignore[index]
    config = parse_config(raw, {"COLLECTOR_TOKEN": "t", "COMMUNITY": "c"})
    assert config.processes == 0
    assert len(config.targets) < MIN_TARGETS_PER_PROCESS
    assert process_count(config) == 1  # five targets: one process
    config.targets = [f"127.0.4.{i}" for i in range(1, 255)]
    assert process_count(config) == max(1, min(os.cpu_count() or 1, 254 // MIN_TARGETS_PER_PROCESS))
    config.processes = 3
    assert process_count(config) == 3
    config.targets = config.targets[:2]
    assert process_count(config) == 2  # never more processes than targets


def test_the_ca_file_of_the_config_is_read() -> None:
    raw = good_config()
    raw["snmp"]["credentials"].pop()  # type: ignore[index]  # (its key file is not there)
    env = {"COLLECTOR_TOKEN": "t", "COMMUNITY": "c"}
    assert parse_config(raw | {"ca_file": "/etc/cmdb-discover/ca.pem"}, env).ca_file == "/etc/cmdb-discover/ca.pem"
    assert parse_config(raw, env).ca_file is None
