"""Source precedence holds for hand edits: a hand-set value stands against lower-ranked
sources (discovery, imports) for the stale window after the edit; a lock stands for good.
A hand edit is no discovery: it does not make a CI stale-able nor count as a source in
the audit."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from cmdb_server.app import create_app
from cmdb_server.config import Settings
from tests.integration.conftest import BOOTSTRAP_TOKEN, bearer
from tests.integration.test_ingest import again, host_report, send

ADMIN = bearer(BOOTSTRAP_TOKEN)
WINDOW_SECONDS = 2.0


def _import(client: TestClient, *cis: dict[str, Any]) -> dict[str, Any]:
    response = client.post("/api/v1/import", json={"cis": list(cis)}, headers=ADMIN)
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


def _attributes(client: TestClient, uid: str) -> dict[str, Any]:
    response = client.get(f"/api/v1/cis/{uid}", headers=ADMIN)
    assert response.status_code == 200, response.text
    attributes: dict[str, Any] = response.json()["attributes"]
    return attributes


def _app(name: str, **attributes: Any) -> dict[str, Any]:
    return {"class": "Application", "attributes": {"name": name, **attributes}}


def test_an_import_does_not_overwrite_a_hand_edit(client: TestClient) -> None:
    imported = _import(client, _app("payroll", owner="ops", version="1.0"))
    uid = imported["rows"][0]["uid"]
    edited = client.patch(f"/api/v1/cis/{uid}", json={"attributes": {"owner": "hr"}}, headers=ADMIN)
    assert edited.status_code == 200, edited.text

    again_imported = _import(client, _app("payroll", owner="ops", version="1.1"))
    assert again_imported["rows"][0]["outcome"] == "updated"
    assert _attributes(client, uid) == {"name": "payroll", "owner": "hr", "version": "1.1"}  # before: owner ops

    created = client.post("/api/v1/cis", json=_app("billing", owner="finance"), headers=ADMIN)
    assert created.status_code == 201, created.text
    assert _import(client, _app("billing", owner="ops"))["rows"][0]["outcome"] == "unchanged"
    assert _attributes(client, created.json()["uid"])["owner"] == "finance"


def test_discovery_does_not_overwrite_a_hand_edit(client: TestClient) -> None:
    report = host_report()
    uid = send(client, report).json()["cis"]["host"]
    edited = client.patch(f"/api/v1/cis/{uid}", json={"attributes": {"cpu_cores": 64}}, headers=ADMIN)
    assert edited.status_code == 200, edited.text
    assert edited.json()["locks"] == {}  # cpu_cores is not lockable

    later = again(report)
    later["records"][0]["attributes"]["os_name"] = "Debian GNU/Linux 13"
    assert send(client, later).status_code == 200
    attributes = _attributes(client, uid)
    assert attributes["cpu_cores"] == 64  # the agent still says 4
    assert attributes["os_name"] == "Debian GNU/Linux 13"  # what nobody set by hand follows discovery


@pytest.fixture
def short_window_client(settings: Settings, empty_graph: None) -> Iterator[TestClient]:
    """A server whose stale window is two seconds long."""
    short = settings.model_copy(update={"stale_after_hours": WINDOW_SECONDS / 3600})
    with TestClient(create_app(short)) as test_client:
        yield test_client


def test_after_the_stale_window_lower_sources_take_a_hand_set_value_but_not_a_locked_one(
    short_window_client: TestClient,
) -> None:
    client = short_window_client
    created = client.post("/api/v1/cis", json=_app("payroll", owner="hr"), headers=ADMIN)
    uid = created.json()["uid"]
    locked = client.patch(f"/api/v1/cis/{uid}", json={"attributes": {"description": "by hand"}}, headers=ADMIN)
    assert locked.json()["locks"] == {"description": "bootstrap admin (environment)"}
    assert _import(client, _app("payroll", owner="ops"))["rows"][0]["outcome"] == "unchanged"

    time.sleep(WINDOW_SECONDS * 1.5)
    taken = _import(client, _app("payroll", owner="ops", description="from the import"))
    assert taken["rows"][0]["outcome"] == "updated"
    ci = client.get(f"/api/v1/cis/{uid}", headers=ADMIN).json()
    assert ci["attributes"]["owner"] == "ops"
    assert ci["attributes"]["description"] == "by hand"
    assert ci["drift"]["description"]["value"] == "from the import"

    client.patch(f"/api/v1/cis/{uid}", json={"attributes": {"owner": "hr"}}, headers=ADMIN)
    assert _import(client, _app("payroll", owner="ops"))["rows"][0]["outcome"] == "unchanged"  # a new edit holds


def test_a_hand_edit_is_no_discovery(client: TestClient) -> None:
    created = client.post("/api/v1/cis", json=_app("payroll", owner="hr"), headers=ADMIN)
    uid = created.json()["uid"]
    client.patch(f"/api/v1/cis/{uid}", json={"attributes": {"owner": "finance"}}, headers=ADMIN)
    host = send(client, host_report()).json()["cis"]["host"]
    client.patch(f"/api/v1/cis/{host}", json={"attributes": {"cpu_cores": 64}}, headers=ADMIN)

    marked = client.post("/api/v1/maintenance/mark-stale", params={"older_than_hours": 0.000001}, headers=ADMIN)
    assert marked.status_code == 200, marked.text
    assert client.get(f"/api/v1/cis/{uid}", headers=ADMIN).json()["status"] == "active"
    assert client.get(f"/api/v1/cis/{host}", headers=ADMIN).json()["status"] == "stale"

    audit = client.get("/api/v1/reports/configuration-audit", headers=ADMIN).json()
    assert audit["coverage"]["by_class"]["Application"] == {"none": 1}
    assert [(s["uid"], s["source"]) for s in audit["single_source"]] == [(host, "agent")]
