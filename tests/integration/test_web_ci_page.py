"""The CI page in a real browser: hand edits, locks, tags and retiring for those who may
curate; the CI as it was at a time and what changed between two times; and a viewer, who
sees no write control and whose hand-made posts the server refuses."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime

import httpx
from playwright.sync_api import Page

from schema import Role
from tests.integration.browser import offline_page, screenshot
from tests.integration.conftest import BOOTSTRAP_TOKEN, bearer
from tests.integration.server_process import ServerProcess


def sign_in(page: Page, url: str, token: str) -> None:
    page.goto(url + "/sign-in")
    page.get_by_label("API token").fill(token)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(url + "/")


def cells(page: Page) -> dict[str, list[str]]:
    rows = page.locator("#attributes ~ table tbody tr").all_inner_texts()
    return {r.split("\t")[0]: [c.strip() for c in r.split("\t")[1:]] for r in rows}


def test_a_curator_edits_locks_tags_and_retires_and_reads_the_past(server: ServerProcess) -> None:
    with httpx.Client(base_url=server.url, headers=bearer(BOOTSTRAP_TOKEN), timeout=60) as api:
        created = api.post("/api/v1/cis", json={"class": "Application", "attributes": {"name": "billing"}})
        uid = created.json()["uid"]
    time.sleep(1.1)  # the form holds whole seconds: this one is after the CI was made, before its edit
    before_edit = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S")
    with offline_page(server.url) as (page, refused):
        sign_in(page, server.url, BOOTSTRAP_TOKEN)
        page.goto(f"{server.url}/ci/{uid}")
        page.get_by_label("Attribute", exact=True).select_option("owner")
        page.get_by_label("New value").fill("finance")
        page.get_by_role("button", name="Set value").click()
        page.wait_for_url(f"{server.url}/ci/{uid}")
        assert cells(page)["owner"][:2] == ["finance (locked by hand)", "manual"]
        page.get_by_role("button", name="Unlock owner").click()
        assert cells(page)["owner"][0] == "finance"
        page.get_by_role("button", name="Lock owner").click()
        assert "(locked by hand)" in cells(page)["owner"][0]
        page.get_by_label("New tag").fill("pci-scope")
        page.get_by_role("button", name="Add tag").click()
        assert page.locator(".tag").first.inner_text().startswith("pci-scope")
        page.get_by_label("New tag").fill("bad tag!")
        page.get_by_role("button", name="Add tag").click()
        assert "field 'tag'" in page.get_by_role("alert").inner_text()
        page.go_back()
        page.goto(f"{server.url}/ci/{uid}")
        page.get_by_role("button", name="Remove tag pci-scope").click()
        assert page.locator(".tag").count() == 0
        # The past: before the edit there was no owner; the diff names the change.
        page.get_by_label("As it was at (UTC)").fill(before_edit)
        page.get_by_role("button", name="Show").click()
        assert "owner" not in cells(page)
        assert "Point-in-time view" in page.locator(".notice").inner_text()
        page.goto(f"{server.url}/ci/{uid}")
        page.get_by_label("Changes from (UTC)").fill(before_edit)
        page.get_by_role("button", name="Compare").click()
        page.wait_for_url("**from=*")
        diff = page.locator("#diff tbody tr").all_inner_texts()
        assert ["owner", "\u2013", "finance"] in [r.split("\t") for r in diff]
        page.goto(f"{server.url}/ci/{uid}?at=not-a-time")
        assert "field 'at'" in page.get_by_role("alert").inner_text()
        page.goto(f"{server.url}/ci/{uid}")
        screenshot(page, "ci-curate")
        page.get_by_text("Retire this CI").click()
        page.get_by_label("Why (kept in the history)").fill("decommissioned with the old billing")
        page.get_by_role("button", name="Retire").click()
        assert page.locator(".meta .status").inner_text() == "retired"
    assert refused == []


def test_a_viewer_sees_no_write_control_and_a_hand_made_post_is_refused(
    server: ServerProcess, make_token: Callable[..., str]
) -> None:
    with httpx.Client(base_url=server.url, headers=bearer(BOOTSTRAP_TOKEN), timeout=60) as api:
        uid = api.post("/api/v1/cis", json={"class": "Application", "attributes": {"name": "crm"}}).json()["uid"]
    viewer = make_token(Role.VIEWER)
    with offline_page(server.url) as (page, refused):
        sign_in(page, server.url, viewer)
        assert page.locator(".role").inner_text() == "viewer"
        page.goto(f"{server.url}/ci/{uid}")
        assert page.get_by_role("heading", name="crm").is_visible()
        assert page.locator("main form[method=post]").count() == 0  # no edit, lock, tag or retire
        assert page.locator("main button").all_inner_texts() == ["Show", "Compare"]  # reading the past only
        csrf = page.locator("input[name=csrf]").first.get_attribute("value")
        # The viewer's own valid session and CSRF value, posting by hand: the server refuses it.
        for action, form in (("edit", {"attribute": "owner", "value": "x"}), ("retire", {"reason": "x"})):
            answer = page.request.post(f"{server.url}/ci/{uid}/{action}", form={**form, "csrf": csrf or ""})
            assert answer.status == 403, action
            assert "may not curate" in answer.text()
    with httpx.Client(base_url=server.url, headers=bearer(viewer), timeout=30) as api:
        assert api.get(f"/api/v1/cis/{uid}").status_code == 200
        assert api.patch(f"/api/v1/cis/{uid}", json={"attributes": {"owner": "x"}}).status_code == 403
        assert api.post("/api/v1/changes", json={"title": "t", "targets": [uid]}).status_code == 403
    assert refused == []
