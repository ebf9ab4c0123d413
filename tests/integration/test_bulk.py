"""Bulk import, export and backup through the API, against the real graph."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from schema import Role
from tests.integration.conftest import BOOTSTRAP_TOKEN, SeedCI, bearer

ADMIN = bearer(BOOTSTRAP_TOKEN)
CSV = {"Content-Type": "text/csv"}


def _import(client: TestClient, body: str | bytes, content_type: str = "text/csv", **params: Any) -> httpx.Response:
    response: httpx.Response = client.post(
        "/api/v1/import", content=body, params=params, headers=ADMIN | {"Content-Type": content_type}
    )
    return response


def _count(client: TestClient, **params: Any) -> int:
    total: int = client.get("/api/v1/cis", params=params | {"limit": 1}, headers=ADMIN).json()["total"]
    return total


@pytest.mark.slow
def test_ten_thousand_cis_import_in_one_call_and_the_same_file_again_changes_nothing(client: TestClient) -> None:
    lines = ["class,name,owner,description"]
    lines += [f"Application,app-{i:05d},team-{i % 40},Application number {i}" for i in range(10_000)]
    body = "\n".join(lines) + "\n"
    first = _import(client, body)
    assert first.status_code == 200, first.text
    answer = first.json()
    assert answer["counts"] == {"created": 10_000}
    assert len(answer["rows"]) == 10_000
    assert answer["rows"][0] == {
        "row": 1,
        "kind": "ci",
        "ref": "row1",
        "outcome": "created",
        "uid": answer["rows"][0]["uid"],
    }
    assert _count(client, **{"class": "Application"}) == 10_000
    assert _count(client, where="owner=team-7") == 250

    second = _import(client, body)
    assert second.status_code == 200, second.text
    assert second.json()["counts"] == {"unchanged": 10_000}
    assert second.json()["events"] == 0
    assert _count(client) == 10_000


def test_a_dry_run_reports_row_by_row_and_writes_nothing(client: TestClient) -> None:
    body = (
        "class,ref,name,owner,cpu_cores,machine_id\n"
        "Application,a1,payroll,hr,,\n"  # created
        "Mainframe,m1,big-iron,,,\n"  # no such class
        "Application,a2,,ops,,\n"  # no identity key
        "LinuxHost,h1,db1,,many,m-db1\n"  # not an integer
        "Application,a1,payroll-2,,,\n"  # ref used twice
        "LinuxHost,h2,db2,,8,m-db2\n"  # created
    )
    dry = _import(client, body, dry_run="true")
    assert dry.status_code == 200, dry.text
    answer = dry.json()
    assert answer["dry_run"] is True
    assert answer["counts"] == {"created": 2, "rejected": 4}
    outcomes = {r["row"]: (r["outcome"], r.get("errors", [])) for r in answer["rows"]}
    assert outcomes[1][0] == outcomes[6][0] == "created"
    assert "'Mainframe' is not a CI class" in outcomes[2][1][0]
    assert outcomes[3][1][0].startswith("identity: missing identity keys")
    assert outcomes[4][1][0].startswith("attributes.cpu_cores: expected an integer")
    assert "used by another row" in outcomes[5][1][0]
    assert _count(client) == 0

    applied = _import(client, body)
    assert applied.json()["counts"] == {"created": 2, "rejected": 4}
    assert _count(client) == 2
    again = _import(client, body, dry_run="true").json()
    assert again["counts"] == {"unchanged": 2, "rejected": 4}


def test_json_imports_relationships_between_new_rows_and_existing_cis(client: TestClient, seed_ci: SeedCI) -> None:
    host = seed_ci("LinuxHost", name="db1", machine_id="m-db1")
    document = {
        "cis": [
            {"ref": "svc", "class": "BusinessService", "attributes": {"name": "Payroll", "criticality": "high"}},
            {"ref": "app", "class": "Application", "attributes": {"name": "payroll-app", "owner": "hr"}},
        ],
        "relationships": [
            {"type": "DEPENDS_ON", "from": "svc", "to": "app"},
            {"type": "RUNS_ON", "from": "app", "to": f"uid:{host.uid}"},
            {"type": "RUNS_ON", "from": "svc", "to": "app"},  # a service does not run on an application
            {"type": "RUNS_ON", "from": "app", "to": "uid:no-such-ci"},
        ],
    }
    response = _import(client, json.dumps(document), "application/json")
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["counts"] == {"created": 2, "accepted": 2, "rejected": 2}
    rejected = [r for r in answer["rows"] if r["outcome"] == "rejected"]
    assert [(r["kind"], r["row"]) for r in rejected] == [("relationship", 3), ("relationship", 4)]
    assert rejected[0]["errors"][0].startswith("from: RUNS_ON does not take a BusinessService")
    assert rejected[1]["errors"][0].startswith("to: no record has ref 'uid:no-such-ci'")
    app_uid = next(r["uid"] for r in answer["rows"] if r.get("ref") == "app")
    edges = client.get(f"/api/v1/cis/{app_uid}/relationships", headers=ADMIN).json()["items"]
    assert {(e["type"], e["direction"], e["other"]["name"]) for e in edges} == {
        ("DEPENDS_ON", "in", "Payroll"),
        ("RUNS_ON", "out", "db1"),
    }
    assert {s["source"] for e in edges for s in e["sources"]} == {answer["source"]}
    assert client.get(f"/api/v1/cis/{host.uid}", headers=ADMIN).json()["name"] == "db1"


@pytest.mark.parametrize(
    ("body", "content_type", "status", "field"),
    [
        ("name\nx\n", "text/csv", 422, "body"),
        ("[1, 2]", "application/json", 422, "body"),
        ('{"cis": {}}', "application/json", 422, "cis"),
        ("{nope", "application/json", 400, "body"),
        ("class\nApplication\n", "application/xml", 422, "Content-Type"),
    ],
)
def test_an_unreadable_import_file_names_what_is_wrong(
    client: TestClient, body: str, content_type: str, status: int, field: str
) -> None:
    response = _import(client, body, content_type)
    assert response.status_code == status, response.text
    assert response.json()["error"]["fields"][0]["field"] == field


def test_only_curators_import_and_only_admins_back_up(client: TestClient, make_token: Callable[[Role], str]) -> None:
    agent = bearer(make_token(Role.AGENT))
    response = client.post("/api/v1/import", content="class,name\nApplication,x\n", headers=agent | CSV)
    assert response.status_code == 403
    engineer = bearer(make_token(Role.ENGINEER))
    assert client.get("/api/v1/export/graph", headers=engineer).status_code == 403


def test_an_export_imports_again_unchanged_and_the_backup_streams_the_graph(
    client: TestClient, seed_ci: SeedCI
) -> None:
    host = seed_ci("LinuxHost", name="db1", machine_id="m-db1", cpu_cores=8)
    seed_ci("Interface", parent_uid=host.uid, name="eth0", mtu=1500)
    seed_ci("Application", name="payroll", owner="hr")
    client.put(f"/api/v1/cis/{host.uid}/tags/pci", headers=ADMIN)

    exported = client.get("/api/v1/export", params={"class": "Host"}, headers=ADMIN)
    assert exported.status_code == 200
    assert exported.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert [(r["class"], r["name"], r["cpu_cores"], r["tags"]) for r in rows] == [("LinuxHost", "db1", "8", "pci")]

    everything = client.get("/api/v1/export", params={"format": "json", "sort": "uid"}, headers=ADMIN)
    cis = everything.json()["cis"]
    assert sorted(c["class"] for c in cis) == ["Application", "Interface", "LinuxHost"]
    interface = next(c for c in cis if c["class"] == "Interface")
    assert interface["parent"] == f"uid:{host.uid}"
    again = _import(client, everything.content, "application/json")
    assert again.status_code == 200, again.text
    assert again.json()["counts"] == {"unchanged": 3}

    backup = client.get("/api/v1/export/graph", headers=ADMIN)
    assert backup.status_code == 200
    lines = [json.loads(line) for line in backup.text.splitlines()]
    nodes = [item for item in lines if item["kind"] == "node" and "CI" in item["labels"]]
    assert len(nodes) == 3
    edges = [item for item in lines if item["kind"] == "relationship"]
    assert {e["type"] for e in edges} >= {"HAS_INTERFACE"}
    assert all({"id", "start", "end", "properties"} <= set(e) for e in edges)
