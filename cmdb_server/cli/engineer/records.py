"""What changes, incidents and releases share on the command line: moving one along its
state machine, and showing its linked CIs, its records and its history."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from typing import Any

import httpx

from cmdb_server.cli.engineer.api import get, post
from cmdb_server.cli.engineer.cis import resolve_ci
from cmdb_server.cli.engineer.output import (
    JSON_FLAG,
    hint,
    labelled,
    path_part,
    print_json,
    print_page_footer,
    print_table,
    record_id,
    when,
)

Command = Callable[[str, str, Any], argparse.ArgumentParser]
"""Adds one subcommand: (name, help, the function that runs it) -> its parser."""


def record_commands(
    resources: argparse._SubParsersAction[argparse.ArgumentParser],
    kind: str,
    options: dict[str, str],
    example_id: str,
    without_id: tuple[str, ...],
) -> Command:
    """``cmdb <kind> ...``: every subcommand takes --json, and all but ``without_id`` (create,
    list) the record's id; ``options`` names the API's fields by this command's options."""
    group = resources.add_parser(kind, help=f"{kind}s").add_subparsers(dest="action", required=True)

    def command(name: str, help_text: str, run: Any) -> argparse.ArgumentParser:
        parser = group.add_parser(name, help=help_text, parents=[JSON_FLAG])
        parser.set_defaults(run=run, options=options)
        if name not in without_id:
            parser.add_argument("id", type=record_id, help=f"the {kind}'s id ({example_id})")
        return parser

    return command


def add_paging(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--ci", metavar="NAME-OR-UID", help="only those linked to this CI")
    parser.add_argument("--limit", type=int, default=50)
    parser.add_argument("--offset", type=int, default=0)


def list_page(
    client: httpx.Client,
    args: argparse.Namespace,
    collection: str,
    filters: dict[str, Any],
    columns: dict[str, Callable[[dict[str, Any]], str]],
) -> int:
    """``cmdb <record> list``: one page of ``/api/v1/{collection}`` filtered (and by ``--ci``),
    as a table of ``columns`` (header -> cell of a record), or the API's JSON."""
    ci = resolve_ci(client, args.ci) if args.ci else None
    page = get(client, f"/api/v1/{collection}", {**filters, "ci": ci, "limit": args.limit, "offset": args.offset})
    if args.json:
        print_json(page)
        return 0
    print_table([[cell(item) for cell in columns.values()] for item in page["items"]], list(columns))
    print_page_footer(page)
    return 0


def add_history(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--history", type=int, default=10, help="latest history events shown (default 10)")


def transition(client: httpx.Client, collection: str, record_id: str, to: str, note: str = "") -> dict[str, Any]:
    """``POST /api/v1/{collection}/{id}/transition``; a refusal names the states allowed."""
    path = f"/api/v1/{collection}/{path_part(record_id)}/transition"
    moved: dict[str, Any] = post(client, path, {"to": to, "note": note})
    return moved


def print_created(record: dict[str, Any], kind: str, state: str, next_step: str, as_json: bool) -> None:
    """The new record's id alone on stdout (``CHG=$(cmdb change create ...)``), the rest on stderr."""
    if as_json:
        print_json(record)
        return
    print(record["id"])
    hint(f"{kind} {record['id']} created ({state}); next: {next_step}")


def print_linked(record: dict[str, Any], link: str, label: str) -> None:
    for ci in (c for c in record.get("cis", []) if c["type"] == link):
        labelled(label, f"{ci['name'] or ci['uid']} ({ci['class']})  {ci['uid']}")
        label = ""


def print_history(
    client: httpx.Client, collection: str, record_id: str, limit: int, shown_above: frozenset[str] = frozenset()
) -> None:
    """The record's latest events, newest first (who, what, when); long values cut short."""
    if limit <= 0:
        return
    history = get(client, f"/api/v1/{collection}/{path_part(record_id)}/history")
    items = [e for e in history["items"] if e.get("field") not in shown_above][:limit]
    if items:
        print(f"\nhistory (latest {len(items)} of {history['total']})")
    for event in items:
        field = event.get("field")
        what = f"{field}: {_short(event.get('old'))} -> {_short(event.get('new'))}" if field else ""
        parts = [when(event["at"]), f"{event['kind']:<10}", what, f"({event.get('source') or '-'})"]
        print("  " + "  ".join(part for part in parts if part))


def _short(value: Any, width: int = 60) -> str:
    text = value if isinstance(value, str) else json.dumps(value)
    return text if len(text) <= width else text[: width - 3] + "..."
