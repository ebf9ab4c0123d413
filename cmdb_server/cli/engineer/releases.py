"""``cmdb release``: plan one, see what it touches, and ask whether it is ready.

``release ready`` answers with its exit status (0 ready, 1 not), so a pipeline can gate
a deployment on it: ``cmdb release ready REL0001 && deploy``.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

import httpx

from cmdb_server.cli.engineer.api import get, post
from cmdb_server.cli.engineer.cis import resolve_cis
from cmdb_server.cli.engineer.impact import render_tree, services_line
from cmdb_server.cli.engineer.output import (
    instant,
    labelled,
    path_part,
    print_json,
    when,
)
from cmdb_server.cli.engineer.records import (
    add_history,
    add_paging,
    list_page,
    print_created,
    print_history,
    print_linked,
    record_commands,
)
from schema.itsm import ReleaseState

OPTIONS = {
    "name": "--name",
    "version": "--version",
    "targets": "--target",
    "changes": "--change",
    "window_start": "--start",
    "window_end": "--end",
}


def register(resources: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    command = record_commands(resources, "release", OPTIONS, "REL0001", ("create", "list"))

    create = command("create", "plan a release: changes bundled, CIs deployed to, window", _create)
    create.add_argument("--name", required=True)
    create.add_argument("--version", required=True)
    create.add_argument(
        "--target", dest="targets", nargs="+", action="extend", default=[], metavar="NAME-OR-UID",
        help="the CIs it deploys to (repeat or list several)",
    )  # fmt: skip
    create.add_argument(
        "--change", dest="changes", nargs="+", action="extend", default=[], metavar="ID",
        help="the changes it bundles (CHG0001 ...)",
    )  # fmt: skip
    create.add_argument("--start", required=True, type=instant, help="window start: ISO 8601, or now+2h, +1d")
    create.add_argument("--end", required=True, type=instant, help="window end")

    listing = command("list", "list releases", _list)
    listing.add_argument("--state", choices=[s.value for s in ReleaseState])
    add_paging(listing)
    add_history(command("show", "one release: state, window, changes, targets, history", _show))
    command("affected", "what a release touches (impact tree, services) and its readiness", _affected)
    command("ready", "is the release ready? exit 0 when it is, 1 with the reasons when not", _ready)


def _create(client: httpx.Client, args: argparse.Namespace) -> int:
    body = {
        "name": args.name,
        "version": args.version,
        "targets": resolve_cis(client, args.targets),
        "changes": args.changes,
        "window_start": args.start,
        "window_end": args.end,
    }
    release = post(client, "/api/v1/releases", body)
    print_created(release, "release", release["state"], f"cmdb release ready {release['id']}", args.json)
    return 0


def _list(client: httpx.Client, args: argparse.Namespace) -> int:
    columns: dict[str, Callable[[dict[str, Any]], str]] = {
        "ID": lambda r: r["id"],
        "STATE": lambda r: r["state"],
        "NAME": lambda r: r["name"],
        "VERSION": lambda r: r["version"],
        "WINDOW": lambda r: f"{when(r.get('window_start'))} - {when(r.get('window_end'))}",
    }
    return list_page(client, args, "releases", {"state": args.state}, columns)


def _show(client: httpx.Client, args: argparse.Namespace) -> int:
    release = get(client, f"/api/v1/releases/{path_part(args.id)}")
    if args.json:
        print_json(release)
        return 0
    print(f"{release['id']}  {release['name']} {release['version']}")
    labelled("state", release["state"])
    labelled("window", f"{when(release['window_start'])} - {when(release['window_end'])}")
    labelled("created", f"{when(release['created_at'])} by {release['created_by']}")
    bundled = [r["id"] for r in release["records"] if r["type"] == "BUNDLES"]
    labelled("changes", ", ".join(bundled) or "-")
    print_linked(release, "DEPLOYS_TO", "deploys to")
    print_history(client, "releases", release["id"], args.history)
    return 0


def _readiness(found: dict[str, Any]) -> int:
    if found["ready"]:
        print(f"{found['release']} is ready")
        return 0
    print(f"{found['release']} is not ready:")
    for problem in found["readiness_problems"]:
        print(f"  - {problem}")
    return 1


def _affected(client: httpx.Client, args: argparse.Namespace) -> int:
    found = get(client, f"/api/v1/releases/{path_part(args.id)}/affected")
    if args.json:
        print_json(found)
        return 0
    for line in render_tree(found["targets"], found["affected"].get("items") or []):
        print(line)
    print(
        f"\n{found['affected']['total']} CIs affected; business services: {services_line(found['business_services'])}"
    )
    _readiness(found)
    return 0


def _ready(client: httpx.Client, args: argparse.Namespace) -> int:
    found = get(client, f"/api/v1/releases/{path_part(args.id)}/affected")
    if args.json:
        print_json(found)
        return 0 if found["ready"] else 1
    return _readiness(found)
