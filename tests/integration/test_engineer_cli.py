"""``cmdb`` doing the work, as an engineer runs it against a server process: a change from
draft to closed through an approval that needs an override, an incident from open to
resolved through its suspects, a release checked for readiness. Every command also with
``--json``; every refusal an exit status of 1 and the API's message."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from schema import Role
from tests.integration.conftest import BOOTSTRAP_TOKEN, bearer
from tests.integration.estate import build_estate
from tests.integration.server_process import BIN, ServerProcess

Cmdb = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def cmdb(server: ServerProcess) -> Cmdb:
    env = dict(os.environ, CMDB_URL=server.url, CMDB_TOKEN=BOOTSTRAP_TOKEN)

    def run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(BIN / "cmdb"), *args], env=env, capture_output=True, text=True, input=stdin)

    return run


@pytest.fixture
def api(server: ServerProcess) -> httpx.Client:
    return httpx.Client(base_url=server.url, headers=bearer(BOOTSTRAP_TOKEN), timeout=30)


def ok(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 0, f"{done.args}: {done.returncode}\n{done.stdout}\n{done.stderr}"
    return done.stdout


def ok_json(done: subprocess.CompletedProcess[str]) -> Any:
    return json.loads(ok(done))


def refused(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 1, f"{done.args}: {done.returncode}\n{done.stdout}\n{done.stderr}"
    assert "Traceback" not in done.stderr
    return done.stderr


def test_a_change_from_draft_to_closed_with_an_override(
    cmdb: Cmdb, api: httpx.Client, tmp_path: Path, make_token: Callable[..., str]
) -> None:
    estate = build_estate(api)
    # A critical service that db1 takes fully down: a change on db1 is HIGH risk.
    critical = api.patch(f"/api/v1/cis/{estate['service']}", json={"attributes": {"criticality": "critical"}})
    assert critical.status_code == 200, critical.text
    plan = tmp_path / "plan.txt"
    plan.write_text("1. stop postgres\n2. apt upgrade\n3. start postgres\n")

    backwards = refused(cmdb("change", "create", "--title", "x", "--target", "db1", "--start", "+2h", "--end", "+1h"))
    assert "planned_end must be after planned_start" in backwards
    assert "planned_end (--end)" in backwards
    assert "no CI has the uid or a name like 'nope'" in refused(
        cmdb("change", "create", "--title", "x", "--target", "nope", "--start", "+1h", "--end", "+2h")
    )
    assert (
        cmdb("change", "create", "--title", "x", "--target", "db1", "--start", "soon", "--end", "+2h").returncode == 2
    )

    create = ("change", "create", "--title", "db patch", "--target", "db1", "--start", "+1h", "--end", "+3h")
    created = cmdb(*create, "--implementation-plan", str(plan), "--backout-plan", "-", stdin="restore the snapshot\n")
    change_id = ok(created).strip()
    assert change_id.startswith("CHG")
    assert f"next: cmdb change submit {change_id}" in created.stderr

    listed = ok(cmdb("change", "list", "--ci", "db1", "--state", "draft"))
    assert listed.splitlines()[0].split()[:4] == ["ID", "STATE", "TYPE", "RISK"]
    assert listed.splitlines()[1].split()[:4] == [change_id, "draft", "normal", "-"]
    assert ok_json(cmdb("change", "list", "--ci", "app1", "--json"))["total"] == 0

    shown = ok(cmdb("change", "show", change_id))
    assert "state        draft (next: submitted, cancelled)" in shown
    assert "2. apt upgrade" in shown
    assert "restore the snapshot" in shown
    assert f"db1 (LinuxHost)  {estate['db1']}" in shown

    assert ok_json(cmdb("change", "submit", change_id, "--json"))["state"] == "submitted"
    unassessed = refused(cmdb("change", "approve", change_id))
    assert "needs a current assessment" in unassessed
    assert unassessed.endswith(f"first: cmdb change assess {change_id}\n")

    assessed = ok(cmdb("change", "assess", change_id))
    assert assessed.startswith(f"{change_id}: risk HIGH")
    assert "business services: web shop (down, critical)" in assessed
    assert ok_json(cmdb("change", "assess", change_id, "--json"))["risk"]["level"] == "high"

    pushed_back = refused(cmdb("change", "approve", change_id, "--comment", "looks fine"))
    assert f"{change_id} is not approved: its assessment found\n  - " in pushed_back
    assert "HIGH" in pushed_back
    assert "--override-reason" in pushed_back
    as_json = cmdb("change", "approve", change_id, "--json")
    refused(as_json)
    assert json.loads(as_json.stdout)["error"]["fields"][0]["reasons"]

    override = ("--override-reason", "tested on staging; 2 min outage agreed")
    first = ok(cmdb("change", "approve", change_id, *override))
    assert first == f"{change_id} assessed: 1 of 2 approvals needed (bootstrap admin (environment))\n"  # HIGH risk
    manager = ("--token", make_token(Role.CHANGE_MANAGER))
    approved = ok(cmdb(*manager, "change", "approve", change_id, *override))
    assert approved.startswith(f"{change_id} approved by bootstrap admin (environment), ")
    shown = ok(cmdb("change", "show", change_id))
    assert "tested on staging; 2 min outage agreed" in shown
    assert "risk         HIGH (current)" in shown

    assert ok(cmdb("change", "start", change_id)) == f"{change_id} implementing\n"
    again = refused(cmdb("change", "start", change_id))
    assert "allowed next: implemented, failed" in again
    completed = ok_json(cmdb("change", "complete", change_id, "--note", "upgraded to 16.4", "--json"))
    assert (completed["state"], completed["result"]) == ("implemented", "upgraded to 16.4")
    assert ok(cmdb("change", "close", change_id)) == f"{change_id} closed\n"
    shown_json = ok_json(cmdb("change", "show", change_id, "--json"))
    assert (shown_json["state"], shown_json["allowed_next"]) == ("closed", [])

    other = ok_json(cmdb(*create, "--type", "standard", "--json"))["id"]
    ok(cmdb("change", "submit", other))
    rejected = ok_json(cmdb("change", "reject", other, "--comment", "not now", "--json"))
    assert rejected["state"] == "rejected"
    failed = ok_json(cmdb(*create, "--type", "emergency", "--json"))["id"]
    ok(cmdb("change", "submit", failed))
    ok(cmdb("change", "approve", failed))  # an emergency change may be approved before its assessment
    ok_json(cmdb("change", "start", failed, "--json"))
    assert ok(cmdb("change", "complete", failed, "--failed", "--note", "backed out", "--close")) == f"{failed} closed\n"
    assert refused(cmdb("change", "show", "CHG9999")).startswith("cmdb: HTTP 404: no change 'CHG9999'")


def test_an_incident_opened_triaged_and_resolved(cmdb: Cmdb, api: httpx.Client) -> None:
    estate = build_estate(api)
    now = datetime.now(UTC)
    window = {
        "planned_start": (now - timedelta(hours=2)).isoformat(),
        "planned_end": (now - timedelta(hours=1)).isoformat(),
    }
    change = api.post("/api/v1/changes", json={"title": "db config", "targets": [estate["db1"]], **window}).json()

    half = refused(cmdb("incident", "open", "--title", "shop slow", "--affected", "shop", "--impact", "high"))
    assert "urgency (--urgency)" in half
    opened = cmdb(
        "incident", "open", "--title", "shop slow", "--affected", "shop", "--impact", "high", "--urgency", "high",
        "--assignee", "alice", "--support-group", "web",
    )  # fmt: skip
    incident_id = ok(opened).strip()
    assert incident_id.startswith("INC")
    assert "(new, priority critical)" in opened.stderr

    listed = ok(cmdb("incident", "list", "--status", "new", "--ci", "shop"))
    assert listed.splitlines()[1].split()[:3] == [incident_id, "new", "critical"]
    assert ok_json(cmdb("incident", "list", "--assignee", "bob", "--json"))["items"] == []
    shown = ok(cmdb("incident", "show", incident_id))
    assert "priority     critical (impact high, urgency high)" in shown
    assert "affects      shop (Application)" in shown
    assert ok_json(cmdb("incident", "show", incident_id, "--json"))["assignee"] == "alice"

    suspects = ok(cmdb("incident", "suspects", incident_id, "--hours", "6"))
    lines = suspects.splitlines()
    assert lines[0].startswith(f"{incident_id} opened ")
    db1 = lines.index(next(line for line in lines if line.startswith("db1 (LinuxHost)")))
    assert "hops upstream" in lines[db1]
    assert lines[db1 + 1].startswith("  path    db1 > ")
    assert lines[db1 + 1].endswith("> shop (<- DEPENDS_ON)")
    assert f"  change  {change['id']} db config (draft)" in lines[db1 + 2 :]
    found = ok_json(cmdb("incident", "suspects", incident_id, "--json"))
    assert estate["db1"] in [s["uid"] for s in found["suspects"]]

    assert ok(cmdb("incident", "resolve", incident_id, "--note", "restarted the pool")) == f"{incident_id} resolved\n"
    assert ok_json(cmdb("incident", "show", incident_id, "--json"))["status"] == "resolved"
    assert "allowed next: closed, in_progress" in refused(cmdb("incident", "resolve", incident_id))
    second = ok_json(cmdb("incident", "open", "--title", "db down", "--affected", "db1", "--json"))
    assert ok_json(cmdb("incident", "resolve", second["id"], "--json"))["status"] == "resolved"


def test_a_release_is_checked_before_it_goes(cmdb: Cmdb, api: httpx.Client) -> None:
    build_estate(api)
    start = datetime.now(UTC) + timedelta(days=1)
    inside = {"planned_start": start.isoformat(), "planned_end": (start + timedelta(hours=1)).isoformat()}
    change_id = ok(
        cmdb("change", "create", "--title", "deploy 2.1", "--type", "standard", "--target", "app1", "app2",
             "--start", inside["planned_start"], "--end", inside["planned_end"])
    ).strip()  # fmt: skip
    window = ("--start", (start - timedelta(hours=1)).isoformat(), "--end", (start + timedelta(hours=3)).isoformat())

    created = cmdb("release", "create", "--name", "shop", "--version", "2.1", "--target", "app1", "app2",
                   "--change", change_id, *window)  # fmt: skip
    release_id = ok(created).strip()
    assert release_id.startswith("REL")
    assert "no change 'CHG9999'" in refused(
        cmdb("release", "create", "--name", "shop", "--version", "2.2", "--change", "CHG9999", *window)
    )

    affected = ok(cmdb("release", "affected", release_id))
    assert "app1 (LinuxHost) [fails]" in affected
    assert "app2 (LinuxHost) [fails]" in affected
    assert "business services: web shop (" in affected
    assert f"{release_id} is not ready:\n  - change {change_id} is draft, not approved" in affected
    assert ok_json(cmdb("release", "affected", release_id, "--json"))["business_services"][0]["name"] == "web shop"

    not_ready = cmdb("release", "ready", release_id)
    assert not_ready.returncode == 1
    assert not_ready.stdout == f"{release_id} is not ready:\n  - change {change_id} is draft, not approved\n"
    not_ready_json = cmdb("release", "ready", release_id, "--json")
    assert not_ready_json.returncode == 1
    assert json.loads(not_ready_json.stdout)["ready"] is False

    ok(cmdb("change", "submit", change_id))
    ok(cmdb("change", "approve", change_id))  # a standard change is pre-authorised: no assessment
    assert ok(cmdb("release", "ready", release_id)) == f"{release_id} is ready\n"
    assert ok_json(cmdb("release", "ready", release_id, "--json"))["ready"] is True

    assert ok_json(cmdb("release", "list", "--ci", "app1", "--json"))["items"][0]["id"] == release_id
    assert ok(cmdb("release", "list")).splitlines()[1].split()[:4] == [release_id, "planned", "shop", "2.1"]
    shown = ok(cmdb("release", "show", release_id))
    assert f"changes      {change_id}" in shown
    assert ok_json(cmdb("release", "show", release_id, "--json"))["version"] == "2.1"
    assert "cannot reach" in refused(
        subprocess.run(
            [str(BIN / "cmdb"), "--url", "http://127.0.0.1:9", "--token", "t", "release", "ready", release_id],
            capture_output=True,
            text=True,
        )
    )


def test_impact_filters_and_the_single_points_of_failure_of_a_service(cmdb: Cmdb, api: httpx.Client) -> None:
    build_estate(api)
    points = ok(cmdb("service", "spof", "web shop"))
    assert points.splitlines()[0].startswith("web shop: ")
    assert "  db1 (LinuxHost): db1 -> db1:5432 (RUNS_ON) -> shop (DEPENDS_ON) -> web shop (DEPENDS_ON)" in points
    assert "app1 (LinuxHost)" not in points  # one of two members of the shop's group
    hosts = ok_json(cmdb("service", "spof", "web shop", "--class", "Host", "--json"))
    assert [i["name"] for i in hosts["items"]] == ["db1"]
    services = ok_json(cmdb("impact", "sw1", "--class", "BusinessService", "--json"))
    assert [(i["name"], i["state"]) for i in services["items"]] == [("web shop", "down")]
    assert "unknown class" in refused(cmdb("impact", "sw1", "--class", "Nope"))
