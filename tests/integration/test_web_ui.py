"""The web UI in a real browser (Debian's chromium driven by Playwright) against a real server:
signing in with a token, the home page, signing out; and what no browser should get away with."""

from __future__ import annotations

import json
from collections.abc import Callable

import httpx

from schema import Role
from tests.integration.browser import offline_page, screenshot
from tests.integration.conftest import BOOTSTRAP_TOKEN, bearer
from tests.integration.server_process import ServerProcess


def seed(server: ServerProcess) -> None:
    with httpx.Client(base_url=server.url, headers=bearer(BOOTSTRAP_TOKEN), timeout=30) as api:
        for name in ("payroll", "shop"):
            assert (
                api.post("/api/v1/cis", json={"class": "Application", "attributes": {"name": name}}).status_code == 201
            )
        service = {"class": "BusinessService", "attributes": {"name": "web shop", "criticality": "high"}}
        assert api.post("/api/v1/cis", json=service).status_code == 201


def test_a_person_signs_in_with_a_token_sees_the_estate_and_signs_out(server: ServerProcess) -> None:
    seed(server)
    with offline_page(server.url) as (page, refused):
        page.goto(server.url + "/")
        assert page.url.endswith("/sign-in")  # no session: sent to sign in
        page.get_by_label("API token").fill("cmdb_not-a-real-token")
        page.get_by_role("button", name="Sign in").click()
        assert page.get_by_role("alert").inner_text() == "invalid or revoked token"
        page.get_by_label("API token").fill(BOOTSTRAP_TOKEN)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(server.url + "/")
        assert page.get_by_role("heading", name="Configuration items").is_visible()
        assert page.locator(".big").inner_text() == "3"
        rows = page.locator("#by-class ~ table tbody tr").all_inner_texts()
        assert [r.split("\t") for r in rows] == [["Application", "2"], ["BusinessService", "1"]]
        assert page.locator(".role").inner_text() == "admin"
        cookie = next(c for c in page.context.cookies() if c["name"] == "cmdb_session")
        assert (cookie["httpOnly"], cookie["sameSite"]) == (True, "Strict")
        assert BOOTSTRAP_TOKEN not in cookie["value"]  # sealed, not the token itself
        screenshot(page, "home")
        page.get_by_role("button", name="Sign out").click()
        page.wait_for_url(server.url + "/sign-in")
        page.goto(server.url + "/")
        assert page.url.endswith("/sign-in")
    assert refused == []


def csrf_of(page: httpx.Response) -> str:
    return page.text.split('name="csrf" value="')[1].split('"')[0]


def test_a_forged_form_post_and_a_machine_token_are_refused(
    server: ServerProcess, make_token: Callable[..., str]
) -> None:
    with httpx.Client(base_url=server.url, timeout=30, follow_redirects=False) as browser:
        # A page of another site posting to the sign-in form has no CSRF cookie to match.
        forged = browser.post("/sign-in", data={"token": BOOTSTRAP_TOKEN, "csrf": "guessed"})
        assert forged.status_code == 403
        assert "cmdb_session" not in forged.cookies
        agent = browser.post(
            "/sign-in", data={"token": make_token(Role.AGENT), "csrf": csrf_of(browser.get("/sign-in"))}
        )
        assert agent.status_code == 403
        assert "has no pages" in agent.text
        signed = browser.post("/sign-in", data={"token": BOOTSTRAP_TOKEN, "csrf": csrf_of(agent)})  # a fresh form
        assert (signed.status_code, signed.headers["location"]) == (303, "/")
        # Signed in, a sign-out without the session's CSRF value is refused.
        assert browser.post("/sign-out", data={"csrf": "guessed"}).status_code == 403
        assert browser.get("/").status_code == 200


def test_search_finds_cis_pages_them_and_keeps_the_search_in_the_url(server: ServerProcess) -> None:
    with httpx.Client(base_url=server.url, headers=bearer(BOOTSTRAP_TOKEN), timeout=60) as api:
        apps = [
            {"ref": f"a{n}", "class": "Application", "name": f"app{n:03d}", "description": "payroll part"}
            for n in range(60)
        ]
        rows = [
            {"ref": a["ref"], "class": a["class"], "attributes": {"name": a["name"], "description": a["description"]}}
            for a in apps
        ]
        assert api.post("/api/v1/import", json={"cis": rows}).status_code == 200
    with offline_page(server.url) as (page, refused):
        page.goto(server.url + "/sign-in")
        page.get_by_label("API token").fill(BOOTSTRAP_TOKEN)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(server.url + "/")
        page.get_by_role("link", name="Search").click()
        page.get_by_label("Name, words, IP, MAC, serial, FQDN or package").fill("payroll")
        page.get_by_label("Class", exact=True).select_option("Application")
        page.get_by_role("button", name="Search").click()
        page.wait_for_url("**/search?**")
        assert "q=payroll" in page.url
        assert "class=Application" in page.url
        assert page.locator("p.count").inner_text() == "60 CIs, 1-50"
        assert page.locator(".results tbody tr").count() == 50
        screenshot(page, "search")
        page.get_by_role("link", name="next →").click()
        assert page.locator("p.count").inner_text() == "60 CIs, 51-60"
        assert page.locator(".results tbody tr").first.inner_text().startswith("app050")
        page.goto(server.url + "/search?q=payroll AND (")
        assert "full-text query not understood" in page.get_by_role("alert").inner_text()
    assert refused == []


