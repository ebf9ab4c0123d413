"""``cmdb-discover``: sweep address ranges over SSH and SNMP and report what answers.

    cmdb-discover scan --config F [--dry-run]         one sweep of the configured targets
    cmdb-discover scan TARGET... [credential options] [--dry-run]   ad hoc, like nmap
    cmdb-discover run --config F                       a sweep every interval_seconds

Targets are addresses, CIDR ranges or first-last ranges. With --dry-run the reports are
printed, one JSON document per line, instead of being sent. Progress and the summary go
to standard error.

Exit status of scan: 0 when it collected at least one target (and delivered what it
collected), 3 when no target could be collected, 75 when reports wait in the spool for
the server, 1 a configuration problem.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from collections import Counter
from typing import Any, TextIO

from discovery.config import (
    ConfigError,
    DiscoveryConfig,
    SnmpCredential,
    SnmpSettings,
    SshCredential,
    SshSettings,
    load_config,
)
from discovery.results import Status, TargetResult
from discovery.secrets import Secret, SecretError, read_secret
from discovery.sweep import run_sweep
from discovery.targets import TargetError, expand_targets
from schema import console

log = logging.getLogger("cmdb-discover")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="cmdb-discover", description="Discover hosts and network devices.")
    parser.add_argument("-v", "--verbose", action="store_true")
    commands = parser.add_subparsers(dest="command", required=True)
    for name, text in (("scan", "sweep once"), ("run", "sweep every interval_seconds of the config")):
        command = commands.add_parser(name, help=text)
        command.add_argument("targets", nargs="*", help="addresses, CIDR ranges, first-last ranges")
        command.add_argument("--config", help="TOML config (deploy/discovery/discover.toml.example)")
        command.add_argument("--dry-run", action="store_true", help="print the reports, one per line; send nothing")
        command.add_argument("--exclude", action="append", default=[], help="addresses or ranges to leave out")
        command.add_argument("--show-all", action="store_true", help="list silent targets in the summary too")
        command.add_argument("--name", help="this collector's name (default: the config's, or 'collector')")
        command.add_argument("--server", help="CMDB API URL (overrides the config)")
        command.add_argument("--token-env", help="environment variable holding the collector token")
        command.add_argument("--token-file", help="file holding the collector token")
        command.add_argument(
            "--ca-file", help="PEM CA bundle to verify an https server with (default: CMDB_CA_FILE, the config's)"
        )
        command.add_argument("--timeout", type=float, help="seconds per SNMP request and SSH connection")
        command.add_argument("--concurrency", type=int, help="targets scanned at once")
        command.add_argument(
            "--processes",
            type=int,
            help="worker processes sharing the targets (default 0: one per CPU, 16+ targets each)",
        )
        snmp = command.add_argument_group("SNMP (ad hoc)")
        snmp.add_argument("--snmp-community", action="append", default=[], help="a v2c community (repeatable)")
        snmp.add_argument("--snmp-community-env", action="append", default=[], help="variable holding one")
        snmp.add_argument("--snmp-user", help="SNMPv3 user")
        snmp.add_argument("--snmp-auth-protocol", default="sha", help="sha (default), sha256, md5...")
        snmp.add_argument("--snmp-auth-key-env", help="variable holding the v3 authentication key")
        snmp.add_argument("--snmp-priv-protocol", default="aes", help="aes (default), aes256, des...")
        snmp.add_argument("--snmp-priv-key-env", help="variable holding the v3 privacy key")
        snmp.add_argument("--snmp-port", type=int, help="SNMP port (default 161)")
        ssh = command.add_argument_group("SSH (ad hoc)")
        ssh.add_argument("--ssh-user", help="user to log in as")
        ssh.add_argument("--ssh-key", help="private key file")
        ssh.add_argument("--ssh-password-env", help="variable holding the password")
        ssh.add_argument("--ssh-port", type=int, help="SSH port (default 22)")
        ssh.add_argument("--known-hosts", help="known-hosts file to verify host keys against")
        ssh.add_argument("--trust-on-first-use", action="store_true", help="record unknown host keys")
    return parser


def _ad_hoc_config(args: argparse.Namespace) -> DiscoveryConfig:
    if not args.targets:
        raise ConfigError("give targets, or --config with a [targets] table")
    snmp_credentials = [
        SnmpCredential(f"community {i + 1}", "2c", Secret(c)) for i, c in enumerate(args.snmp_community)
    ]
    for variable in args.snmp_community_env:
        secret = read_secret({"community_env": variable}, "community", "--snmp-community-env")
        snmp_credentials.append(SnmpCredential(f"${variable}", "2c", secret))
    if args.snmp_user:
        auth = (
            read_secret({"k_env": args.snmp_auth_key_env}, "k", "--snmp-auth-key-env")
            if args.snmp_auth_key_env
            else None
        )
        priv = (
            read_secret({"k_env": args.snmp_priv_key_env}, "k", "--snmp-priv-key-env")
            if args.snmp_priv_key_env
            else None
        )
        snmp_credentials.append(
            SnmpCredential(
                args.snmp_user,
                "3",
                user=args.snmp_user,
                auth_protocol=args.snmp_auth_protocol if auth else None,
                auth_key=auth,
                priv_protocol=args.snmp_priv_protocol if priv else None,
                priv_key=priv,
            )
        )
    ssh_credentials = []
    if args.ssh_user:
        password = (
            read_secret({"p_env": args.ssh_password_env}, "p", "--ssh-password-env") if args.ssh_password_env else None
        )
        if password is None and not args.ssh_key:
            raise ConfigError("--ssh-user needs --ssh-key or --ssh-password-env")
        ssh_credentials.append(SshCredential(args.ssh_user, args.ssh_user, key_file=args.ssh_key, password=password))
    if not snmp_credentials and not ssh_credentials:
        raise ConfigError("no credentials: give --snmp-community, --snmp-user or --ssh-user (or --config)")
    return DiscoveryConfig(
        targets=expand_targets(args.targets, args.exclude),
        ssh=SshSettings(credentials=ssh_credentials),
        snmp=SnmpSettings(credentials=snmp_credentials),
    )


def _config(args: argparse.Namespace) -> DiscoveryConfig:
    try:
        if args.config:
            config = load_config(args.config)
            if args.targets:
                config.targets = expand_targets(args.targets, args.exclude)
            elif args.exclude:
                config.targets = [t for t in config.targets if t not in set(expand_targets(args.exclude))]
        else:
            config = _ad_hoc_config(args)
    except (TargetError, SecretError) as exc:
        raise ConfigError(str(exc)) from None
    if args.name:
        config.name = args.name
    if args.server:
        config.server_url = args.server
    ca_file = args.ca_file or os.environ.get("CMDB_CA_FILE")
    if ca_file:
        config.ca_file = ca_file
    if config.ca_file:
        from agent.transport import TransportConfigError, tls_context

        try:
            tls_context(config.ca_file)
        except TransportConfigError as exc:
            raise ConfigError(str(exc)) from None
    if args.token_env or args.token_file:
        key = "token_env" if args.token_env else "token_file"
        try:
            config.token = read_secret({key: args.token_env or args.token_file}, "token", f"--{key.replace('_', '-')}")
        except SecretError as exc:
            raise ConfigError(str(exc)) from None
    if args.timeout:
        config.snmp.timeout_seconds = config.ssh.timeout_seconds = args.timeout
    if args.concurrency is not None:
        if args.concurrency < 1:
            raise ConfigError("--concurrency must be at least 1")
        config.concurrency = args.concurrency
    if args.processes is not None:
        if args.processes < 0:
            raise ConfigError("--processes must be 0 (one per CPU) or more")
        config.processes = args.processes
    if args.snmp_port:
        config.snmp.port = args.snmp_port
    if args.ssh_port:
        config.ssh.port = args.ssh_port
    if args.known_hosts:
        config.ssh.known_hosts = args.known_hosts
    if args.trust_on_first_use:
        config.ssh.trust_on_first_use = True
    if args.dry_run:
        config.ssh.record_host_keys = False  # a dry run changes nothing, the known-hosts file included
    if not args.dry_run and (not config.server_url or config.token is None):
        raise ConfigError("to send reports, set server_url and a token (token_file / token_env), or use --dry-run")
    return config


class Progress:
    """One line on a terminal, rewritten as targets finish; silent when not a terminal."""

    def __init__(self, total: int, stream: TextIO = sys.stderr) -> None:
        self.total = total
        self.stream = stream
        self.counts: Counter[Status] = Counter()
        self.live = stream.isatty()

    def __call__(self, result: TargetResult) -> None:
        self.counts[result.status] += 1
        if self.live:
            done = sum(self.counts.values())
            parts = ", ".join(f"{n} {s.value}" for s, n in self.counts.most_common())
            self.stream.write(f"\r\x1b[K{done}/{self.total} scanned: {parts}")
            self.stream.flush()

    def close(self) -> None:
        if self.live:
            self.stream.write("\r\x1b[K")


def print_summary(
    results: list[TargetResult], seconds: float, show_all: bool = False, stream: TextIO = sys.stderr
) -> None:
    interesting = [r for r in results if show_all or r.status is not Status.NO_ANSWER]
    silent = len(results) - len(interesting)
    if interesting:
        width = max(len(r.address) for r in interesting)
        stream.write(f"{'TARGET'.ljust(width)}  {'STATUS':<16}  DETAIL\n")
        for result in interesting:
            if result.status is Status.OK:
                detail = "; ".join(f"{p.protocol}: {p.reason}" for p in result.protocols if p.status is Status.OK)
            else:
                detail = result.reason
            stream.write(f"{result.address.ljust(width)}  {result.status.value:<16}  {detail}\n")
    counts = Counter(r.status.value for r in results)
    summary = ", ".join(f"{n} {s}" for s, n in counts.most_common())
    stream.write(f"{len(results)} target(s) in {seconds:.1f}s: {summary}")
    stream.write(f" ({silent} silent, not listed)\n" if silent and interesting else "\n")


def _deliver(config: DiscoveryConfig, reports: list[dict[str, Any]]) -> int:
    # Here, not at the top: httpx is a sixth of a second to import, and a dry run never sends.
    from agent.spool import Spool
    from agent.transport import Transport, TransportSettings

    assert config.server_url is not None
    assert config.token is not None
    spool = Spool(config.spool_dir, max_reports=max(1000, len(reports) * 2))
    for report in reports:
        spool.put(report)
    transport = Transport(
        TransportSettings(
            server_url=config.server_url,
            token=config.token.reveal(),
            user_agent="cmdb-discover",
            ca_file=config.ca_file,
        )
    )
    try:
        result = transport.flush(spool)
    finally:
        transport.close()
    sys.stderr.write(f"sent {len(result.delivered)} report(s)")
    if result.pending:
        sys.stderr.write(f"; {result.pending} wait in {config.spool_dir}: {result.last_error}")
    if result.rejected:
        sys.stderr.write(f"; {len(result.rejected)} rejected (kept in {config.spool_dir}/rejected)")
    sys.stderr.write("\n")
    return 0 if not result.pending and not result.rejected else 75


EXIT_NOTHING_COLLECTED = 3
"""A sweep in which no target could be collected: every one failed or was silent."""


def scan_once(config: DiscoveryConfig, dry_run: bool, show_all: bool = False) -> int:
    progress = Progress(len(config.targets))
    started = time.monotonic()
    results = run_sweep(config, progress)
    progress.close()
    reports = [report for result in results for report in result.reports]
    if dry_run:
        for report in reports:
            sys.stdout.write(json.dumps(report) + "\n")
        sys.stdout.flush()
    print_summary(results, time.monotonic() - started, show_all)
    if not reports:
        return EXIT_NOTHING_COLLECTED
    return 0 if dry_run else _deliver(config, reports)


def main(argv: list[str] | None = None) -> int:
    return console.run(lambda: _main(argv))


def _main(argv: list[str] | None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING, format="%(levelname)s %(message)s")
    try:
        config = _config(args)
    except ConfigError as exc:
        print(f"cmdb-discover: {exc}", file=sys.stderr)
        return 1
    if args.command == "scan":
        return scan_once(config, args.dry_run, args.show_all)
    try:
        while True:
            scan_once(config, args.dry_run, args.show_all)
            time.sleep(config.interval_seconds)
    except KeyboardInterrupt:
        return 0


if __name__ == "__main__":
    sys.exit(main())
