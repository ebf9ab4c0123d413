"""``cmdb``: the engineer's command line, a thin client of the API.

    cmdb ci list [--class C] [--status S] [--name TEXT] [--limit N] [--offset N] [--json]
    cmdb ci show NAME-OR-UID [--related N] [--history N] [--json]
    cmdb ci merge UID OTHER --reason TEXT [--force]  OTHER is the same thing as UID: merge it into UID
    cmdb ci split UID MERGED --reason TEXT           undo the merge of MERGED into UID
    cmdb impact NAME-OR-UID... [--depth N] [--json]   what fails with these CIs, and why
    cmdb change assess ID [--json]                    assess a change and show the result

Reads CMDB_URL (default http://127.0.0.1:8000) and CMDB_TOKEN; --url and --token override.
Needs only the base install (httpx).
"""

from __future__ import annotations

import argparse
import json
import os
import ssl
import sys
from typing import Any

import httpx

from schema import console


class ApiCallError(Exception):
    pass


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="cmdb", description="Query the CMDB.")
    parser.add_argument("--url", default=os.environ.get("CMDB_URL", "http://127.0.0.1:8000"))
    parser.add_argument("--token", default=os.environ.get("CMDB_TOKEN"), help="API token (or CMDB_TOKEN)")
    parser.add_argument("--timeout", type=float, default=10.0)
    parser.add_argument(
        "--ca-file",
        default=os.environ.get("CMDB_CA_FILE") or None,
        help="PEM CA bundle to verify an https server with (or CMDB_CA_FILE; default: the system's CAs)",
    )
    resources = parser.add_subparsers(dest="resource", required=True)
    ci = resources.add_parser("ci", help="configuration items").add_subparsers(dest="action", required=True)
    listing = ci.add_parser("list", help="list CIs")
    listing.add_argument("--class", dest="class_name", help="CI class (subclasses included)")
    listing.add_argument("--status", choices=["active", "stale", "retired"])
    listing.add_argument("--name", help="case-insensitive substring of the name")
    listing.add_argument("--limit", type=int, default=50)
    listing.add_argument("--offset", type=int, default=0)
    listing.add_argument("--json", action="store_true", help="print the API's JSON")
    show = ci.add_parser("show", help="show one CI, its relationships and its recent history")
    show.add_argument("uid", metavar="NAME-OR-UID", help="a uid, or a name that one CI has")
    show.add_argument("--related", type=int, default=10, help="relationships shown per type (default 10)")
    show.add_argument("--history", type=int, default=10, help="latest history events shown (default 10)")
    show.add_argument("--json", action="store_true", help="print the API's JSON")
    merge = ci.add_parser("merge", help="merge OTHER into UID: they are one real thing")
    merge.add_argument("uid")
    merge.add_argument("other")
    merge.add_argument("--reason", required=True, help="why they are one thing (kept in the history)")
    merge.add_argument("--force", action="store_true", help="even if their machine-ids or serials differ")
    split = ci.add_parser("split", help="undo the merge of MERGED into UID")
    split.add_argument("uid")
    split.add_argument("merged")
    split.add_argument("--reason", required=True, help="why the merge was wrong (kept in the history)")
    impact = resources.add_parser("impact", help="what these CIs failing affects, as a tree of why")
    impact.add_argument("uids", nargs="+", metavar="NAME-OR-UID")
    impact.add_argument("--depth", type=int, default=8)
    impact.add_argument("--json", action="store_true", help="print the API's JSON")
    change = resources.add_parser("change", help="changes").add_subparsers(dest="action", required=True)
    assess = change.add_parser("assess", help="assess a change: impact, collisions, freezes, risk")
    assess.add_argument("id")
    assess.add_argument("--json", action="store_true", help="print the API's JSON")
    return parser


def _get(client: httpx.Client, path: str, params: dict[str, Any] | None = None) -> Any:
    return _call(client, "GET", path, params=params)


def _call(client: httpx.Client, method: str, path: str, params: dict[str, Any] | None = None, body: Any = None) -> Any:
    try:
        response = client.request(
            method, path, params={k: v for k, v in (params or {}).items() if v is not None}, json=body
        )
    except httpx.HTTPError as exc:
        raise ApiCallError(f"cannot reach {client.base_url}: {exc}") from None
    if response.status_code >= 400:
        try:
            message = response.json()["error"]["message"]
        except (ValueError, KeyError, TypeError):
            message = response.text[:200]
        raise ApiCallError(f"HTTP {response.status_code}: {message}")
    return response.json()


def _print_table(rows: list[list[str]], headers: list[str]) -> None:
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)]
    print("  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip())
    for row in rows:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())


def _ci_list(client: httpx.Client, args: argparse.Namespace) -> None:
    params = {
        "class": args.class_name,
        "status": args.status,
        "name": args.name,
        "limit": args.limit,
        "offset": args.offset,
    }
    page = _get(client, "/api/v1/cis", params)
    if args.json:
        print(json.dumps(page, indent=2))
        return
    rows = [[ci["uid"], ci["class"], ci["name"] or "", ci["status"], ci["last_seen"] or ""] for ci in page["items"]]
    _print_table(rows, ["UID", "CLASS", "NAME", "STATUS", "LAST SEEN"])
    shown_to = page["offset"] + len(page["items"])
    more = f"; next page: --offset {page['next_offset']}" if page["next_offset"] is not None else ""
    print(f"({page['offset'] + 1 if page['items'] else 0}-{shown_to} of {page['total']}{more})", file=sys.stderr)


