"""The change and release pages in a real browser against a real server: a change manager
raises a change whose target is found by searching, submits and assesses it, sees the
services it takes down and why its risk is high, is refused an approval without an
override reason and approves with one; the release bundling it shows its readiness with
reasons. A viewer sees no write control, and a post made by hand with its CSRF value is 403."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import httpx
from playwright.sync_api import Page, expect

from schema import Role
from tests.integration.browser import offline_page, screenshot
from tests.integration.conftest import BOOTSTRAP_TOKEN, bearer
from tests.integration.estate import build_estate
from tests.integration.server_process import ServerProcess
from tests.integration.test_web_ui import csrf_of

START = (datetime.now(UTC) + timedelta(days=7)).replace(hour=20, minute=0, second=0, microsecond=0)
END = START + timedelta(hours=2)


def critical_estate(server: ServerProcess) -> dict[str, str]:
    """The impact estate with its web shop made critical: taking db1 down takes it down (HIGH)."""
    with httpx.Client(base_url=server.url, headers=bearer(BOOTSTRAP_TOKEN), timeout=60) as api:
        uids = build_estate(api)
        patched = api.patch(f"/api/v1/cis/{uids['service']}", json={"attributes": {"criticality": "critical"}})
        assert patched.status_code == 200, patched.text
    return uids


def sign_in(page: Page, base: str, token: str) -> None:
    page.goto(base + "/sign-in")
    page.get_by_label("API token").fill(token)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(base + "/")


def sign_out(page: Page, base: str) -> None:
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(base + "/sign-in")


def approve(page: Page, comment: str, override: str = "") -> None:
    page.get_by_label("Comment").fill(comment)
    page.get_by_label("Override reason").fill(override)
    page.get_by_role("button", name="Approve").click()
    page.wait_for_load_state()


def test_a_change_manager_raises_assesses_and_approves_a_risky_change_with_an_override(
    server: ServerProcess, make_token: Callable[..., str]
) -> None:
    uids = critical_estate(server)
    base = server.url
    first, second = make_token(Role.CHANGE_MANAGER), make_token(Role.CHANGE_MANAGER)
    with offline_page(base) as (page, refused):
        sign_in(page, base, first)
        page.get_by_role("link", name="Changes", exact=True).click()
        page.wait_for_url(base + "/changes")
        page.get_by_role("link", name="New change").click()
        page.get_by_label("Title").fill("upgrade PostgreSQL on db1")
        page.get_by_label("Planned start (UTC)").fill(START.strftime("%Y-%m-%dT%H:%M"))
        page.get_by_label("Planned end (UTC)").fill(END.strftime("%Y-%m-%dT%H:%M"))
        page.get_by_label("Implementation plan").fill("1. stop\n2. upgrade\n3. start")
        page.get_by_label("Backout plan").fill("restore the snapshot")
        # The target is found by typing: the results come as the name is typed.
        page.get_by_label("Find CIs to add").press_sequentially("db1", delay=50)
        found = page.locator("#target-results .found li", has_text="LinuxHost")
        expect(found).to_have_count(1)
        add = found.get_by_role("button", name="Add db1")
        add.focus()
        page.keyboard.press("Enter")  # the keyboard adds it too
        expect(page.locator("#chosen li")).to_have_count(1)
        assert page.locator("#chosen input[name=target]").get_attribute("value") == uids["db1"]
        expect(add).to_be_disabled()
        screenshot(page, "change-new")
        page.get_by_role("button", name="Create the change (draft)").click()
        page.wait_for_url("**/changes/CHG*")
        change_id = page.url.rsplit("/", 1)[1]
        expect(page.locator("#change-state")).to_have_text("draft")
        expect(page.get_by_role("link", name="db1")).to_have_attribute("href", f"/ci/{uids['db1']}")

        page.get_by_role("button", name="Submit").click()
        expect(page.locator("#change-state")).to_have_text("submitted")
        page.get_by_role("button", name="Assess", exact=True).click()
        expect(page.locator("#change-state")).to_have_text("assessed")
        services = page.locator("#affected-services").inner_text()
        assert "web shop" in services
        assert "down" in services
        reasons = page.locator("#risk-reasons li").all_inner_texts()
        assert "takes the critical business service web shop down: at least high" in reasons
        assert page.locator(".risk-card .risk").inner_text().lower() == "high"

        # Approving without an override reason is refused, saying why; the form is kept.
        approve(page, "vendor fix")
        alert = page.get_by_role("alert")
        expect(alert).to_contain_text("needs an override reason")
        assert page.locator("#refusal-reasons li").first.inner_text().startswith("risk HIGH")
        assert page.get_by_label("Comment").input_value() == "vendor fix"
        expect(page.locator("#change-state")).to_have_text("assessed")
        screenshot(page, "change-refused")

        approve(page, "vendor fix", "the vendor's fix for a live outage")
        rows = page.locator("#approval-list tbody tr").all_inner_texts()
        assert len(rows) == 1
        assert "the vendor's fix for a live outage" in rows[0]
        assert "approve" in rows[0]
        expect(page.locator("#approvals .count")).to_have_text("1 of 2 needed on this revision")
        expect(page.locator("#change-state")).to_have_text("assessed")  # HIGH risk: two approvers

        with httpx.Client(base_url=base, headers=bearer(BOOTSTRAP_TOKEN), timeout=30) as api:
            other = api.post(
                "/api/v1/changes",
                json={
                    "title": "firmware on app1",
                    "planned_start": START.isoformat(),
                    "planned_end": END.isoformat(),
                    "targets": [uids["app1"]],
                },
            ).json()["id"]
            release = api.post(
                "/api/v1/releases",
                json={
                    "name": "shop 2.0",
                    "version": "2.0.0",
                    "changes": [change_id, other],
                    "targets": [uids["db1"]],
                    "window_start": (START - timedelta(hours=1)).isoformat(),
                    "window_end": (END + timedelta(hours=1)).isoformat(),
                },
            )
            assert release.status_code == 201, release.text
            release_id = release.json()["id"]

        sign_out(page, base)
        sign_in(page, base, second)
        page.goto(f"{base}/changes/{change_id}")
        approve(page, "agreed", "outage fix, agreed at CAB")
        expect(page.locator("#change-state")).to_have_text("approved")
        rows = page.locator("#approval-list tbody tr").all_inner_texts()
        assert len(rows) == 2
        assert "outage fix, agreed at CAB" in rows[0]
        expect(page.get_by_role("button", name="Approve")).to_have_count(0)  # decided
        screenshot(page, "change")
        page.set_viewport_size({"width": 400, "height": 800})
        screenshot(page, "change-narrow")
        page.set_viewport_size({"width": 1280, "height": 800})

        page.goto(f"{base}/changes?state=approved")
        expect(page.locator(".results tbody tr")).to_have_count(1)
        page.get_by_label("State").select_option("")
        page.get_by_label("Sort").select_option("title")
        page.get_by_role("button", name="Filter").click()
        page.wait_for_url("**/changes?**sort=title**")
        ids = [r.split("\t")[0] for r in page.locator(".results tbody tr").all_inner_texts()]
        assert ids == [other, change_id]  # "firmware..." before "upgrade..."
        screenshot(page, "changes")

        page.get_by_role("link", name="Releases").click()
        page.get_by_role("link", name=release_id).click()
        expect(page.locator("#ready-word")).to_contain_text("not ready")
        problems = page.locator("#readiness-problems li").all_inner_texts()
        assert problems == [f"change {other} is draft, not approved"]
        assert "web shop" in page.locator("#release-services").inner_text()
        assert page.get_by_role("link", name=change_id).is_visible()
        screenshot(page, "release")
    assert refused == []


def test_a_viewer_sees_no_write_control_and_a_hand_made_post_is_refused(
    server: ServerProcess, make_token: Callable[..., str]
) -> None:
    uids = critical_estate(server)
    with httpx.Client(base_url=server.url, headers=bearer(BOOTSTRAP_TOKEN), timeout=30) as api:
        body = {
            "title": "patch db1",
            "planned_start": START.isoformat(),
            "planned_end": END.isoformat(),
            "targets": [uids["db1"]],
        }
        change_id = api.post("/api/v1/changes", json=body).json()["id"]
        assert api.post(f"/api/v1/changes/{change_id}/transition", json={"to": "submitted"}).status_code == 200
        assert api.post(f"/api/v1/changes/{change_id}/assessment").status_code == 200
        window = {"window_start": START.isoformat(), "window_end": END.isoformat()}
        release = {"name": "r", "version": "1", "changes": [change_id], "targets": [uids["db1"]], **window}
        release_id = api.post("/api/v1/releases", json=release).json()["id"]
    viewer = make_token(Role.VIEWER)
    with offline_page(server.url) as (page, refused):
        sign_in(page, server.url, viewer)
        for path in ("/changes", f"/changes/{change_id}", "/releases", f"/releases/{release_id}"):
            page.goto(server.url + path)
            buttons = page.locator("main button").all_inner_texts()
            assert buttons in ([], ["Filter"]), (path, buttons)
            assert page.get_by_role("link", name="New change").count() == 0
        page.goto(f"{server.url}/changes/{change_id}")
        expect(page.locator("#risk-reasons")).to_contain_text("web shop")  # a viewer reads the assessment
    assert refused == []
    with httpx.Client(base_url=server.url, timeout=30, follow_redirects=False) as browser:
        signed = browser.post("/sign-in", data={"token": viewer, "csrf": csrf_of(browser.get("/sign-in"))})
        assert signed.status_code == 303
        csrf = csrf_of(browser.get(f"/changes/{change_id}"))
        assert browser.get("/changes/new").status_code == 403
        for path, data in (
            (f"/changes/{change_id}/decision", {"decision": "approve", "override_reason": "because"}),
            (f"/changes/{change_id}/transition", {"to": "cancelled"}),
            (f"/changes/{change_id}/assess", {}),
            ("/changes/new", {"title": "x", "target": uids["db1"]}),
            (f"/releases/{release_id}/transition", {"to": "approved"}),
        ):
            answer = browser.post(path, data={**data, "csrf": csrf})
            assert answer.status_code == 403, (path, answer.status_code)
            assert "may not" in answer.text
    with httpx.Client(base_url=server.url, headers=bearer(BOOTSTRAP_TOKEN), timeout=30) as api:
        stored = api.get(f"/api/v1/changes/{change_id}").json()
        assert (stored["state"], stored["approvals"]) == ("assessed", [])


def test_bad_input_on_the_change_pages_is_a_4xx_page_naming_the_field(
    server: ServerProcess, make_token: Callable[..., str]
) -> None:
    uids = critical_estate(server)
    with httpx.Client(base_url=server.url, timeout=30, follow_redirects=False) as browser:
        token = make_token(Role.CHANGE_MANAGER)
        assert browser.post("/sign-in", data={"token": token, "csrf": csrf_of(browser.get("/sign-in"))}).is_redirect
        csrf = csrf_of(browser.get("/changes/new"))
        form = {
            "csrf": csrf,
            "title": "patch",
            "type": "normal",
            "planned_start": START.strftime("%Y-%m-%dT%H:%M"),
            "planned_end": END.strftime("%Y-%m-%dT%H:%M"),
        }
        no_target = browser.post("/changes/new", data=form)
        assert no_target.status_code == 422
        assert "targets:" in no_target.text
        assert 'value="patch"' in no_target.text
        backwards = browser.post(
            "/changes/new", data={**form, "planned_end": START.strftime("%Y-%m-%dT%H:%M"), "target": uids["db1"]}
        )
        assert backwards.status_code == 422
        assert "planned_end must be after planned_start" in backwards.text
        assert f'name="target" value="{uids["db1"]}"' in backwards.text  # the chosen target is kept
        unknown = browser.post("/changes/new", data={**form, "target": "no-such-ci"})
        assert (unknown.status_code, "no CI with uid &#39;no-such-ci&#39;" in unknown.text) == (422, True)
        made = browser.post("/changes/new", data={**form, "target": uids["db1"]})
        assert made.status_code == 303
        path = made.headers["location"]
        assert browser.get(path).status_code == 200
        assert browser.get("/changes?state=bogus").status_code == 422
        assert browser.get("/changes?sort=approvals").status_code == 422
        assert browser.get("/changes?offset=-5&risk=high").status_code == 422  # as the API answers a bad offset
        assert browser.get("/changes/CHG9999").status_code == 404
        assert browser.get("/releases/REL9999").status_code == 404
        bad = browser.post(f"{path}/decision", data={"csrf": csrf, "decision": "maybe"})
        assert (bad.status_code, "decision" in bad.text) == (422, True)
        early = browser.post(f"{path}/decision", data={"csrf": csrf, "decision": "approve"})
        assert early.status_code == 409  # a draft is not approved: the refusal shown on the change's page
        assert "cannot be approved" in early.text
        illegal = browser.post(f"{path}/transition", data={"csrf": csrf, "to": "closed"})
        assert (illegal.status_code, "allowed next: submitted, cancelled" in illegal.text) == (409, True)
        picker = browser.get("/changes/target-search", params={"q": "web AND (", "target": uids["db1"]})
        assert picker.status_code == 200
        assert "full-text query" in picker.text
        assert "db1" in browser.get("/changes/target-search", params={"q": "db"}).text