def test_search_then_a_ci_page_with_sources_relationships_and_history(server: ServerProcess) -> None:
    from tests.integration.test_ingest import host_report

    with httpx.Client(base_url=server.url, headers=bearer(BOOTSTRAP_TOKEN), timeout=60) as api:
        host = api.post("/api/v1/reports", json=host_report("mid-web1", "web1")).json()["cis"]["host"]
        app = api.post("/api/v1/cis", json={"class": "Application", "attributes": {"name": "payroll"}}).json()["uid"]
        assert (
            api.post("/api/v1/relationships", json={"type": "RUNS_ON", "from_uid": app, "to_uid": host}).status_code
            == 201
        )
        api.patch(f"/api/v1/cis/{host}", json={"attributes": {"owner": "web team"}})
    with offline_page(server.url) as (page, refused):
        page.goto(server.url + "/sign-in")
        page.get_by_label("API token").fill(BOOTSTRAP_TOKEN)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(server.url + "/")
        page.goto(server.url + "/search?q=web1")
        page.get_by_role("link", name="web1").click()
        page.wait_for_url(f"{server.url}/ci/{host}")
        assert page.get_by_role("heading", name="web1").is_visible()
        cells = {
            r.split("\t")[0]: r.split("\t")[1:] for r in page.locator("#attributes ~ table tbody tr").all_inner_texts()
        }
        assert cells["os_name"][:2] == ["Debian GNU/Linux", "agent"]
        assert cells["owner"][0].startswith("web team")  # a hand edit, locked against discovery
        assert cells["owner"][1] == "manual"
        assert page.get_by_text("INSTALLED (2)").is_visible()
        assert page.get_by_text("RUNS_ON (1)").is_visible()
        assert page.locator(".timeline li").count() >= 2
        screenshot(page, "ci")
        page.get_by_role("link", name="payroll").click()
        page.wait_for_url(f"{server.url}/ci/{app}")
        page.goto(server.url + "/ci/no-such-uid")
        assert "no CI with uid 'no-such-uid'" in page.get_by_role("alert").inner_text()
    assert refused == []


def test_a_pasted_mac_finds_the_interface_and_its_host_facets_refine_and_the_result_exports(
    server: ServerProcess,
) -> None:
    from tests.integration.test_ingest import host_report

    with httpx.Client(base_url=server.url, headers=bearer(BOOTSTRAP_TOKEN), timeout=60) as api:
        report = host_report("mid-web1", "web1")
        mac = "52:54:00:12:ab:cd"
        next(r for r in report["records"] if r["class"] == "Interface")["attributes"]["mac"] = mac
        host = api.post("/api/v1/reports", json=report).json()["cis"]["host"]
        assert api.put(f"/api/v1/cis/{host}/tags/pci-scope").status_code == 200
    cisco = mac.replace(":", "")
    cisco = f"{cisco[0:4]}.{cisco[4:8]}.{cisco[8:12]}".upper()  # as a switch prints it
    with offline_page(server.url) as (page, refused):
        page.goto(server.url + "/search?q=" + cisco)
        assert "/sign-in?next=" in page.url  # the search survives signing in
        page.get_by_label("API token").fill(BOOTSTRAP_TOKEN)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url("**/search?q=*")
        row = page.locator(".results tbody tr").first
        assert row.locator("td").nth(1).inner_text() == "Interface"
        assert row.locator("td").nth(2).inner_text() == "web1"  # the host it belongs to
        screenshot(page, "search-mac")
        row.locator("td").nth(2).get_by_role("link").click()
        page.wait_for_url(f"{server.url}/ci/{host}")
        # Facets: every CI of the host's report, refined by class then tag.
        page.goto(server.url + "/search?q=web1 OR eth0")
        facets = page.locator(".facets")
        facets.get_by_role("link", name="LinuxHost").click()
        assert page.locator("p.count").inner_text().startswith("1 CI")
        page.get_by_label("Tag").fill("pci-scope")
        page.get_by_role("button", name="Search").click()
        assert "tag=pci-scope" in page.url
        assert "class=LinuxHost" in page.url
        with page.expect_download() as download:
            page.get_by_role("link", name="CSV").click()
        exported = download.value.path().read_text()
        lines = exported.splitlines()
        assert lines[0].startswith("uid,ref,class,status,parent,tags")
        assert len(lines) == 2
        assert host in lines[1]
        assert "pci-scope" in lines[1]
        with page.expect_download() as download:
            page.get_by_role("link", name="JSON").click()
        assert [ci["uid"] for ci in json.loads(download.value.path().read_text())["cis"]] == [host]
        page.goto(server.url + "/search?where=no_such_attr=1")
        assert "no_such_attr" in page.get_by_role("alert").inner_text()
        for path in ("/search?q=web1&offset=abc", "/incidents?offset=-1", "/changes?offset=x"):
            answer = page.goto(server.url + path)
            assert answer is not None
            assert answer.status == 422, path
            assert "field 'offset'" in page.get_by_role("alert").inner_text(), path
    assert refused == []