def resolve_ci(client: httpx.Client, name_or_uid: str) -> str:
    """The uid a name or uid names: a uid as it is; a name when one CI has it (exactly, in any
    case; else as the only CI whose name contains it). Several: ApiCallError listing them."""
    try:
        return str(_get(client, f"/api/v1/cis/{name_or_uid}")["uid"])
    except ApiCallError as exc:
        if not str(exc).startswith("HTTP 404"):
            raise
    found = _get(client, "/api/v1/cis", {"name": name_or_uid, "limit": 20})["items"]
    exact = [ci for ci in found if (ci["name"] or "").lower() == name_or_uid.lower()]
    matches = exact or found
    if len(matches) == 1:
        return str(matches[0]["uid"])
    if not matches:
        raise ApiCallError(f"no CI has the uid or a name like {name_or_uid!r}")
    choices = "\n".join(f"  {ci['uid']}  {ci['class']}  {ci['name']}" for ci in matches)
    raise ApiCallError(f"{len(matches)} CIs are named like {name_or_uid!r}; give one's uid:\n{choices}")


def _ci_show(client: httpx.Client, args: argparse.Namespace) -> None:
    uid = resolve_ci(client, args.uid)
    ci = _get(client, f"/api/v1/cis/{uid}")
    relations = _get(client, f"/api/v1/cis/{uid}/relationships")["items"]
    history = _get(client, f"/api/v1/cis/{uid}/history", {"limit": args.history})
    if args.json:
        print(json.dumps({"ci": ci, "relationships": relations, "history": history["items"]}, indent=2))
        return
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


def _ci_merge(client: httpx.Client, args: argparse.Namespace) -> None:
    body = {"other": args.other, "reason": args.reason, "force": args.force}
    done = _call(client, "POST", f"/api/v1/cis/{args.uid}/merge", body=body)
    print(
        f"merged {done['merged']} into {done['uid']}: {done['edges']} relationships and "
        f"{done['children']} dependent CIs moved; {done['merged']} now names {done['uid']}"
    )


def _ci_split(client: httpx.Client, args: argparse.Namespace) -> None:
    done = _call(client, "POST", f"/api/v1/cis/{args.uid}/split", body={"merged": args.merged, "reason": args.reason})
    print(
        f"split {done['restored']} from {done['uid']}: {done['edges']} relationships and "
        f"{done['children']} dependent CIs put back"
    )


def render_tree(roots: list[dict[str, Any]], items: list[dict[str, Any]]) -> list[str]:
    """Affected CIs as a tree of their paths: each line says how trouble got there."""
    children: dict[tuple[str, ...], dict[str, dict[str, Any]]] = {}
    for item in items:
        path = item["path"]
        for depth in range(1, len(path)):
            prefix = tuple(step["uid"] for step in path[:depth])
            step = path[depth]
            node = children.setdefault(prefix, {}).setdefault(step["uid"], {"step": step, "state": None})
            if depth == len(path) - 1:
                node["state"] = item["state"]
    lines: list[str] = []

    def walk(prefix: tuple[str, ...], indent: str) -> None:
        entries = sorted(children.get(prefix, {}).values(), key=lambda n: (n["step"]["class"], n["step"]["name"] or ""))
        for index, node in enumerate(entries):
            step = node["step"]
            last = index == len(entries) - 1
            arrow = "->" if step["direction"] == "out" else "<-"
            state = f" [{node['state']}]" if node["state"] else ""
            lines.append(
                f"{indent}{'`-- ' if last else '|-- '}{step['name']} ({step['class']}){state}  {arrow} {step['via']}"
            )
            walk((*prefix, step["uid"]), indent + ("    " if last else "|   "))

    for root in roots:
        lines.append(f"{root['name']} ({root['class']}) [fails]")
        walk((root["uid"],), "")
    return lines


def _impact(client: httpx.Client, args: argparse.Namespace) -> None:
    uids = [resolve_ci(client, given) for given in args.uids]
    if len(uids) == 1:
        result = _get(client, f"/api/v1/cis/{uids[0]}/impact", {"depth": args.depth})
    else:
        result = _call(client, "POST", "/api/v1/impact", body={"uids": uids, "depth": args.depth})
    if args.json:
        print(json.dumps(result, indent=2))
        return
    for line in render_tree(result["roots"], result["items"]):
        print(line)
    services = ", ".join(
        f"{s['name']} ({s['state']}, {s.get('criticality') or '-'})" for s in result["business_services"]
    )
    print(
        f"\n{result['total']} CIs affected: {json.dumps(result['by_state'])}; business services: {services or 'none'}"
    )


def _assess(client: httpx.Client, args: argparse.Namespace) -> None:
    snapshot = _call(client, "POST", f"/api/v1/changes/{args.id}/assessment")
    if args.json:
        print(json.dumps(snapshot, indent=2))
        return
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
    print()
    for line in render_tree(snapshot["targets"], snapshot["affected"]["items"]):
        print(line)


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
            if args.resource == "impact":
                _impact(client, args)
            elif args.resource == "change":
                _assess(client, args)
            elif args.action == "list":
                _ci_list(client, args)
            elif args.action == "merge":
                _ci_merge(client, args)
            elif args.action == "split":
                _ci_split(client, args)
            else:
                _ci_show(client, args)
        except ApiCallError as exc:
            print(f"cmdb: {exc}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
