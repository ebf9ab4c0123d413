"""``cmdb impact``, and the tree of why that change assessments and releases print too."""

from __future__ import annotations

import argparse
import json
from typing import Any

import httpx

from cmdb_server.cli.engineer.api import get, post
from cmdb_server.cli.engineer.cis import resolve_cis
from cmdb_server.cli.engineer.output import JSON_FLAG, print_json


def register(resources: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    impact = resources.add_parser(
        "impact", help="what these CIs failing affects, as a tree of why", parents=[JSON_FLAG]
    )
    impact.add_argument("uids", nargs="+", metavar="NAME-OR-UID")
    impact.add_argument("--depth", type=int, default=8)
    impact.add_argument("--type", dest="types", action="append", help="follow only this relationship type (repeat)")
    impact.add_argument("--class", dest="classes", action="append", help="list only CIs of this class (repeat)")
    impact.set_defaults(run=_impact)
    service = resources.add_parser("service", help="business services").add_subparsers(dest="action", required=True)
    spof = service.add_parser(
        "spof", help="the CIs whose failure alone takes the service down, with the path why", parents=[JSON_FLAG]
    )
    spof.add_argument("service", metavar="NAME-OR-UID")
    spof.add_argument("--depth", type=int, default=8)
    spof.add_argument("--class", dest="classes", action="append", help="only CIs of this class (repeat)")
    spof.set_defaults(run=_spof)


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


def services_line(services: list[dict[str, Any]]) -> str:
    """``web shop (down, critical), intranet (degraded, -)``, or ``none``."""
    named = ", ".join(f"{s['name']} ({s['state']}, {s.get('criticality') or '-'})" for s in services)
    return named or "none"


def _impact(client: httpx.Client, args: argparse.Namespace) -> int:
    uids = resolve_cis(client, args.uids)
    filters = {"types": args.types, "classes": args.classes}
    if len(uids) == 1:
        result = get(client, f"/api/v1/cis/{uids[0]}/impact", {"depth": args.depth, **filters})
    else:
        result = post(client, "/api/v1/impact", {"uids": uids, "depth": args.depth, **filters})
    if args.json:
        print_json(result)
        return 0
    for line in render_tree(result["roots"], result["items"]):
        print(line)
    print(
        f"\n{result['total']} CIs affected: {json.dumps(result['by_state'])}; "
        f"business services: {services_line(result['business_services'])}"
    )
    return 0


def _spof(client: httpx.Client, args: argparse.Namespace) -> int:
    (uid,) = resolve_cis(client, [args.service])
    result = get(
        client, f"/api/v1/services/{uid}/single-points-of-failure", {"depth": args.depth, "classes": args.classes}
    )
    if args.json:
        print_json(result)
        return 0
    service = result["service"]
    if not result["items"]:
        print(f"{service['name']}: no single point of failure among {result['checked']} CIs that reach it")
        return 0
    print(
        f"{service['name']}: {result['total']} single point(s) of failure among {result['checked']} CIs that reach it"
    )
    for item in result["items"]:
        way = " -> ".join(f"{s['name']}" + (f" ({s['via']})" if s["via"] else "") for s in item["path"])
        print(f"  {item['name']} ({item['class']}): {way}")
    return 0
