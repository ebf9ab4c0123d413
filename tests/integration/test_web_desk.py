"""The service desk pages in a real browser (Debian's chromium driven by Playwright) against a
real server and Neo4j: an incident's suspects with their paths and the change before it,
resolving and opening incidents from the pages, the audit reports filtered and downloaded,
and discovery status with a source that reports, one gone stale and one refused report.
A viewer sees no write button and a hand-made post of theirs is refused."""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from neo4j import Driver
from playwright.sync_api import Page

from schema import Role
from tests.integration.browser import offline_page, screenshot
from tests.integration.conftest import BOOTSTRAP_TOKEN, bearer
from tests.integration.server_process import ServerProcess
from tests.integration.test_ingest import again, host_report

ADMIN = bearer(BOOTSTRAP_TOKEN)


def ok(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code in (200, 201), response.text
    answer: dict[str, Any] = response.json()
    return answer


def seed_incident(server: ServerProcess) -> dict[str, str]:
    """A business service depending on an application running on a host; a change on the host,
    implemented, with the host's drift during its window; an incident on the service."""
    with httpx.Client(base_url=server.url, headers=ADMIN, timeout=60) as api:
        first = host_report("mid-db9", "db9")
        host = ok(api.post("/api/v1/reports", json=first))["cis"]["host"]
        shop = ok(api.post("/api/v1/cis", json={"class": "Application", "attributes": {"name": "shop"}}))["uid"]
        service = ok(
            api.post(
                "/api/v1/cis",
                json={"class": "BusinessService", "attributes": {"name": "web shop", "criticality": "high"}},
            )
        )["uid"]
        ok(api.post("/api/v1/relationships", json={"type": "RUNS_ON", "from_uid": shop, "to_uid": host}))
        ok(api.post("/api/v1/relationships", json={"type": "DEPENDS_ON", "from_uid": service, "to_uid": shop}))
        now = datetime.now(UTC)
        change = ok(
            api.post(
                "/api/v1/changes",
                json={
                    "title": "kernel 6.1.0-30 on db9",
                    "type": "standard",
                    "targets": [host],
                    "planned_start": (now - timedelta(minutes=30)).isoformat(),
                    "planned_end": (now + timedelta(minutes=30)).isoformat(),
                },
            )
        )
        for state in ("submitted", "approved", "implementing"):
            ok(api.post(f"/api/v1/changes/{change['id']}/transition", json={"to": state}))
        drifted = again(first)
        drifted["records"][0]["attributes"]["os_name"] = "Debian GNU/Linux 13"
        ok(api.post("/api/v1/reports", json=drifted))
        ok(api.post(f"/api/v1/changes/{change['id']}/transition", json={"to": "implemented"}))
        incident = ok(
            api.post(
                "/api/v1/incidents",
                json={"title": "web shop checkout fails", "priority": "high", "affected": [service]},
            )
        )
    return {"host": host, "shop": shop, "service": service, "change": change["id"], "incident": incident["id"]}


def sign_in(page: Page, url: str, token: str = BOOTSTRAP_TOKEN) -> None:
    page.goto(url + "/sign-in")
    page.get_by_label("API token").fill(token)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(url + "/")


def test_incident_suspects_resolve_and_open_one_by_search(server: ServerProcess) -> None:
    seeded = seed_incident(server)
    incident = seeded["incident"]
    with offline_page(server.url) as (page, refused):
        sign_in(page, server.url)
        page.get_by_role("link", name=incident).click()  # the home page's open incidents
        page.wait_for_url(f"{server.url}/incidents/{incident}")
        assert page.get_by_role("heading", name=f"{incident} web shop checkout fails").is_visible()
        suspect = page.locator("article.suspect", has=page.get_by_role("link", name="db9", exact=True))
        assert suspect.count() == 1
        path = " ".join(suspect.locator(".path").inner_text().split())
        assert path == "PATH db9 › shop (← RUNS_ON) › web shop (← DEPENDS_ON)"  # noqa: RUF001 (the page's marks)
        assert f"{seeded['change']} kernel 6.1.0-30 on db9 (implemented)" in suspect.inner_text()
        assert "attribute os_name: Debian GNU/Linux → Debian GNU/Linux 13" in suspect.inner_text()
        screenshot(page, "incident")
        page.set_viewport_size({"width": 400, "height": 800})
        screenshot(page, "incident-narrow")
        page.set_viewport_size({"width": 1280, "height": 800})

        page.get_by_label("Resolution note").fill("rolled the kernel back")
        page.get_by_role("button", name="Resolve").click()
        page.wait_for_url(f"{server.url}/incidents/{incident}")
        facts = page.locator("dl.facts").inner_text()
        assert "resolved" in facts
        assert "rolled the kernel back" in facts
        page.get_by_label("Assignee").fill("alice")
        page.get_by_role("button", name="Assign").click()
        page.wait_for_url(f"{server.url}/incidents/{incident}")
        assert "alice" in page.locator("dl.facts").inner_text()

        page.get_by_role("link", name="Incidents", exact=True).first.click()
        page.get_by_role("link", name="Open an incident").click()
        page.get_by_label("Title").fill("shop answers slowly")
        page.get_by_label("Impact").select_option("high")
        page.get_by_label("Urgency").select_option("high")
        page.get_by_label("Find the CI (name, address, words)").fill("shop")
        page.locator("#ci-choices").get_by_role("button", name=re.compile(r"^shop ")).click()
        page.locator("#chosen-ci .chosen").wait_for()
        assert page.locator("#chosen-ci .chosen").inner_text().startswith("Chosen: shop")
        page.get_by_role("button", name="Open incident").click()
        page.wait_for_url(f"{server.url}/incidents/INC*")
        opened = page.url.rsplit("/", 1)[1]
        assert opened != incident
        facts = page.locator("dl.facts").inner_text()
        assert "critical" in facts  # high impact, high urgency: the API's matrix
        assert page.locator("dl.facts").get_by_role("link", name="shop").get_attribute("href") == (
            f"/ci/{seeded['shop']}"
        )

        page.goto(server.url + "/incidents")
        page.get_by_label("Status").select_option("resolved")
        page.get_by_role("button", name="Filter").click()
        page.wait_for_url("**/incidents?**")
        assert "status=resolved" in page.url
        rows = page.locator(".incidents tbody tr").all_inner_texts()
        assert [r.split("\t")[0] for r in rows] == [incident]
        page.goto(server.url + "/incidents")
        assert page.locator(".incidents tbody tr").count() == 2
        screenshot(page, "incidents")
        page.goto(server.url + "/incidents?priority=urgent")
        assert "(field 'priority')" in page.get_by_role("alert").inner_text()
    assert refused == []


def test_audit_filters_and_downloads_csv_and_json(server: ServerProcess) -> None:
    with httpx.Client(base_url=server.url, headers=ADMIN, timeout=60) as api:
        first = host_report("mid-web9", "web9")
        host = ok(api.post("/api/v1/reports", json=first))["cis"]["host"]
        since = datetime.now(UTC).replace(microsecond=0, second=0) - timedelta(minutes=1)
        after = datetime.now(UTC)
        drifted = again(first)
        drifted["records"][0]["attributes"]["os_name"] = '=HYPERLINK("http://127.0.0.1/x")'
        drifted["records"][1]["attributes"]["mtu"] = 9000
        ok(api.post("/api/v1/reports", json=drifted))
        in_api = ok(api.get("/api/v1/reports/unauthorised-changes", params={"since": after.isoformat()}))["items"]
        assert sorted(i["field"] for i in in_api) == ["mtu", "os_name"]
    with offline_page(server.url) as (page, refused):
        sign_in(page, server.url)
        page.get_by_role("link", name="Audit").first.click()
        page.wait_for_url(server.url + "/audit")
        page.get_by_label("From (UTC)").fill(since.strftime("%Y-%m-%dT%H:%M"))
        page.get_by_label("Class").select_option("LinuxHost")
        page.get_by_label("Kind of change").select_option("attribute")
        page.get_by_label("Source").fill("agent:web9")
        page.get_by_role("button", name="Filter").click()
        page.wait_for_url("**/audit?**")
        assert "class=LinuxHost" in page.url
        assert "kind=attribute" in page.url
        rows = [r.split("\t") for r in page.locator("#unauthorised-table tbody tr").all_inner_texts()]
        assert [(r[1], r[3], r[5], r[6]) for r in rows] == [
            ("web9", "attribute os_name", '=HYPERLINK("http://127.0.0.1/x")', "agent:web9")
        ]  # the Interface's mtu is another class
        screenshot(page, "audit")

        with page.expect_download() as csv_download:
            page.locator("#unauthorised ~ .downloads, .heading-row:has(#unauthorised) .downloads").get_by_role(
                "link", name="CSV"
            ).click()
        got = csv_download.value
        assert got.suggested_filename.startswith("unauthorised-changes-")
        assert got.suggested_filename.endswith(".csv")
        with open(got.path(), encoding="utf-8") as file:
            table = list(csv.DictReader(file))
        assert [(r["ci_uid"], r["field"], r["new"], r["source"]) for r in table] == [
            (host, "os_name", '\'=HYPERLINK("http://127.0.0.1/x")', "agent:web9")
        ]  # a spreadsheet keeps it as text, not a formula

        with page.expect_download() as json_download:
            page.locator(".heading-row:has(#unauthorised) .downloads").get_by_role("link", name="JSON").click()
        with open(json_download.value.path(), encoding="utf-8") as file:
            exported = json.load(file)
        assert exported["filters"]["class"] == "LinuxHost"
        assert [(i["ci"]["name"], i["field"], i["new"]) for i in exported["items"]] == [
            ("web9", "os_name", '=HYPERLINK("http://127.0.0.1/x")')
        ]

        page.goto(server.url + "/audit?class=LinuxHost&finding=single_source&source=agent")
        findings = [r.split("\t") for r in page.locator("#findings-table tbody tr").all_inner_texts()]
        assert [f[:4] for f in findings] == [["single source", "web9", "LinuxHost", "agent"]]
        with page.expect_download() as findings_download:
            page.locator(".heading-row:has(#configuration) .downloads").get_by_role("link", name="CSV").click()
        with open(findings_download.value.path(), encoding="utf-8") as file:
            found = list(csv.DictReader(file))
        assert [(r["finding"], r["uid"], r["source"]) for r in found] == [("single_source", host, "agent")]

        page.goto(server.url + "/audit?kind=reboot")
        assert "(field 'kind')" in page.get_by_role("alert").inner_text()
    assert refused == []
    with httpx.Client(base_url=server.url, timeout=30) as anonymous:
        assert anonymous.get("/audit/unauthorised.csv").status_code == 303  # no session: sign in first


def test_discovery_lists_reporting_stale_and_refused_sources(
    server: ServerProcess, make_token: Callable[..., str], neo4j_driver: Driver
) -> None:
    fresh, old = bearer(make_token(Role.AGENT)), bearer(make_token(Role.AGENT))
    with httpx.Client(base_url=server.url, timeout=60) as api:
        ok(api.post("/api/v1/reports", json=host_report("mid-web7", "web7"), headers=fresh))
        ok(api.post("/api/v1/reports", json=host_report("mid-old1", "old1"), headers=old))
        future = host_report("mid-web7", "web7", collected_at=datetime(2099, 1, 1, tzinfo=UTC))
        assert api.post("/api/v1/reports", json=future, headers=fresh).status_code == 422
    # old1's agent went quiet four days ago (the server's staleness setting is 72 h).
    neo4j_driver.execute_query(
        "MATCH (s:SourceState {source: 'agent:old1'}) SET s.received_at = datetime() - duration({days: 4})"
    )
    with offline_page(server.url) as (page, refused):
        sign_in(page, server.url)
        page.get_by_role("link", name="Discovery").first.click()
        page.wait_for_url(server.url + "/discovery")
        rows = {r.split("\t")[0]: r.split("\t") for r in page.locator("#sources-table tbody tr").all_inner_texts()}
        assert set(rows) == {"agent:old1", "agent:web7"}
        assert rows["agent:old1"][1] == "stale"
        assert "days ago" in rows["agent:old1"][2]
        assert rows["agent:web7"][1] == "reporting"
        assert rows["agent:web7"][6].startswith("refused 1×")  # noqa: RUF001
        assert "HTTP 422" in rows["agent:web7"][6]
        assert "collected_at" in rows["agent:web7"][6]
        collectors = [r.split("\t") for r in page.locator("#collectors ~ .scroll tbody tr").all_inner_texts()]
        assert [(c[0], c[1], c[3]) for c in collectors] == [("agent", "2", "1 stale")]
        # The mark is more than a colour: a word, and a sign before it.
        mark = page.locator("#sources-table .source-stale").evaluate("e => getComputedStyle(e, '::before').content")
        assert mark not in ("none", "normal", "")
        screenshot(page, "discovery")
        page.get_by_label("Show").select_option("stale")
        page.get_by_role("button", name="Show").click()
        page.wait_for_url("**/discovery?**")
        assert page.locator("#sources-table tbody tr").all_inner_texts()[0].startswith("agent:old1")
        assert page.locator("#sources-table tbody tr").count() == 1
    assert refused == []


def csrf_of(page: httpx.Response) -> str:
    return page.text.split('name="csrf" value="')[1].split('"')[0]


def test_a_viewer_sees_no_write_button_and_a_hand_made_post_is_refused(
    server: ServerProcess, make_token: Callable[..., str]
) -> None:
    incident = seed_incident(server)["incident"]
    viewer = make_token(Role.VIEWER)
    with offline_page(server.url) as (page, refused):
        sign_in(page, server.url, viewer)
        for path in (f"/incidents/{incident}", "/incidents", "/incidents/new", "/audit", "/discovery"):
            page.goto(server.url + path)
            assert page.locator("form[method=post]").count() == 1, path  # signing out only
            assert page.get_by_role("link", name="Open an incident").count() == 0
        page.goto(f"{server.url}/incidents/{incident}")
        assert page.get_by_role("button", name="Resolve").count() == 0
        assert page.locator("article.suspect").count() >= 1  # a viewer reads the triage
    assert refused == []
    with httpx.Client(base_url=server.url, timeout=30, follow_redirects=False) as browser:
        signed = browser.post("/sign-in", data={"token": viewer, "csrf": csrf_of(browser.get("/sign-in"))})
        assert signed.status_code == 303
        csrf = csrf_of(browser.get(f"/incidents/{incident}"))
        resolve = browser.post(
            f"/incidents/{incident}/transition", data={"csrf": csrf, "to": "resolved", "note": "forged"}
        )
        assert resolve.status_code == 403
        assert "may not respond incident" in resolve.text
        opened = browser.post("/incidents/new", data={"csrf": csrf, "title": "x", "affected": "y"})
        assert opened.status_code == 403
    with httpx.Client(base_url=server.url, headers=ADMIN, timeout=30) as api:
        assert ok(api.get(f"/api/v1/incidents/{incident}"))["status"] == "new"
