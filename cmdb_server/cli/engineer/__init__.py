"""``cmdb``: the engineer's command line, a thin client of the API.

    cmdb ci list [--class C] [--status S] [--name TEXT] [--limit N] [--offset N]
    cmdb ci show NAME-OR-UID [--related N] [--history N]
    cmdb ci merge UID OTHER --reason TEXT [--force]  OTHER is the same thing as UID: merge it into UID
    cmdb ci split UID MERGED --reason TEXT           undo the merge of MERGED into UID
    cmdb impact NAME-OR-UID... [--depth N]           what fails with these CIs, and why

    cmdb change create --title T --target NAME-OR-UID... --start TIME --end TIME [--type T]
                       [--description D] [--implementation-plan FILE|-] [--backout-plan ...] [--test-plan ...]
    cmdb change list [--state S] [--type T] [--risk R] [--ci NAME-OR-UID]
    cmdb change show|submit|assess ID
    cmdb change approve ID [--comment C] [--override-reason R]     (change managers)
    cmdb change reject ID [--comment C]
    cmdb change start ID;  cmdb change complete ID [--failed] [--note N] [--close];  close|cancel ID

    cmdb incident open --title T --affected NAME-OR-UID... [--impact I --urgency U | --priority P]
                       [--assignee A] [--support-group G]
    cmdb incident list [--status S] [--priority P] [--assignee A] [--ci NAME-OR-UID]
    cmdb incident show|suspects [--hours H]|resolve [--note N] ID

    cmdb release create --name N --version V --target NAME-OR-UID... --change ID... --start TIME --end TIME
    cmdb release list|show|affected ID
    cmdb release ready ID                           exit 0 when ready, 1 (with the reasons) when not

    cmdb report service [--period YYYY-MM] [--html FILE | --pdf FILE]   the monthly service report
    cmdb import FILE...                             FusionInventory / OCS --local files (*.ocs), one report
                                                    each; exit 1 if any is refused (a collector token for
                                                    inventory:* or an admin's)

Every command takes ``--json`` (the API's JSON: its answer, or its error body on failure).
The exit status is 0 when the work was done, 1 when the server refused it or could not be
reached (the API's message and the fields at fault on stderr), 2 for a usage error.
``create`` and ``open`` print the new id alone on stdout: ``CHG=$(cmdb change create ...)``.

Reads CMDB_URL (default http://127.0.0.1:8000) and CMDB_TOKEN; --url and --token override.
Needs only the base install (httpx).
"""

from __future__ import annotations

import argparse
import os
import ssl
import sys

import httpx

from cmdb_server.cli.engineer import changes, cis, impact, imports, incidents, releases, reports
from cmdb_server.cli.engineer.api import ApiCallError
from cmdb_server.cli.engineer.cis import resolve_ci
from cmdb_server.cli.engineer.impact import render_tree
from cmdb_server.cli.engineer.output import print_json
from schema import console

__all__ = ["ApiCallError", "main", "render_tree", "resolve_ci"]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="cmdb", description="Query the CMDB and do the work it records.")
    parser.add_argument(
        "--url", type=_server_url, default=os.environ.get("CMDB_URL", "http://127.0.0.1:8000"), help="(or CMDB_URL)"
    )
    parser.add_argument("--token", default=os.environ.get("CMDB_TOKEN"), help="API token (or CMDB_TOKEN)")
    parser.add_argument("--timeout", type=float, default=10.0)
    parser.add_argument(
        "--ca-file",
        default=os.environ.get("CMDB_CA_FILE") or None,
        help="PEM CA bundle to verify an https server with (or CMDB_CA_FILE; default: the system's CAs)",
    )
    resources = parser.add_subparsers(dest="resource", required=True)
    for resource in (cis, impact, changes, incidents, releases, reports, imports):
        resource.register(resources)
    return parser


def _server_url(text: str) -> str:
    """An argparse type: an http(s) URL with a host (CMDB_URL is checked the same way)."""
    try:
        url = httpx.URL(text)
    except httpx.InvalidURL as exc:
        raise argparse.ArgumentTypeError(f"{text!r} is not a URL: {exc}") from None
    if url.scheme not in ("http", "https") or not url.host:
        raise argparse.ArgumentTypeError(f"{text!r} is not a server's URL: give http(s)://host:port")
    return text


def main(argv: list[str] | None = None) -> int:
    return console.run(lambda: _main(argv))


def _main(argv: list[str] | None) -> int:
    args = _parser().parse_args(argv)
    if not args.token:
        print("cmdb: no API token: set CMDB_TOKEN or pass --token", file=sys.stderr)
        return 2
    headers = {"Authorization": f"Bearer {args.token}"}
    try:
        verify = ssl.create_default_context(cafile=args.ca_file)
    except (OSError, ssl.SSLError) as exc:
        print(f"cmdb: cannot use --ca-file {args.ca_file}: {exc}", file=sys.stderr)
        return 2
    with httpx.Client(base_url=args.url, headers=headers, timeout=args.timeout, verify=verify) as client:
        try:
            status: int = args.run(client, args)
        except ApiCallError as exc:
            if args.json and exc.body is not None:
                print_json(exc.body)
            print(f"cmdb: {exc.explained(getattr(args, 'options', None))}", file=sys.stderr)
            return 1
    return status


if __name__ == "__main__":
    sys.exit(main())
