"""A business service's service level on its CI page, in a real browser against a real server
and Neo4j: a change manager agrees business hours, a holiday and a 99.9 % target with the form
and reads them in the panel (with this month's availability so far and last month's); a bad
time zone is refused on the page naming it, nothing saved; a viewer sees the panel, no form,
and a hand-made post of theirs is refused. The API answers what the page saved."""

from __future__ import annotations

import time
from collections.abc import Callable

import httpx
from playwright.sync_api import Page

from schema import Role
from tests.integration.browser import offline_page, screenshot
from tests.integration.conftest import BOOTSTRAP_TOKEN, bearer
from tests.integration.server_process import ServerProcess
from tests.integration.test_web_ci_page import sign_in


def facts(page: Page) -> dict[str, str]:
    terms = page.locator("#service-level dt").all_inner_texts()
    return dict(zip(terms, page.locator("#service-level dd").all_inner_texts(), strict=True))


def rows(page: Page, table: str) -> list[list[str]]:
    lines = page.get_by_role("table", name=table).locator("tbody tr").all_inner_texts()
    return [[cell.strip() for cell in line.split("\t")] for line in lines]


def test_a_change_manager_agrees_a_service_level_and_a_viewer_reads_it(
    server: ServerProcess, make_token: Callable[..., str]
) -> None:
    with httpx.Client(base_url=server.url, headers=bearer(BOOTSTRAP_TOKEN), timeout=60) as api:
        service = api.post("/api/v1/cis", json={"class": "BusinessService", "attributes": {"name": "payroll"}})
        uid = service.json()["uid"]
        app = api.post("/api/v1/cis", json={"class": "Application", "attributes": {"name": "payroll-app"}})
        opened = api.post(
            "/api/v1/incidents", json={"title": "payroll down", "priority": "critical", "affected": [uid]}
        )
        assert opened.status_code == 201, opened.text
    time.sleep(1.2)  # the open incident is down time until now: more than a rounding's worth
    manager, viewer, engineer = (make_token(r) for r in (Role.CHANGE_MANAGER, Role.VIEWER, Role.ENGINEER))
    url = f"{server.url}/ci/{uid}"
    with offline_page(server.url) as (page, refused):
        # A viewer: the panel with what the service is measured against, no form.
        sign_in(page, server.url, viewer)
        page.goto(url)
        assert "none agreed" in page.locator("#service-level-title").inner_text()
        assert facts(page)["Service hours"] == "24x7"
        this_month, last_month = rows(page, "Availability")
        assert this_month[0].endswith("(so far)")
        assert this_month[3] == "1"
        assert last_month[3] == "0"
        assert last_month[4] == "no target"
        assert page.get_by_role("link", name=this_month[0].split()[0]).get_attribute("href") == (
            "/service-report?period=" + this_month[0].split()[0]
        )
        assert [r[3] for r in rows(page, "Incident targets")] == ["default"] * 4
        assert page.locator("#service-level form").count() == 0
        assert page.get_by_text("Agree the service level").count() == 0
        csrf = page.locator("input[name=csrf]").first.get_attribute("value") or ""
        answer = page.request.post(f"{url}/service-level", form={"csrf": csrf, "hours": "24x7", "time_zone": "UTC"})
        assert answer.status == 403
        assert "may not manage change" in answer.text()
        # An engineer curates the graph but does not agree service levels: no form either.
        page.context.clear_cookies()
        sign_in(page, server.url, engineer)
        page.goto(url)
        assert page.locator("#service-level").is_visible()
        assert page.locator("#service-level form").count() == 0
        page.context.clear_cookies()

        sign_in(page, server.url, manager)
        page.goto(url)
        page.get_by_text("Agree the service level").click()
        page.get_by_label("Availability target").fill("99.9")
        page.get_by_label("Service hours").select_option("windows")
        page.get_by_label("Windows").fill("mon-fri 08:00-18:00")
        page.get_by_label("Time zone").fill("Europe/Paris")
        page.get_by_label("Holidays").fill("2026-12-25")
        page.get_by_label("Critical response").fill("10")
        page.get_by_label("Critical resolution").fill("120")
        page.get_by_role("button", name="Save service level").click()
        page.wait_for_url(url + "#service-level")
        shown = facts(page)
        assert shown["Availability target"] == "99.900 %"
        assert shown["Service hours"].startswith("Mon-Fri 08:00-18:00")
        assert shown["Time zone"] == "Europe/Paris"
        assert shown["Holidays"] == "2026-12-25"
        targets = rows(page, "Incident targets")
        assert targets[0] == ["critical", "10 min", "2 h", "agreed"]
        assert [r[3] for r in targets[1:]] == ["default"] * 3
        # Measured against the level just saved (this month has no service hours yet before 08:00 on the 1st).
        verdicts = [r[4] for r in rows(page, "Availability")]
        assert verdicts[1].startswith(("met, +0.100 points", "breached")), verdicts
        assert verdicts[0].startswith(("met", "breached", "no service hours yet")), verdicts
        # The form shows the level as saved: the windows as typed, the agreed targets only.
        page.get_by_text("Agree the service level").click()
        assert page.get_by_label("Windows").input_value() == "mon-fri 08:00-18:00"
        assert page.get_by_label("High response").input_value() == ""
        screenshot(page, "ci-service-level")
        page.set_viewport_size({"width": 400, "height": 900})
        screenshot(page, "ci-service-level-narrow")
        page.set_viewport_size({"width": 1280, "height": 800})

        # A bad time zone: the page again with the error naming it and the form as typed.
        page.get_by_label("Time zone").fill("Mars/Olympus")
        page.get_by_label("Availability target").fill("95")
        page.get_by_role("button", name="Save service level").click()
        alert = page.get_by_role("alert")
        assert alert.inner_text().startswith("Time zone: 'Mars/Olympus' is not an IANA time zone")
        assert page.get_by_label("Time zone").get_attribute("aria-invalid") == "true"
        assert page.get_by_label("Availability target").input_value() == "95"
        screenshot(page, "ci-service-level-refused")
        # A window the API refuses names the line of the windows box.
        page.get_by_label("Time zone").fill("Europe/Paris")
        page.get_by_label("Windows").fill("mon-fri 08:00-18:00\nsat 12:00-09:00")
        page.get_by_role("button", name="Save service level").click()
        assert page.get_by_role("alert").inner_text().startswith("Windows: line 2: the end (09:00)")
        assert facts(page)["Availability target"] == "99.900 %"  # nothing saved
    assert refused == []
    with httpx.Client(base_url=server.url, headers=bearer(manager), timeout=30) as api:
        level = api.get(f"/api/v1/services/{uid}/service-level").json()
        assert level["availability_target_percent"] == 99.9
        assert level["time_zone"] == "Europe/Paris"
        assert level["windows"] == [{"days": ["mon", "tue", "wed", "thu", "fri"], "start": "08:00", "end": "18:00"}]
        assert level["holidays"] == ["2026-12-25"]
        # An application's page has no service level, and its form's address is no service.
        app_uid = app.json()["uid"]
    with offline_page(server.url) as (page, _):
        sign_in(page, server.url, manager)
        page.goto(f"{server.url}/ci/{app_uid}")
        assert page.locator("#service-level").count() == 0
        csrf = page.locator("input[name=csrf]").first.get_attribute("value") or ""
        answer = page.request.post(
            f"{server.url}/ci/{app_uid}/service-level", form={"csrf": csrf, "hours": "24x7", "time_zone": "UTC"}
        )
        assert answer.status == 404
