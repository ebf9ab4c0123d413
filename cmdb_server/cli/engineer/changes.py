"""``cmdb change``: raise a change and take it through its life.

    create -> submit -> assess -> approve (or reject) -> start -> complete [--failed] [--close]

``complete`` records the outcome (implemented, or failed with ``--failed``) and its note as
the change's result; the change stays open for the post-implementation review until
``complete --close`` (or ``close`` later) closes it. A change that fails is still a
change that was done: the command succeeds (exit 0) when the outcome is recorded.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

import httpx

from cmdb_server.cli.engineer.api import ApiCallError, get, post
from cmdb_server.cli.engineer.cis import resolve_cis
from cmdb_server.cli.engineer.impact import render_tree, services_line
from cmdb_server.cli.engineer.output import (
    hint,
    indented,
    instant,
    labelled,
    path_part,
    print_json,
    text_file,
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
from schema.itsm import ChangeState, ChangeType, RiskLevel

PLANS = ("implementation_plan", "backout_plan", "test_plan")
OPTIONS = {
    "title": "--title",
    "description": "--description",
    "type": "--type",
    "planned_start": "--start",
    "planned_end": "--end",
    "targets": "--target",
    "implementation_plan": "--implementation-plan",
    "backout_plan": "--backout-plan",
    "test_plan": "--test-plan",
    "override_reason": "--override-reason",
    "comment": "--comment",
    "note": "--note",
}
"""The API's field names as this command's options, for error messages."""
SHOWN_ABOVE = frozenset({"approvals", "last_decision", "assessment", "assessed_revision", "assessed_at"})
"""Fields whose edits ``change show`` leaves out of the history it prints: the decisions and the
assessment are shown in full above it (``--json`` or the API's history has every event)."""


def register(resources: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    command = record_commands(resources, "change", OPTIONS, "CHG0001", ("create", "list"))

    create = command("create", "raise a change (a draft)", _create)
    create.add_argument("--title", required=True)
    create.add_argument(
        "--target", dest="targets", required=True, nargs="+", action="extend", metavar="NAME-OR-UID",
        help="the CIs it touches (repeat or list several)",
    )  # fmt: skip
    create.add_argument("--start", required=True, type=instant, help="planned start: ISO 8601, or now+2h, +1d")
    create.add_argument("--end", required=True, type=instant, help="planned end")
    create.add_argument("--type", choices=[t.value for t in ChangeType], default=ChangeType.NORMAL.value)
    create.add_argument("--description", default="")
    for plan in PLANS:
        create.add_argument(
            f"--{plan.replace('_', '-')}", dest=plan, type=text_file, metavar="FILE|-",
            help=f"the {plan.replace('_', ' ')}, read from a file (- : standard input)",
        )  # fmt: skip

    listing = command("list", "list changes", _list)
    listing.add_argument("--state", choices=[s.value for s in ChangeState])
    listing.add_argument("--type", choices=[t.value for t in ChangeType])
    listing.add_argument("--risk", choices=[r.value for r in RiskLevel], help="as last assessed")
    add_paging(listing)

    add_history(command("show", "one change: state, window, risk, approvals, plans, history", _show))
    command("submit", "submit a draft for assessment", _submit)
    command("assess", "assess a change: impact, collisions, freezes, risk", _assess)
    approve = command("approve", "approve a change (change managers)", _approve)
    approve.add_argument("--comment", default="", help="what you say with the approval")
    approve.add_argument(
        "--override-reason", help="why approve although the assessment warns (HIGH risk, collision, freeze)"
    )
    reject = command("reject", "reject a change (change managers)", _reject)
    reject.add_argument("--comment", default="", help="why")
    start = command("start", "start implementing an approved change", _start)
    start.add_argument("--note", default="")
    complete = command("complete", "record the outcome: implemented, or failed", _complete)
    complete.add_argument("--failed", action="store_true", help="it failed (backed out, or broke something)")
    complete.add_argument("--note", default="", help="the result: what was done, what happened")
    complete.add_argument("--close", action="store_true", help="close it too (the review is done)")
    close = command("close", "close an implemented or failed change", _close)
    close.add_argument("--note", default="")
    cancel = command("cancel", "cancel a change not yet implementing", _cancel)
    cancel.add_argument("--note", default="", help="why")


def _create(client: httpx.Client, args: argparse.Namespace) -> int:
    body = {
        "title": args.title,
        "description": args.description,
        "type": args.type,
        "planned_start": args.start,
        "planned_end": args.end,
        "targets": resolve_cis(client, args.targets),
        **{plan: getattr(args, plan) or "" for plan in PLANS},
    }
    change = post(client, "/api/v1/changes", body)
    print_created(change, "change", change["state"], f"cmdb change submit {change['id']}", args.json)
    return 0


def _list(client: httpx.Client, args: argparse.Namespace) -> int:
    filters = {"state": args.state, "type": args.type, "risk": args.risk}
    columns: dict[str, Callable[[dict[str, Any]], str]] = {
        "ID": lambda c: c["id"],
        "STATE": lambda c: c["state"],
        "TYPE": lambda c: c.get("type", ""),
        "RISK": lambda c: c.get("risk") or "-",
        "PLANNED START": lambda c: when(c.get("planned_start")),
        "TITLE": lambda c: c["title"],
    }
    return list_page(client, args, "changes", filters, columns)


def _risk(change: dict[str, Any]) -> str:
    if not change.get("risk"):
        return "not assessed"
    current = "current" if change["assessment_current"] else "out of date: the change was edited, assess again"
    return f"{change['risk'].upper()} ({current})"


def _show(client: httpx.Client, args: argparse.Namespace) -> int:
    change = get(client, f"/api/v1/changes/{path_part(args.id)}")
    if args.json:
        print_json(change)
        return 0
    print(f"{change['id']}  {change['title']}")
    labelled("state", f"{change['state']} (next: {', '.join(change['allowed_next']) or 'none'})")
    labelled("type", change["type"])
    labelled("window", f"{when(change['planned_start'])} - {when(change['planned_end'])}")
    labelled("risk", _risk(change))
    approved_by = ", ".join(change["approved_by"]) or "-"
    labelled("approvals", f"{change['approvals_needed']} needed; approved by {approved_by}")
    labelled("created", f"{when(change['created_at'])} by {change['created_by']}")
    print_linked(change, "TARGETS", "targets")
    for key in ("note", "result"):
        if change.get(key):
            labelled(key, change[key])
    if change["description"]:
        print("\ndescription")
        indented(change["description"])
    for plan in PLANS:
        if change.get(plan):
            print(f"\n{plan.replace('_', ' ')}")
            indented(change[plan])
    if change["approvals"]:
        print("\ndecisions")
    for decision in change["approvals"]:
        said = f"  {decision['comment']}" if decision.get("comment") else ""
        who = f"by {decision['by']} (revision {decision['revision']})"
        print(f"  {when(decision['at'])}  {decision['decision']:<8} {who}{said}")
        if decision.get("override_reason"):
            print(f"    overriding {'; '.join(decision.get('overridden', []))}: {decision['override_reason']}")
    print_history(client, "changes", change["id"], args.history, shown_above=SHOWN_ABOVE)
    return 0


def _moved(change: dict[str, Any], args: argparse.Namespace, next_step: str = "") -> int:
    if args.json:
        print_json(change)
        return 0
    print(f"{change['id']} {change['state']}")
    if next_step:
        hint(f"next: {next_step}")
    return 0


def _submit(client: httpx.Client, args: argparse.Namespace) -> int:
    change = transition(client, "changes", args.id, ChangeState.SUBMITTED.value)
    return _moved(change, args, f"cmdb change assess {change['id']}")


def _assess(client: httpx.Client, args: argparse.Namespace) -> int:
    snapshot = post(client, f"/api/v1/changes/{path_part(args.id)}/assessment")
    if args.json:
        print_json(snapshot)
        return 0
    risk = snapshot["risk"]
    print(f"{args.id}: risk {risk['level'].upper()} (score {risk['score']})")
    for reason in risk["reasons"]:
        print(f"  - {reason}")
    for collision in snapshot["collisions"]:
        shared = ", ".join(s["name"] or s["uid"] for s in collision["shared"])
        print(f"collides with {collision['id']} ({collision['title']}, {collision['state']}) on: {shared}")
    for freeze in snapshot["freeze_conflicts"]:
        print(f"inside freeze window {freeze['name']} ({freeze['start']} - {freeze['end']})")
    for incident in snapshot["open_incidents"]:
        print(f"open incident {incident['id']}: {incident['title']}")
    print(f"business services: {services_line(snapshot['business_services'])}")
    print()
    for line in render_tree(snapshot["targets"], snapshot["affected"]["items"]):
        print(line)
    hint(f"next: cmdb change approve {args.id} (a change manager)")
    return 0


def _approve(client: httpx.Client, args: argparse.Namespace) -> int:
    body = {"decision": "approve", "comment": args.comment, "override_reason": args.override_reason}
    try:
        change = post(client, f"/api/v1/changes/{path_part(args.id)}/approvals", body)
    except ApiCallError as exc:
        reasons = next((f["reasons"] for f in exc.fields if f.get("reasons")), None)
        if exc.status == 409 and not reasons and "assessment" in str(exc):
            raise ApiCallError(f"{exc}\nfirst: cmdb change assess {args.id}", exc.status, exc.body) from None
        if exc.status != 409 or not reasons:
            raise
        found = "\n".join(f"  - {reason}" for reason in reasons)
        raise ApiCallError(
            f"{args.id} is not approved: its assessment found\n{found}\n"
            f'to approve it all the same, say why: --override-reason "..." (the change\'s history keeps it)',
            exc.status,
            exc.body,
            fields_told=True,
        ) from None
    if args.json:
        print_json(change)
        return 0
    if change["state"] == ChangeState.APPROVED.value:
        print(f"{change['id']} approved by {', '.join(change['approved_by'])}")
        hint(f"next: cmdb change start {change['id']}")
    else:
        current = [a["by"] for a in change["approvals"] if a["revision"] == change["revision"]]
        print(
            f"{change['id']} {change['state']}: {len(current)} of {change['approvals_needed']} approvals needed "
            f"({', '.join(current)})"
        )
        hint("it is approved once enough change managers approve it")
    return 0


def _reject(client: httpx.Client, args: argparse.Namespace) -> int:
    body = {"decision": "reject", "comment": args.comment}
    return _moved(post(client, f"/api/v1/changes/{path_part(args.id)}/approvals", body), args)


def _start(client: httpx.Client, args: argparse.Namespace) -> int:
    change = transition(client, "changes", args.id, ChangeState.IMPLEMENTING.value, args.note)
    return _moved(change, args, f"cmdb change complete {change['id']} [--failed] --note '...'")


def _complete(client: httpx.Client, args: argparse.Namespace) -> int:
    outcome = ChangeState.FAILED if args.failed else ChangeState.IMPLEMENTED
    change = transition(client, "changes", args.id, outcome.value, args.note)
    if args.close:
        change = transition(client, "changes", args.id, ChangeState.CLOSED.value)
    return _moved(change, args, "" if args.close else f"cmdb change close {change['id']} once reviewed")


def _close(client: httpx.Client, args: argparse.Namespace) -> int:
    return _moved(transition(client, "changes", args.id, ChangeState.CLOSED.value, args.note), args)


def _cancel(client: httpx.Client, args: argparse.Namespace) -> int:
    return _moved(transition(client, "changes", args.id, ChangeState.CANCELLED.value, args.note), args)
