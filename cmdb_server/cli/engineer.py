"""``cmdb``: the engineer's command line, a thin client of the API.

    cmdb ci list [--class C] [--status S] [--name TEXT] [--limit N] [--offset N] [--json]
    cmdb ci show UID [--json]

Reads CMDB_URL (default http://127.0.0.1:8000) and CMDB_TOKEN; --url and --token override.
Needs only the base install (httpx).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

import httpx


class ApiCallError(Exception):
    pass


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="cmdb", description="Query the CMDB.")
    parser.add_argument("--url", default=os.environ.get("CMDB_URL", "http://127.0.0.1:8000"))
    parser.add_argument("--token", default=os.environ.get("CMDB_TOKEN"), help="API token (or CMDB_TOKEN)")
    parser.add_argument("--timeout", type=float, default=10.0)
    resources = parser.add_subparsers(dest="resource", required=True)
    ci = resources.add_parser("ci", help="configuration items").add_subparsers(dest="action", required=True)
    listing = ci.add_parser("list", help="list CIs")
    listing.add_argument("--class", dest="class_name", help="CI class (subclasses included)")
    listing.add_argument("--status", choices=["active", "stale", "retired"])
    listing.add_argument("--name", help="case-insensitive substring of the name")
    listing.add_argument("--limit", type=int, default=50)
    listing.add_argument("--offset", type=int, default=0)
    listing.add_argument("--json", action="store_true", help="print the API's JSON")
    show = ci.add_parser("show", help="show one CI")
    show.add_argument("uid")
    show.add_argument("--json", action="store_true", help="print the API's JSON")
    return parser


def _get(client: httpx.Client, path: str, params: dict[str, Any] | None = None) -> Any:
    try:
        response = client.get(path, params={k: v for k, v in (params or {}).items() if v is not None})
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


def _ci_show(client: httpx.Client, args: argparse.Namespace) -> None:
    ci = _get(client, f"/api/v1/cis/{args.uid}")
    if args.json:
        print(json.dumps(ci, indent=2))
        return
    for key in ("uid", "class", "name", "status", "first_seen", "last_seen", "parent_uid"):
        if ci.get(key) is not None:
            print(f"{key:<12} {ci[key]}")
    for key, value in ci["attributes"].items():
        print(f"  {key:<20} {value}")


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if not args.token:
        print("cmdb: no API token: set CMDB_TOKEN or pass --token", file=sys.stderr)
        return 2
    headers = {"Authorization": f"Bearer {args.token}"}
    with httpx.Client(base_url=args.url, headers=headers, timeout=args.timeout) as client:
        try:
            if args.action == "list":
                _ci_list(client, args)
            else:
                _ci_show(client, args)
        except ApiCallError as exc:
            print(f"cmdb: {exc}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
