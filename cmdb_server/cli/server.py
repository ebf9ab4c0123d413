"""``cmdb-server``: run the API server, and manage API tokens.

    cmdb-server [--host H] [--port P] [--ssl-certfile F --ssl-keyfile K]
                                               run the API (same as `cmdb-server serve`)
    cmdb-server token create --role R [--name N] [--collector NAME] [--source KIND:NAME]
    cmdb-server token list
    cmdb-server token revoke TOKEN_ID
    cmdb-server token unbind TOKEN_ID

Settings come from the environment (CMDB_*, see deploy/.env.example); --host and --port
override CMDB_HOST and CMDB_PORT.
"""

from __future__ import annotations

import argparse
import asyncio
import atexit
import copy
import os
import shutil
import ssl
import sys
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

from neo4j import AsyncDriver
from neo4j.exceptions import Neo4jError, ServiceUnavailable
from pydantic import ValidationError

from cmdb_server import authority
from cmdb_server.config import Settings
from cmdb_server.db import create_driver
from cmdb_server.repositories import tokens
from schema import Role, console

T = TypeVar("T")

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"  # cmdb_server/metrics.py reads it (not imported here: see below)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="cmdb-server", description="The CMDB API server.")
    serve_options = argparse.ArgumentParser(add_help=False)
    serve_options.add_argument("--host", help="address to listen on (default: CMDB_HOST or 127.0.0.1)")
    serve_options.add_argument("--port", type=int, help="port to listen on (default: CMDB_PORT or 8000)")
    serve_options.add_argument("--workers", type=int, help="server processes (default: CMDB_WORKERS or 1)")
    serve_options.add_argument("--ssl-certfile", help="serve HTTPS with this PEM certificate (CMDB_SSL_CERTFILE)")
    serve_options.add_argument("--ssl-keyfile", help="its private key, PEM (CMDB_SSL_KEYFILE)")
    parser.add_argument("--host", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--workers", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--ssl-certfile", help=argparse.SUPPRESS)
    parser.add_argument("--ssl-keyfile", help=argparse.SUPPRESS)
    commands = parser.add_subparsers(dest="command")
    commands.add_parser("serve", parents=[serve_options], help="run the API server (the default)")

    token = commands.add_parser("token", help="manage API tokens").add_subparsers(dest="action", required=True)
    create = token.add_parser("create", help="create a token and print it (shown only once)")
    create.add_argument("--role", required=True, choices=[r.value for r in Role])
    create.add_argument("--name", default="", help="who or what the token is for")
    create.add_argument(
        "--collector",
        action="append",
        default=[],
        metavar="NAME",
        help="a collector token: speak for this cmdb-discover collector's sources (ssh:NAME@*, snmp:NAME@*)",
    )
    create.add_argument(
        "--source",
        action="append",
        default=[],
        metavar="KIND:NAME",
        help="a collector token: a source it may speak for ('snmp:dc1@*': every name starting 'dc1@')",
    )
    token.add_parser("list", help="list tokens (never their secrets)")
    revoke = token.add_parser("revoke", help="revoke a token by its id (an agent token lets go of its host)")
    revoke.add_argument("token_id")
    unbind = token.add_parser(
        "unbind", help="free an agent token's host and source, so that another agent token may take them"
    )
    unbind.add_argument("token_id")
    return parser


def _with_driver(settings: Settings, work: Callable[[AsyncDriver], Awaitable[T]]) -> T:
    async def run() -> T:
        async with create_driver(settings) as driver:
            return await work(driver)

    return asyncio.run(run())


def _token_command(args: argparse.Namespace, settings: Settings) -> int:
    db = settings.neo4j_database
    if args.action == "create":
        role = Role(args.role)
        name = args.name or f"{role.value} token"
        try:
            sources = _collector_sources(role, args.collector, args.source)
        except authority.SourcePatternError as exc:
            print(f"cmdb-server: {exc}", file=sys.stderr)
            return 2
        record, token = _with_driver(settings, lambda d: tokens.create_token(d, db, role, name, sources))
        scope = f", sources {' '.join(record.sources)}" if record.sources else ""
        print(f"# token id {record.token_id}, role {record.role.value}, name {record.name!r}{scope}", file=sys.stderr)
        print(token)
        return 0
    if args.action == "list":
        print("\t".join(("ID", "ROLE", "STATE", "CREATED", "NAME", "SPEAKS FOR")))
        for rec in _with_driver(settings, lambda d: tokens.list_tokens(d, db)):
            print("\t".join(_token_line(rec)))
        return 0
    action = tokens.revoke_token if args.action == "revoke" else tokens.unbind_token
    if _with_driver(settings, lambda d: action(d, db, args.token_id)):
        print(f"{'revoked' if args.action == 'revoke' else 'unbound'} {args.token_id}", file=sys.stderr)
        return 0
    what = "token" if args.action == "revoke" else "agent token (only an agent token is bound to a host)"
    print(f"cmdb-server: no active {what} with id {args.token_id!r}", file=sys.stderr)
    return 1


def _collector_sources(role: Role, collectors: list[str], patterns: list[str]) -> tuple[str, ...] | None:
    """The sources a new token speaks for: a collector's are required, other roles have none."""
    if role is not Role.COLLECTOR:
        if collectors or patterns:
            raise authority.SourcePatternError("--collector and --source are for collector tokens")
        return None
    sources = [s for name in collectors for s in authority.collector_sources(name)]
    sources += [authority.parse_source_pattern(p) for p in patterns]
    if not sources:
        raise authority.SourcePatternError(
            "a collector token is issued for its sources: --collector NAME (cmdb-discover's 'name') "
            "or --source KIND:NAME"
        )
    return tuple(dict.fromkeys(sources))


