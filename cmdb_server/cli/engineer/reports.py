"""``cmdb report service``: the monthly service report, summed up in the terminal or saved
as the server prints it (HTML, PDF)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import httpx

from cmdb_server.cli.engineer.api import download, get
from cmdb_server.cli.engineer.output import JSON_FLAG, print_json, print_table

PATH = "/api/v1/reports/service"


def register(resources: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    report = resources.add_parser("report", help="reports").add_subparsers(dest="action", required=True)
    service = report.add_parser(
        "service",
        help="the monthly service report: availability against target, incidents, changes, problems, accuracy",
        parents=[JSON_FLAG],
    )
    service.add_argument("--period", metavar="YYYY-MM", help="the month (default: the last whole month)")
    saved = service.add_mutually_exclusive_group()
    saved.add_argument("--html", metavar="FILE", type=Path, help="save the document as HTML (self-contained)")
    saved.add_argument("--pdf", metavar="FILE", type=Path, help="save the document as PDF (printed by the server)")
    service.set_defaults(run=_service, options={"period": "--period"})


def _service(client: httpx.Client, args: argparse.Namespace) -> int:
    params = {"period": args.period}
    if args.json and (args.html or args.pdf):
        print("cmdb: --json prints the report; --html and --pdf save the document: choose one", file=sys.stderr)
        return 2
    for option, target, format in (("--html", args.html, "html"), ("--pdf", args.pdf, "pdf")):
        if target is not None:
            content = download(client, PATH, {**params, "format": format})
            try:
                target.write_bytes(content)
            except OSError as exc:
                print(f"cmdb: cannot write {option} {target}: {exc.strerror}", file=sys.stderr)
                return 1
            print(f"{target} ({len(content):,} bytes)")
            return 0
    report = get(client, PATH, params)
    if args.json:
        print_json(report)
    else:
        print_summary(report)
    return 0


def _percent(value: float | None, decimals: int = 2) -> str:
    return "-" if value is None else f"{value:.{decimals}f} %"


def _minutes(value: float | None) -> str:
    if value is None:
        return "-"
    hours, minutes = divmod(round(value), 60)
    return f"{hours} h {minutes:02d} min" if hours else f"{minutes} min"


def print_summary(report: dict[str, Any]) -> None:
    """The report in a few lines and one table: what a manager asks first."""
    period = report["period"]
    print(f"Service report {period['label']} ({period['time_zone']}), generated {report['generated_at'][:16]}")
    services = report["services"]
    targeted = [s for s in services if s["verdict"] != "no_target"]
    breached = [s["service_name"] for s in targeted if s["verdict"] == "breached"]
    met = len(targeted) - len(breached)
    line = f"Services: {met} of {len(targeted)} met their availability target"
    print(line + (f"; breached: {', '.join(breached)}" if breached else ""))
    if services:
        print_table(
            [
                [
                    s["service_name"],
                    _percent(s["target_percent"]),
                    _percent(s["availability_percent"], 3),
                    _minutes(s["downtime_minutes"]),
                    str(s["outages"]),
                    s["verdict"].replace("_", " "),
                ]
                for s in services
            ],
            ["SERVICE", "TARGET", "AVAILABILITY", "DOWN", "OUTAGES", "VERDICT"],
        )
    incidents = report["incidents"]
    by_priority = ", ".join(f"{i['priority']} {i['opened']}" for i in incidents)
    opened, resolved = sum(i["opened"] for i in incidents), sum(i["resolved"] for i in incidents)
    print(f"Incidents: {opened} opened ({by_priority}), {resolved} resolved")
    changes = report["changes"]
    print(
        f"Changes: {changes['closed']} ended, {changes['successful']} successful "
        f"({_percent(changes['success_rate_percent'], 1)}), {changes['failed']} failed, "
        f"{changes['emergency']} emergency"
    )
    problems = report["problems"]
    oldest = problems["oldest_open_days"]
    print(f"Problems: {problems['open']} open" + (f", the oldest for {oldest:g} days" if oldest is not None else ""))
    latest = next((p for p in reversed(report["accuracy"]) if p["accurate_percent"] is not None), None)
    if latest is None:
        print("Accuracy: no day recorded in the period")
    else:
        print(f"Accuracy: {_percent(latest['accurate_percent'], 1)} of active CIs with no finding on {latest['day']}")
