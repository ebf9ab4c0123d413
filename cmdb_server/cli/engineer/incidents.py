"""``cmdb incident``: open one on the CIs it affects, see what changed under it, resolve it."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

import httpx

from cmdb_server.cli.engineer.api import get, post
from cmdb_server.cli.engineer.cis import resolve_cis
from cmdb_server.cli.engineer.output import (
    hint,
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
    transition,
)
from schema.itsm import IncidentImpact, IncidentPriority, IncidentStatus, IncidentUrgency

OPTIONS = {
    "title": "--title",
    "affected": "--affected",
    "impact": "--impact",
    "urgency": "--urgency",
    "priority": "--priority",
    "assignee": "--assignee",
    "support_group": "--support-group",
    "problem": "--problem",
    "opened_at": "--opened",
    "note": "--note",
    "hours": "--hours",
    "depth": "--depth",
}
EVENTS_SHOWN = 3
"""Evidence lines per suspect; --json has them all."""


def register(resources: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    command = record_commands(resources, "incident", OPTIONS, "INC0001", ("open", "list"))

    opening = command("open", "open an incident on the CIs it affects", _open)
    opening.add_argument("--title", required=True)
    opening.add_argument(
        "--affected", required=True, nargs="+", action="extend", metavar="NAME-OR-UID",
        help="the CIs it affects (repeat or list several)",
    )  # fmt: skip
    opening.add_argument("--impact", choices=[i.value for i in IncidentImpact], help="with --urgency: the priority")
    opening.add_argument("--urgency", choices=[u.value for u in IncidentUrgency])
    opening.add_argument(
        "--priority", choices=[p.value for p in IncidentPriority], help="instead of --impact and --urgency"
    )
    opening.add_argument("--assignee")
    opening.add_argument("--support-group")
    opening.add_argument("--problem", help="the problem it is an instance of (PRB0001)")
    opening.add_argument("--opened", type=instant, help="when it started, if before now (ISO 8601, now-2h)")

    listing = command("list", "list incidents", _list)
    listing.add_argument("--status", choices=[s.value for s in IncidentStatus])
    listing.add_argument("--priority", choices=[p.value for p in IncidentPriority])
    listing.add_argument("--assignee")
    listing.add_argument("--support-group")
    add_paging(listing)

    add_history(command("show", "one incident: priority, status, affected CIs, history", _show))
    suspects = command("suspects", "what changed upstream of the affected CIs before it opened", _suspects)
    suspects.add_argument("--hours", type=float, default=72, help="how far back to look (default 72)")
    suspects.add_argument("--depth", type=int, help="how many relations upstream (the server's default)")
    resolve = command("resolve", "resolve an incident", _resolve)
    resolve.add_argument("--note", default="", help="what fixed it")


def _open(client: httpx.Client, args: argparse.Namespace) -> int:
    given = {
        "impact": args.impact,
        "urgency": args.urgency,
        "priority": args.priority,
        "assignee": args.assignee,
        "support_group": args.support_group,
        "problem": args.problem,
        "opened_at": args.opened,
    }
    body = {
        "title": args.title,
        "affected": resolve_cis(client, args.affected),
        **{k: v for k, v in given.items() if v is not None},
    }
    incident = post(client, "/api/v1/incidents", body)
    state = f"{incident['status']}, priority {incident['priority']}"
    print_created(incident, "incident", state, f"cmdb incident suspects {incident['id']}", args.json)
    return 0


def _list(client: httpx.Client, args: argparse.Namespace) -> int:
    filters = {
        "status": args.status,
        "priority": args.priority,
        "assignee": args.assignee,
        "support_group": args.support_group,
    }
    columns: dict[str, Callable[[dict[str, Any]], str]] = {
        "ID": lambda i: i["id"],
        "STATUS": lambda i: i["status"],
        "PRIORITY": lambda i: i["priority"],
        "OPENED": lambda i: when(i["opened_at"]),
        "ASSIGNEE": lambda i: i.get("assignee") or "-",
        "TITLE": lambda i: i["title"],
    }
    return list_page(client, args, "incidents", filters, columns)


def _show(client: httpx.Client, args: argparse.Namespace) -> int:
    incident = get(client, f"/api/v1/incidents/{path_part(args.id)}")
    if args.json:
        print_json(incident)
        return 0
    print(f"{incident['id']}  {incident['title']}")
    labelled("status", incident["status"])
    rated = f" (impact {incident['impact']}, urgency {incident['urgency']})" if incident.get("impact") else ""
    labelled("priority", f"{incident['priority']}{rated}")
    labelled("opened", f"{when(incident['opened_at'])} by {incident['created_by']}")
    for key in ("assignee", "support_group", "note"):
        if incident.get(key):
            labelled(key.replace("_", " "), incident[key])
    if incident.get("resolved_at"):
        labelled("resolved", when(incident["resolved_at"]))
    for linked in incident["records"]:
        labelled("problem" if linked["type"] == "INSTANCE_OF" else linked["type"].lower(), linked["id"])
    print_linked(incident, "AFFECTS", "affects")
    print_history(client, "incidents", incident["id"], args.history)
    return 0


def _path(steps: list[dict[str, Any]]) -> str:
    """``db1 > db1:5432 (<- RUNS_ON) > shop (<- DEPENDS_ON)``: from the suspect to the affected CI."""
    parts = []
    for step in steps:
        name = step["name"] or step["uid"]
        if step.get("via"):
            arrow = "->" if step["direction"] == "out" else "<-"
            name += f" ({arrow} {step['via']})"
        parts.append(name)
    return " > ".join(parts)


def _evidence(event: dict[str, Any], names: dict[str, str]) -> str:
    """One event as a line: a value's change, or a relation started or ended with the CI at
    its other end (by name when the suspects name it)."""
    field, old, new = event.get("field"), event.get("old"), event.get("new")
    ends = new if isinstance(new, dict) else old if isinstance(old, dict) else None
    if event["kind"].startswith("relation") and ends:
        what = " ".join(f"{field} {side} {names.get(uid, uid)}" for side, uid in ends.items())
    else:
        what = f"{field}: {old} -> {new}" if field else ""
    return f"{when(event['at'])}  {event['kind']} {what}  ({event.get('source') or '-'})"


def _suspects(client: httpx.Client, args: argparse.Namespace) -> int:
    found = get(client, f"/api/v1/incidents/{path_part(args.id)}/suspects", {"hours": args.hours, "depth": args.depth})
    if args.json:
        print_json(found)
        return 0
    suspects = found["suspects"]
    names = {step["uid"]: step["name"] for s in suspects for step in s["path"] if step["name"]}
    print(
        f"{found['incident']} opened {when(found['opened_at'])}: {len(suspects)} suspects changed "
        f"since {when(found['since'])}, nearest and most recent first"
    )
    for suspect in suspects:
        distance = suspect["distance"]
        hops = "affected" if distance == 0 else f"{distance} hop{'s' if distance > 1 else ''} upstream"
        name = suspect["name"] or suspect["uid"]
        print(f"\n{name} ({suspect['class']})  {hops}, latest {suspect['hours_before']} h before")
        if suspect["distance"]:
            print(f"  path    {_path(suspect['path'])}")
        for change in suspect["changes"]:
            print(f"  change  {change['id']} {change['title']} ({change['state']})")
        for event in suspect["events"][:EVENTS_SHOWN]:
            print(f"  event   {_evidence(event, names)}")
        if len(suspect["events"]) > EVENTS_SHOWN:
            print(f"  ... {len(suspect['events']) - EVENTS_SHOWN} more events (--json)")
    if not suspects:
        hint("nothing upstream changed in that time: try --hours with more")
    return 0


def _resolve(client: httpx.Client, args: argparse.Namespace) -> int:
    incident = transition(client, "incidents", args.id, IncidentStatus.RESOLVED.value, args.note)
    if args.json:
        print_json(incident)
        return 0
    print(f"{incident['id']} {incident['status']}")
    return 0
