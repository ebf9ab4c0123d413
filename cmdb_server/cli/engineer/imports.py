"""``cmdb import FILE...``: inventory agents' files, sent one by one to ``POST /inventory``.

A FusionInventory or OCS agent run with ``--local DIR`` writes its inventory to
``DIR/<DEVICEID>.ocs`` (XML, or zlib as sent); each file becomes the report of source
``inventory:<DEVICEID>``, as if the agent had sent it to ``/ocsinventory``. One file refused
stops nothing: every file gets its line, and the exit status is 1 if any was refused.
The token must be one that sends inventories (a collector token for ``inventory:*``, an admin's).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import httpx

from cmdb_server.cli.engineer.api import ApiCallError, call
from cmdb_server.cli.engineer.output import JSON_FLAG, print_json

IMPORT_TIMEOUT = 300.0
"""Seconds one file may take at the least: a host's first inventory (hundreds of packages)
is seconds of work on a busy server, beyond the usual --timeout."""


def register(resources: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    command = resources.add_parser(
        "import",
        help="send FusionInventory / OCS inventory files (--local output: *.ocs, *.xml), one report each",
        parents=[JSON_FLAG],
    )
    command.add_argument("files", nargs="+", metavar="FILE", type=Path)
    command.set_defaults(run=_import)


def _media_type(data: bytes) -> str | None:
    """The Content-Type of an inventory file by its first bytes; None when it is no inventory."""
    if data[:1] == b"\x78":
        return "application/x-compress-zlib"
    if data[:2] == b"\x1f\x8b":
        return "application/x-compress-gzip"
    if data.removeprefix(b"\xef\xbb\xbf").lstrip(b" \t\r\n")[:1] == b"<":
        return "application/xml"
    return None


def _line(summary: dict[str, Any]) -> str:
    counts = {"created": 0, "updated": 0, "unchanged": 0}
    for by_class in summary["classes"].values():
        for key in counts:
            counts[key] += by_class.get(key, 0)
    said = ", ".join(f"{n} {key}" for key, n in counts.items())
    return f"{summary['source']}: {said} CIs" + (" (replayed)" if summary.get("replayed") else "")


def _unchanged(summary: dict[str, Any]) -> bool:
    """The file said what its source's last report said: nothing created, changed or recorded."""
    classes = summary["classes"].values()
    return summary["events"] == 0 and all(c["created"] == c["updated"] == 0 for c in classes)


def _import(client: httpx.Client, args: argparse.Namespace) -> int:
    files: list[Path] = args.files
    done: list[dict[str, Any]] = []
    refused: list[dict[str, Any]] = []
    timeout = max(IMPORT_TIMEOUT, client.timeout.read or 0)
    for index, path in enumerate(files, start=1):
        where = f"[{index}/{len(files)}] {path}"
        try:
            data = path.read_bytes()
        except OSError as exc:
            refused.append({"file": str(path), "error": f"cannot read it: {exc.strerror or exc}"})
            print(f"{where}: refused: cannot read it: {exc.strerror or exc}", file=sys.stderr)
            continue
        media_type = _media_type(data)
        if media_type is None:
            refused.append({"file": str(path), "error": "not an inventory file (neither XML nor zlib nor gzip)"})
            print(f"{where}: refused: not an inventory file (neither XML nor zlib nor gzip)", file=sys.stderr)
            continue
        try:
            summary = call(
                client,
                "POST",
                "/api/v1/inventory",
                content=data,
                headers={"Content-Type": media_type},
                timeout=timeout,
            )
        except ApiCallError as exc:
            refused.append({"file": str(path), "status": exc.status, "error": exc.body or str(exc)})
            print(f"{where}: refused: {exc.explained()}", file=sys.stderr)
            if exc.status is None:  # the server is not there: the other files would fail alike
                break
            continue
        done.append({"file": str(path), "summary": summary})
        if not args.json:
            print(f"{where}: {_line(summary)}")
    unchanged = sum(1 for d in done if _unchanged(d["summary"]))
    if args.json:
        print_json({"applied": done, "refused": refused})
    print(
        f"{len(done)} of {len(files)} files applied ({unchanged} unchanged), {len(refused)} refused",
        file=sys.stderr,
    )
    return 1 if refused or len(done) < len(files) else 0