def _token_line(rec: tokens.TokenRecord) -> list[str]:
    """id, role, state, created, name, and what the token speaks for."""
    state = f"revoked {rec.revoked_at:%Y-%m-%d %H:%M}" if rec.revoked_at else "active"
    if rec.role is Role.COLLECTOR:
        scope = " ".join(rec.sources or authority.LEGACY_COLLECTOR_SOURCES)
    elif rec.role is Role.AGENT:
        scope = f"{rec.bound_source or '(not yet bound)'} host {rec.bound_ci_uid or '-'}"
        if rec.bound_inventory_source:
            scope += f" {rec.bound_inventory_source}"
    else:
        scope = "-"
    return [rec.token_id, rec.role.value, state, f"{rec.created_at:%Y-%m-%d %H:%M}", rec.name, scope]


def _metrics_directory(workers: int) -> None:
    """Several workers: their metrics in one directory, so a scrape (answered by any worker)
    adds them all up. Set before prometheus_client is imported here or in a worker; the
    operator's PROMETHEUS_MULTIPROC_DIR is used when set, emptied of an earlier run's files."""
    if workers <= 1:
        return
    directory = os.environ.get(MULTIPROC_ENV)
    if directory:
        Path(directory).mkdir(parents=True, exist_ok=True)
        for stale in Path(directory).glob("*.db"):
            stale.unlink(missing_ok=True)
    else:
        made = tempfile.mkdtemp(prefix="cmdb-metrics-")
        os.environ[MULTIPROC_ENV] = made
        atexit.register(shutil.rmtree, made, ignore_errors=True)


def _serve(args: argparse.Namespace, settings: Settings) -> int:
    workers = args.workers or settings.workers
    _metrics_directory(workers)

    import uvicorn

    from cmdb_server.app import create_app

    if args.host:
        settings.host = args.host
    if args.port:
        settings.port = args.port
    settings.ssl_certfile = args.ssl_certfile or settings.ssl_certfile
    settings.ssl_keyfile = args.ssl_keyfile or settings.ssl_keyfile
    problem = _tls_problem(settings)
    if problem:
        print(f"cmdb-server: {problem}", file=sys.stderr)
        return 2
    if workers > 1:
        # Each worker process builds its own app (and driver) from the environment.
        uvicorn.run(
            "cmdb_server.app:create_app",
            factory=True,
            workers=workers,
            host=settings.host,
            port=settings.port,
            log_level=settings.log_level,
            log_config=log_config(settings.log_level),
            ssl_certfile=settings.ssl_certfile,
            ssl_keyfile=settings.ssl_keyfile,
        )
    else:
        uvicorn.run(
            create_app(settings),
            host=settings.host,
            port=settings.port,
            log_level=settings.log_level,
            log_config=log_config(settings.log_level),
            ssl_certfile=settings.ssl_certfile,
            ssl_keyfile=settings.ssl_keyfile,
        )
    return 0


def log_config(level: str) -> dict[str, Any]:
    """uvicorn's logging, plus the server's own loggers (``cmdb_server.*``: refused inventories,
    background jobs, webhooks) at ``level`` with time and name, on stderr beside uvicorn's:
    without it they reach no handler, and only their warnings show, bare."""
    from uvicorn.config import LOGGING_CONFIG  # uvicorn loads only when the server runs

    config = copy.deepcopy(LOGGING_CONFIG)
    config["formatters"]["app"] = {
        "()": "uvicorn.logging.DefaultFormatter",
        "fmt": "%(asctime)s %(levelprefix)s %(name)s: %(message)s",
        "use_colors": False,
    }
    config["handlers"]["app"] = {"formatter": "app", "class": "logging.StreamHandler", "stream": "ext://sys.stderr"}
    config["loggers"]["cmdb_server"] = {"handlers": ["app"], "level": level.upper(), "propagate": False}
    return config


def _tls_problem(settings: Settings) -> str | None:
    """Why the TLS settings cannot work, checked before uvicorn's less telling errors."""
    if bool(settings.ssl_certfile) != bool(settings.ssl_keyfile):
        return "HTTPS needs both a certificate and its key: --ssl-certfile and --ssl-keyfile"
    if settings.ssl_certfile and settings.ssl_keyfile:
        try:
            ssl.create_default_context(ssl.Purpose.CLIENT_AUTH).load_cert_chain(
                settings.ssl_certfile, settings.ssl_keyfile
            )
        except (OSError, ssl.SSLError) as exc:
            return f"cannot use the certificate {settings.ssl_certfile} with the key {settings.ssl_keyfile}: {exc}"
    return None


def main(argv: list[str] | None = None) -> int:
    return console.run(lambda: _main(argv))


def _main(argv: list[str] | None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = Settings()
    except ValidationError as exc:
        print(f"cmdb-server: invalid settings in the environment:\n{exc}", file=sys.stderr)
        return 2
    if args.command == "token":
        try:
            return _token_command(args, settings)
        except ServiceUnavailable as exc:
            print(f"cmdb-server: Neo4j at {settings.neo4j_uri} is unreachable: {exc}", file=sys.stderr)
            return 1
        except Neo4jError as exc:
            print(f"cmdb-server: Neo4j refused: {exc.message}", file=sys.stderr)
            return 1
    return _serve(args, settings)


if __name__ == "__main__":
    sys.exit(main())
