"""Values too long for Neo4j's indexes, and blank identity keys, are refused by name on
every write path (reports, hand edits, imports), never a 500.

A value over an index's key size limit fails inside Neo4j, after the whole report was
checked. The limits of ``schema/limits.toml`` keep every value under them: these tests
send values just over the limits (refused, naming the record and field) and the longest
values allowed, in four-byte characters (accepted by the real Neo4j).
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from neo4j import Driver

from agent.spool import Spool
from agent.transport import Transport, TransportSettings
from schema import Role
from schema.values import LIMITS
from tests.integration.conftest import BOOTSTRAP_TOKEN, SeedCI, bearer
from tests.integration.server_process import ServerProcess
from tests.integration.test_ingest import counts, host_report, send

ADMIN = bearer(BOOTSTRAP_TOKEN)
WIDE = "\U0001f600"  # four bytes in UTF-8, the most a character takes
TOO_LONG = "x" * 10_000


def _package(name: str, version: str = "1.0", architecture: str = "amd64") -> dict[str, Any]:
    return {
        "ref": "pkg:long",
        "class": "SoftwarePackage",
        "identity": {"package_name": name, "version": version, "architecture": architecture, "manager": "dpkg"},
    }


def _fields(response: Any) -> dict[str, str]:
    return {f["field"]: f["message"] for f in response.json()["error"]["fields"]}


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (
            lambda r: r["records"].append(_package(TOO_LONG)),
            "records[4] (ref 'pkg:long').identity.package_name",
        ),
        (
            lambda r: r["records"].append(_package("bash", version=WIDE * (LIMITS.indexed_max_length + 1))),
            "records[4] (ref 'pkg:long').identity.version",
        ),
        (lambda r: r["records"][0]["attributes"].update(name=TOO_LONG), "records[0] (ref 'host').attributes.name"),
        (
            lambda r: r["records"][0]["attributes"].update(description=WIDE * (LIMITS.max_length + 1)),
            "records[0] (ref 'host').attributes.description",
        ),
        (
            lambda r: r["records"][1]["attributes"].update(addresses=["10.0.0.1/24", "x" * (LIMITS.max_length + 1)]),
            "records[1] (ref 'eth0').attributes.addresses",
        ),
    ],
    ids=["identity-key", "identity-key-wide-characters", "name", "description", "list-item"],
)
def test_a_report_with_a_value_too_long_is_422_naming_record_and_field_and_writes_nothing(
    client: TestClient, neo4j_driver: Driver, mutate: Callable[[dict[str, Any]], None], field: str
) -> None:
    report = host_report()
    mutate(report)
    response = send(client, report)
    assert response.status_code == 422, response.text
    assert "at most" in _fields(response)[field]
    assert counts(neo4j_driver) == {"cis": 0, "events": 0, "rels": 0}


def test_the_longest_values_allowed_fit_the_real_indexes(client: TestClient, neo4j_driver: Driver) -> None:
    longest = WIDE * LIMITS.indexed_max_length
    report = host_report(hostname="web1")
    report["records"][0]["attributes"] |= {"name": WIDE * LIMITS.max_length, "description": WIDE * LIMITS.max_length}
    report["records"][1]["identity"]["name"] = longest  # under its host's uid, in a unique index
    report["records"].append(_package(longest, version=longest, architecture=longest))  # four keys in one index
    report["relations"].append({"type": "INSTALLED", "from": "host", "to": "pkg:long"})
    response = send(client, report)
    assert response.status_code == 200, response.text
    assert counts(neo4j_driver)["cis"] == 5
    found = client.get("/api/v1/cis", params={"class": "SoftwarePackage", "where": f"version={longest}"}, headers=ADMIN)
    assert found.json()["total"] == 1


def test_hand_made_and_edited_cis_keep_to_the_same_limits(client: TestClient, seed_ci: SeedCI) -> None:
    created = client.post("/api/v1/cis", json={"class": "Application", "attributes": {"name": TOO_LONG}}, headers=ADMIN)
    assert created.status_code == 422, created.text
    assert "at most" in _fields(created)["attributes.name"]
    described = client.post(
        "/api/v1/cis",
        json={"class": "Application", "attributes": {"name": "payroll", "description": "x" * (LIMITS.max_length + 1)}},
        headers=ADMIN,
    )
    assert described.status_code == 422, described.text
    assert "attributes.description" in _fields(described)

    host = seed_ci("LinuxHost", name="db1", machine_id="m-db1")
    for attributes, field in (
        ({"hostname": TOO_LONG}, "attributes.hostname"),  # an identity key: in a range index
        ({"name": WIDE * 10_000}, "attributes.name"),  # 40,000 bytes: over the text index's limit
    ):
        edited = client.patch(f"/api/v1/cis/{host.uid}", json={"attributes": attributes}, headers=ADMIN)
        assert edited.status_code == 422, edited.text
        assert "at most" in _fields(edited)[field]
    assert client.get(f"/api/v1/cis/{host.uid}", headers=ADMIN).json()["name"] == "db1"


def test_an_import_rejects_the_row_with_a_value_too_long_and_takes_the_others(client: TestClient) -> None:
    body = f"class,name,owner\nApplication,payroll,hr\nApplication,{TOO_LONG},ops\nApplication,billing,finance\n"
    response = client.post("/api/v1/import", content=body, headers=ADMIN | {"Content-Type": "text/csv"})
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["counts"] == {"created": 2, "rejected": 1}
    rejected = next(r for r in answer["rows"] if r["outcome"] == "rejected")
    assert rejected["row"] == 2
    assert rejected["errors"][0].startswith("identity.name: at most")
    names = {c["name"] for c in client.get("/api/v1/cis", headers=ADMIN).json()["items"]}
    assert names == {"payroll", "billing"}


def test_an_agent_report_with_a_value_too_long_is_set_aside_and_the_queue_goes_on(
    server: ServerProcess, make_token: Callable[[Role], str], tmp_path: Path
) -> None:
    """The agent retries a 5xx and keeps the report first in its queue: a 422 it sets aside."""
    spool = Spool(tmp_path / "spool", max_reports=10)
    bad = host_report()
    bad["records"].append(_package(TOO_LONG))
    first = spool.put(bad)
    second = spool.put(host_report())
    transport = Transport(
        TransportSettings(server_url=server.url, token=make_token(Role.AGENT), retries=2, backoff_seconds=0.1)
    )
    try:
        result = transport.flush(spool)
    finally:
        transport.close()
    assert result.rejected == [first.name]
    assert result.delivered == [second.name]
    reason = (spool.directory / "rejected" / first.name).with_suffix(".reason.txt").read_text()
    assert "HTTP 422" in reason
    assert "records[4] (ref 'pkg:long').identity.package_name" in reason
    assert json.loads(gzip.decompress((spool.directory / "rejected" / first.name).read_bytes()))["records"]


@pytest.mark.parametrize("blank", ["", "   ", "\t\n"])
def test_a_blank_identity_key_is_422_naming_the_field(
    client: TestClient, neo4j_driver: Driver, seed_ci: SeedCI, blank: str
) -> None:
    report = host_report()
    report["records"][0]["identity"]["machine_id"] = blank
    response = send(client, report)
    assert response.status_code == 422, response.text
    assert "blank" in _fields(response)["records[0] (ref 'host').identity.machine_id"]

    package = host_report()
    package["records"].append(_package("bash", version=blank))
    response = send(client, package)
    assert response.status_code == 422, response.text
    assert "blank" in _fields(response)["records[4] (ref 'pkg:long').identity.version"]
    assert counts(neo4j_driver) == {"cis": 0, "events": 0, "rels": 0}

    created = client.post("/api/v1/cis", json={"class": "Application", "attributes": {"name": blank}}, headers=ADMIN)
    assert created.status_code == 422, created.text
    assert "blank" in _fields(created)["attributes.name"]
    assert counts(neo4j_driver)["cis"] == 0

    host = seed_ci("LinuxHost", name="db1", machine_id="m-db1", hostname="db1")
    edited = client.patch(f"/api/v1/cis/{host.uid}", json={"attributes": {"hostname": blank}}, headers=ADMIN)
    assert edited.status_code == 422, edited.text
    assert "blank" in _fields(edited)["attributes.hostname"]


def test_an_import_rejects_a_row_with_a_blank_identity_key_and_takes_the_others(client: TestClient) -> None:
    csv_body = "class,name,owner\nApplication,payroll,hr\nApplication,   ,ops\n"
    answer = client.post("/api/v1/import", content=csv_body, headers=ADMIN | {"Content-Type": "text/csv"}).json()
    assert answer["counts"] == {"created": 1, "rejected": 1}
    assert answer["rows"][1]["errors"][0].startswith("identity.name: ")
    assert "blank" in answer["rows"][1]["errors"][0]

    document = {
        "cis": [
            {"class": "Application", "attributes": {"name": "", "owner": "ops"}},
            {"class": "BusinessService", "attributes": {"name": "Payroll"}},
        ]
    }
    response = client.post("/api/v1/import", json=document, headers=ADMIN)
    assert response.status_code == 200, response.text
    assert response.json()["counts"] == {"created": 1, "rejected": 1}
    assert "blank" in response.json()["rows"][0]["errors"][0]
    names = sorted(c["name"] for c in client.get("/api/v1/cis", headers=ADMIN).json()["items"])
    assert names == ["Payroll", "payroll"]


def test_a_report_over_the_declared_limits_is_refused_at_once_naming_them(
    client: TestClient, neo4j_driver: Driver
) -> None:
    """Issue 14: a report too big for one transaction is 413 before any work, not a 503 a minute later."""
    report = host_report()
    package = report["records"][-1]
    report["records"] += [{**package, "ref": f"pkg:{i}"} for i in range(LIMITS.max_records)]
    response = send(client, report)
    assert response.status_code == 413, response.text[:500]
    message = response.json()["error"]["message"]
    assert f"at most {LIMITS.max_records}" in message
    assert "limits.toml" in message
    assert response.json()["error"]["fields"][0]["field"] == "records"
    report = host_report()
    report["relations"] = [{"type": "INSTALLED", "from": "host", "to": "pkg:bash"}] * (LIMITS.max_relations + 1)
    response = send(client, report)
    assert response.status_code == 413, response.text[:500]
    assert response.json()["error"]["fields"][0]["field"] == "relations"
    assert counts(neo4j_driver)["cis"] == 0


@pytest.mark.parametrize("where", ["attributes", "identity"])
def test_a_nul_character_is_refused_naming_the_field(client: TestClient, neo4j_driver: Driver, where: str) -> None:
    report = host_report()
    field = "hostname" if where == "identity" else "kernel"
    report["records"][0][where][field] = "web\x001"
    response = send(client, report)
    assert response.status_code == 422, response.text
    assert any(f.endswith(f"{where}.{field}") and "NUL" in m for f, m in _fields(response).items())
    assert counts(neo4j_driver)["cis"] == 0
    created = client.post(
        "/api/v1/cis", json={"class": "Application", "attributes": {"name": "a", "description": "x\x00"}}, headers=ADMIN
    )
    assert created.status_code == 422, created.text
    assert "NUL" in _fields(created)["attributes.description"]


def test_an_error_quotes_a_short_prefix_of_a_huge_value(client: TestClient) -> None:
    """Issue 14: a 10 MB ``ref`` came back as a 20 MB error body."""
    huge = "r" * 10_000_000
    report = host_report()
    report["records"][-1]["ref"] = huge
    report["relations"] = [{"type": "INSTALLED", "from": "host", "to": huge}]
    report["records"][0]["class"] = huge
    response = send(client, report)
    assert response.status_code == 422, response.text[:500]
    assert len(response.content) < 5_000
    assert "(10000000 characters)" in response.text


def test_a_nul_character_anywhere_in_a_request_is_refused_naming_where(client: TestClient, seed_ci: SeedCI) -> None:
    app = seed_ci("Application", name="payroll")
    start = datetime.now(UTC) + timedelta(days=1)
    change = {
        "title": "upgrade\x00payroll",
        "targets": [app.uid],
        "planned_start": start.isoformat(),
        "planned_end": (start + timedelta(hours=1)).isoformat(),
    }
    cases = [
        (client.post("/api/v1/changes", json=change, headers=ADMIN), ("title", "body")),
        (
            client.post("/api/v1/changes", json={**change, "title": "ok", "targets": ["x\x00"]}, headers=ADMIN),
            ("targets[0]", "body"),
        ),
        (client.get("/api/v1/cis", params={"q": "pay\x00roll"}, headers=ADMIN), ("q", "query")),
        (client.get(f"/api/v1/cis/{app.uid}%00", headers=ADMIN), ("uid", "path")),
    ]
    for response, (field, location) in cases:
        assert response.status_code == 422, response.text
        error = response.json()["error"]
        assert (error["fields"][0]["field"], error["fields"][0]["in"]) == (field, location)
        assert "NUL" in error["message"]


def test_text_that_is_not_unicode_is_refused_naming_where(client: TestClient, seed_ci: SeedCI) -> None:
    """A lone surrogate in JSON, invalid UTF-8 in a query or a path: 422, never a 500 or a silent U+FFFD."""
    host = seed_ci("LinuxHost", name="web1", machine_id="m-1")
    body = b'{"class": "Application", "attributes": {"name": "a\\ud800b"}}'
    created = client.post("/api/v1/cis", content=body, headers={**ADMIN, "Content-Type": "application/json"})
    assert (created.status_code, created.json()["error"]["fields"][0]["field"]) == (422, "attributes.name")
    patch = b'{"attributes": {"description": "a\\ud800"}}'
    edited = client.patch(
        f"/api/v1/cis/{host.uid}", content=patch, headers={**ADMIN, "Content-Type": "application/json"}
    )
    assert (edited.status_code, edited.json()["error"]["fields"][0]["field"]) == (422, "attributes.description")
    retired = client.delete(f"/api/v1/cis/{host.uid}?reason=%ED%A0%80", headers=ADMIN)
    assert (retired.status_code, retired.json()["error"]["fields"][0]["field"]) == (422, "reason")
    assert client.get(f"/api/v1/cis/{host.uid}", headers=ADMIN).json()["status"] == "active"
    assert client.get("/api/v1/cis/%FF", headers=ADMIN).status_code == 422


def test_a_body_over_the_limit_is_refused_before_it_is_parsed(client: TestClient) -> None:
    """CMDB_MAX_BODY_BYTES (1 MiB) for every call but reports and imports, with or without a length."""
    big = b'{"class": "Application", "attributes": {"name": "' + b"a" * (2 * 1024 * 1024) + b'"}}'
    headers = {**ADMIN, "Content-Type": "application/json"}
    sized = client.post("/api/v1/cis", content=big, headers=headers)
    assert (sized.status_code, sized.json()["error"]["fields"][0]["field"]) == (413, "body")

    def chunks() -> Any:
        for start in range(0, len(big), 64 * 1024):
            yield big[start : start + 64 * 1024]

    chunked = client.post("/api/v1/cis", content=chunks(), headers=headers)
    assert chunked.status_code == 413
    fine = client.post("/api/v1/cis", json={"class": "Application", "attributes": {"name": "payroll"}}, headers=ADMIN)
    assert fine.status_code == 201
