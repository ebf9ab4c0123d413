"""``cmdb ci list|show|merge|split``, and ``resolve_ci``: a CI named the way people name it."""

from __future__ import annotations

import argparse
import json
from typing import Any

import httpx

from cmdb_server.cli.engineer.api import ApiCallError, get, post
from cmdb_server.cli.engineer.output import JSON_FLAG, path_part, print_json, print_page_footer, print_table


def register(resources: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    ci = resources.add_parser("ci", help="configuration items").add_subparsers(dest="action", required=True)
    listing = ci.add_parser("list", help="list CIs", parents=[JSON_FLAG])
    listing.add_argument("--class", dest="class_name", help="CI class (subclasses included)")
    listing.add_argument("--status", choices=["active", "stale", "retired"])
    listing.add_argument("--name", help="case-insensitive substring of the name")
    listing.add_argument("--limit", type=int, default=50)
    listing.add_argument("--offset", type=int, default=0)
    listing.set_defaults(run=_list)
    show = ci.add_parser("show", help="show one CI, its relationships and its recent history", parents=[JSON_FLAG])
    show.add_argument("uid", metavar="NAME-OR-UID", help="a uid, or a name that one CI has")
    show.add_argument("--related", type=int, default=10, help="relationships shown per type (default 10)")
    show.add_argument("--history", type=int, default=10, help="latest history events shown (default 10)")
    show.set_defaults(run=_show)
    merge = ci.add_parser("merge", help="merge OTHER into UID: they are one real thing", parents=[JSON_FLAG])
    merge.add_argument("uid")
    merge.add_argument("other")
    merge.add_argument("--reason", required=True, help="why they are one thing (kept in the history)")
    merge.add_argument("--force", action="store_true", help="even if their machine-ids or serials differ")
    merge.set_defaults(run=_merge)
    split = ci.add_parser("split", help="undo the merge of MERGED into UID", parents=[JSON_FLAG])
    split.add_argument("uid")
    split.add_argument("merged")
    split.add_argument("--reason", required=True, help="why the merge was wrong (kept in the history)")
    split.set_defaults(run=_split)


def resolve_ci(client: httpx.Client, name_or_uid: str) -> str:
    """The uid a name or uid names: a uid as it is; a name when one CI has it (exactly, in any
    case; else as the only CI whose name contains it). Several: ApiCallError listing them."""
    try:
        return str(get(client, f"/api/v1/cis/{path_part(name_or_uid)}")["uid"])
    except ApiCallError as exc:
        if exc.status != 404:
            raise
    found = get(client, "/api/v1/cis", {"name": name_or_uid, "limit": 20})["items"]
    exact = [ci for ci in found if (ci["name"] or "").lower() == name_or_uid.lower()]
    matches = exact or found
    if len(matches) == 1:
        return str(matches[0]["uid"])
    if not matches:
        raise ApiCallError(f"no CI has the uid or a name like {name_or_uid!r}")
    choices = "\n".join(f"  {ci['uid']}  {ci['class']}  {ci['name']}" for ci in matches)
    raise ApiCallError(f"{len(matches)} CIs are named like {name_or_uid!r}; give one's uid:\n{choices}")


def resolve_cis(client: httpx.Client, given: list[str]) -> list[str]:
    return [resolve_ci(client, name_or_uid) for name_or_uid in given]


def _list(client: httpx.Client, args: argparse.Namespace) -> int:
    params = {
        "class": args.class_name,
        "status": args.status,
        "name": args.name,
        "limit": args.limit,
        "offset": args.offset,
    }
    page = get(client, "/api/v1/cis", params)
    if args.json:
        print_json(page)
        return 0
    rows = [[ci["uid"], ci["class"], ci["name"] or "", ci["status"], ci["last_seen"] or ""] for ci in page["items"]]
    print_table(rows, ["UID", "CLASS", "NAME", "STATUS", "LAST SEEN"])
    print_page_footer(page)
    return 0


def _show(client: httpx.Client, args: argparse.Namespace) -> int:
    uid = resolve_ci(client, args.uid)
    ci = get(client, f"/api/v1/cis/{uid}")
    relations = get(client, f"/api/v1/cis/{uid}/relationships")["items"]
    history = get(client, f"/api/v1/cis/{uid}/history", {"limit": args.history})
    if args.json:
        print_json({"ci": ci, "relationships": relations, "history": history["items"]})
        return 0
    for key in ("uid", "class", "name", "status", "first_seen", "last_seen", "parent_uid"):
        if ci.get(key) is not None:
            print(f"{key:<12} {ci[key]}")
    for key, value in ci["attributes"].items():
        print(f"  {key:<20} {value}")
    for kind, seen in sorted(ci.get("seen_by", {}).items()):
        print(f"seen by {kind:<7} {seen}")
    for key, value in (("tags", ci.get("tags")), ("locks", ci.get("locks")), ("clones?", ci.get("suspected_clones"))):
        if value:
            print(f"{key:<12} {', '.join(value) if isinstance(value, list) else json.dumps(value)}")
    by_type: dict[str, list[dict[str, Any]]] = {}
    for relation in relations:
        by_type.setdefault(relation["type"], []).append(relation)
    if by_type:
        print("\nrelationships")
    for rel_type, items in sorted(by_type.items()):
        print(f"  {rel_type} ({len(items)})")
        for relation in items[: args.related]:
            other = relation["other"]
            arrow = "->" if relation["direction"] == "out" else "<-"
            sources = ", ".join(s["source"] for s in relation["sources"] if s.get("ended_at") is None)
            print(f"    {arrow} {other['name'] or other['uid']} ({other['class']})  [{sources or 'ended'}]")
        if len(items) > args.related:
            print(f"    ... {len(items) - args.related} more (--related N, or --json)")
    if history["items"]:
        print(f"\nhistory (latest {len(history['items'])} of {history['total']})")
    for event in history["items"]:
        change = f"{event.get('field') or ''}: {event.get('old')} -> {event.get('new')}" if event.get("field") else ""
        print(f"  {event['at']}  {event['kind']:<16} {change}  ({event.get('source') or '-'})")
    return 0


def _merge(client: httpx.Client, args: argparse.Namespace) -> int:
    body = {"other": args.other, "reason": args.reason, "force": args.force}
    done = post(client, f"/api/v1/cis/{path_part(args.uid)}/merge", body)
    if args.json:
        print_json(done)
        return 0
    print(
        f"merged {done['merged']} into {done['uid']}: {done['edges']} relationships and "
        f"{done['children']} dependent CIs moved; {done['merged']} now names {done['uid']}"
    )
    return 0


def _split(client: httpx.Client, args: argparse.Namespace) -> int:
    done = post(client, f"/api/v1/cis/{path_part(args.uid)}/split", {"merged": args.merged, "reason": args.reason})
    if args.json:
        print_json(done)
        return 0
    print(
        f"split {done['restored']} from {done['uid']}: {done['edges']} relationships and "
        f"{done['children']} dependent CIs put back"
    )
    return 0
