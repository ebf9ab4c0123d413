"""The collector's configuration: targets, credential sets, ports, timeouts, where to report.

Read from a TOML file (deploy/discovery/discover.toml.example documents every key) or
built from command-line options for ad-hoc scans. Secrets stay ``Secret`` objects.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from discovery.secrets import Secret, SecretError, read_secret
from discovery.targets import TargetError, expand_targets

SNMP_AUTH_PROTOCOLS = ("sha", "sha224", "sha256", "sha384", "sha512", "md5")
SNMP_PRIV_PROTOCOLS = ("aes", "aes192", "aes256", "des")


class ConfigError(ValueError):
    pass


@dataclass(frozen=True)
class SshCredential:
    name: str
    user: str
    key_file: str | None = None
    password: Secret | None = None


@dataclass(frozen=True)
class SnmpCredential:
    name: str
    version: str  # "2c" or "3"
    community: Secret | None = None
    user: str | None = None
    auth_protocol: str | None = None
    auth_key: Secret | None = None
    priv_protocol: str | None = None
    priv_key: Secret | None = None


@dataclass
class SshSettings:
    port: int = 22
    timeout_seconds: float = 5.0
    command_timeout_seconds: float = 30.0
    known_hosts: str | None = None
    trust_on_first_use: bool = False
    credentials: list[SshCredential] = field(default_factory=list)
    # Whether trust on first use writes the keys it trusts to known_hosts: not in a dry run,
    # which changes nothing (it still trusts them for its own connections).
    record_host_keys: bool = True


@dataclass
class SnmpSettings:
    port: int = 161
    timeout_seconds: float = 2.0
    retries: int = 1
    credentials: list[SnmpCredential] = field(default_factory=list)


@dataclass
class DiscoveryConfig:
    targets: list[str]
    name: str = "collector"
    server_url: str | None = None
    token: Secret | None = None
    ca_file: str | None = None  # PEM CA bundle for an https server_url (default: the system's CAs)
    concurrency: int = 32
    # Worker processes sharing the targets (0: one per CPU when there are enough targets).
    # SNMP decoding and SSH crypto are CPU work in Python, which one process runs on one core.
    processes: int = 0
    # Addresses probed at once (a silent one costs a timeout, not CPU): see discovery.sweep.
    probe_concurrency: int = 256
    network_domain: str = "global"
    interval_seconds: float = 3600.0
    spool_dir: str = "/var/spool/cmdb-discover"
    ssh: SshSettings = field(default_factory=SshSettings)
    snmp: SnmpSettings = field(default_factory=SnmpSettings)


def _table(raw: Mapping[str, Any], key: str, where: str) -> Mapping[str, Any]:
    value = raw.get(key, {})
    if not isinstance(value, Mapping):
        raise ConfigError(f"{where}{key}: must be a table")
    return value


def _check_keys(table: Mapping[str, Any], allowed: set[str], where: str) -> None:
    unknown = set(table) - allowed
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}; known: {', '.join(sorted(allowed))}")


def _ssh_credential(raw: Mapping[str, Any], where: str, env: Mapping[str, str] | None) -> SshCredential:
    _check_keys(raw, {"name", "user", "key_file", "password", "password_env", "password_file"}, where)
    if "user" not in raw:
        raise ConfigError(f"{where}: missing 'user'")
    password = read_secret(raw, "password", where, env)
    if password is None and "key_file" not in raw:
        raise ConfigError(f"{where}: give key_file or a password (password, password_env, password_file)")
    return SshCredential(
        name=str(raw.get("name", raw["user"])),
        user=str(raw["user"]),
        key_file=str(raw["key_file"]) if "key_file" in raw else None,
        password=password,
    )


def _snmp_credential(raw: Mapping[str, Any], where: str, env: Mapping[str, str] | None) -> SnmpCredential:
    version = str(raw.get("version", "2c"))
    if version == "2c":
        _check_keys(raw, {"name", "version", "community", "community_env", "community_file"}, where)
        community = read_secret(raw, "community", where, env)
        if community is None:
            raise ConfigError(f"{where}: an SNMP v2c credential needs community (or community_env, community_file)")
        return SnmpCredential(name=str(raw.get("name", "v2c")), version="2c", community=community)
    if version != "3":
        raise ConfigError(f"{where}.version: {version!r} is not 2c or 3")
    keys = {"name", "version", "user", "auth_protocol", "priv_protocol"}
    keys |= {f"{k}{s}" for k in ("auth_key", "priv_key") for s in ("", "_env", "_file")}
    _check_keys(raw, keys, where)
    if "user" not in raw:
        raise ConfigError(f"{where}: an SNMPv3 credential needs 'user'")
    auth_protocol = str(raw["auth_protocol"]).lower() if "auth_protocol" in raw else None
    priv_protocol = str(raw["priv_protocol"]).lower() if "priv_protocol" in raw else None
    if auth_protocol is not None and auth_protocol not in SNMP_AUTH_PROTOCOLS:
        raise ConfigError(f"{where}.auth_protocol: {auth_protocol!r} is not one of {', '.join(SNMP_AUTH_PROTOCOLS)}")
    if priv_protocol is not None and priv_protocol not in SNMP_PRIV_PROTOCOLS:
        raise ConfigError(f"{where}.priv_protocol: {priv_protocol!r} is not one of {', '.join(SNMP_PRIV_PROTOCOLS)}")
    auth_key = read_secret(raw, "auth_key", where, env)
    priv_key = read_secret(raw, "priv_key", where, env)
    if (auth_protocol is None) != (auth_key is None):
        raise ConfigError(f"{where}: auth_protocol and auth_key go together")
    if (priv_protocol is None) != (priv_key is None) or (priv_protocol and not auth_protocol):
        raise ConfigError(f"{where}: priv_protocol and priv_key go together, and need authentication")
    return SnmpCredential(
        name=str(raw.get("name", raw["user"])),
        version="3",
        user=str(raw["user"]),
        auth_protocol=auth_protocol,
        auth_key=auth_key,
        priv_protocol=priv_protocol,
        priv_key=priv_key,
    )


def parse_config(raw: Mapping[str, Any], env: Mapping[str, str] | None = None) -> DiscoveryConfig:
    top = {"name", "server_url", "token", "token_env", "token_file", "concurrency", "processes", "network_domain"}
    top |= {"probe_concurrency", "ca_file"}
    top |= {"interval_seconds", "spool_dir", "targets", "ssh", "snmp"}
    _check_keys(raw, top, "config")
    try:
        concurrency = int(raw.get("concurrency", 32))
        if concurrency < 1:
            raise ConfigError("config: concurrency must be at least 1")
        probe_concurrency = int(raw.get("probe_concurrency", 256))
        if probe_concurrency < 1:
            raise ConfigError("config: probe_concurrency must be at least 1")
        processes = int(raw.get("processes", 0))
        if processes < 0:
            raise ConfigError("config: processes must be 0 (one per CPU) or more")
        targets_table = _table(raw, "targets", "")
        _check_keys(targets_table, {"include", "exclude"}, "targets")
        targets = expand_targets(targets_table.get("include", []), targets_table.get("exclude", []))
        ssh_raw = _table(raw, "ssh", "")
        _check_keys(
            ssh_raw,
            {
                "port",
                "timeout_seconds",
                "command_timeout_seconds",
                "known_hosts",
                "trust_on_first_use",
                "credentials",
            },
            "ssh",
        )
        ssh = SshSettings(
            port=int(ssh_raw.get("port", 22)),
            timeout_seconds=float(ssh_raw.get("timeout_seconds", 5.0)),
            command_timeout_seconds=float(ssh_raw.get("command_timeout_seconds", 30.0)),
            known_hosts=ssh_raw.get("known_hosts"),
            trust_on_first_use=bool(ssh_raw.get("trust_on_first_use", False)),
            credentials=[
                _ssh_credential(c, f"ssh.credentials[{i}]", env) for i, c in enumerate(ssh_raw.get("credentials", []))
            ],
        )
        snmp_raw = _table(raw, "snmp", "")
        _check_keys(snmp_raw, {"port", "timeout_seconds", "retries", "credentials"}, "snmp")
        snmp = SnmpSettings(
            port=int(snmp_raw.get("port", 161)),
            timeout_seconds=float(snmp_raw.get("timeout_seconds", 2.0)),
            retries=int(snmp_raw.get("retries", 1)),
            credentials=[
                _snmp_credential(c, f"snmp.credentials[{i}]", env)
                for i, c in enumerate(snmp_raw.get("credentials", []))
            ],
        )
        token = read_secret(raw, "token", "config", env)
    except (TargetError, SecretError) as exc:
        raise ConfigError(str(exc)) from None
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"config: {exc}") from None
    if not ssh.credentials and not snmp.credentials:
        raise ConfigError("config: no credentials: add [[ssh.credentials]] or [[snmp.credentials]]")
    return DiscoveryConfig(
        targets=targets,
        name=str(raw.get("name", "collector")),
        server_url=raw.get("server_url"),
        token=token,
        ca_file=str(raw["ca_file"]) if raw.get("ca_file") else None,
        concurrency=concurrency,
        processes=processes,
        probe_concurrency=probe_concurrency,
        network_domain=str(raw.get("network_domain", "global")),
        interval_seconds=float(raw.get("interval_seconds", 3600.0)),
        spool_dir=str(raw.get("spool_dir", "/var/spool/cmdb-discover")),
        ssh=ssh,
        snmp=snmp,
    )


def load_config(path: str, env: Mapping[str, str] | None = None) -> DiscoveryConfig:
    try:
        raw = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: {exc}") from None
    return parse_config(raw, env)
