"""The whole API fuzzed by schemathesis against the real server process: no input makes a 500.

Every operation of ``/openapi.json`` gets generated input (valid and invalid) with an admin
token, a fixed seed and a bounded number of examples; every answer must be no server
error, of a status code the OpenAPI declares, and of the declared schema (the error shape
included). The path parameters are sometimes the ids of a real estate and real records,
so the answers of found things are checked too, not only the 404s.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from cmdb_server.config import Settings
from schema import Role
from tests.conftest import REPO_ROOT
from tests.integration.estate import ADMIN, build_estate
from tests.integration.server_process import BIN, ServerProcess

pytestmark = pytest.mark.slow

SEED = 20261130
EXAMPLES_PER_OPERATION = 12
CHECKS = ("not_a_server_error", "status_code_conformance", "response_schema_conformance")


def seed_records(client: httpx.Client) -> dict[str, list[str]]:
    """An estate, and one record of every kind on it: the ids path parameters may take."""
    estate = build_estate(client)
    now = datetime.now(UTC)

    def create(path: str, body: dict[str, Any]) -> str:
        response = client.post(path, json=body, headers=ADMIN)
        assert response.status_code == 201, response.text
        return str(response.json()["id"])

    hours = [(now + timedelta(hours=h)).isoformat() for h in (1, 2, 3)]
    change = create(
        "/api/v1/changes",
        {"title": "patch db1", "planned_start": hours[0], "planned_end": hours[1], "targets": [estate["db1"]]},
    )
    problem = create("/api/v1/problems", {"title": "slow queries", "suspects": [estate["db1"]]})
    incident = create("/api/v1/incidents", {"title": "shop slow", "affected": [estate["app1"]], "problem": problem})
    release = create(
        "/api/v1/releases",
        {
            "name": "shop",
            "version": "2.0",
            "changes": [change],
            "targets": [estate["app1"]],
            "window_start": hours[1],
            "window_end": hours[2],
        },
    )
    create("/api/v1/freeze-windows", {"name": "year end", "start": hours[0], "end": hours[2]})
    webhook = create("/api/v1/webhooks", {"url": "http://127.0.0.1:9/hook", "events": ["ci.created"]})
    return {
        "uid": sorted(estate.values()),
        "change_id": [change],
        "incident_id": [incident],
        "problem_id": [problem],
        "release_id": [release],
        "subscription_id": [webhook],
        "tag": ["prod"],
        "attribute": ["name", "os_version"],
    }


@pytest.fixture
def server(settings: Settings, empty_graph: None) -> Iterator[ServerProcess]:
    """The server process, which takes webhooks to loopback receivers (the seeded subscription)."""
    process = ServerProcess(settings, env={"CMDB_WEBHOOK_ALLOWED_NETWORKS": "127.0.0.0/8"})
    process.start()
    try:
        yield process
    finally:
        process.stop()


def test_no_input_makes_a_server_error_or_an_undeclared_answer(
    server: ServerProcess, make_token: Callable[[Role], str], tmp_path: Path
) -> None:
    with httpx.Client(base_url=server.url, timeout=60) as client:
        known = seed_records(client)
    env = os.environ | {
        "SCHEMATHESIS_HOOKS": "tests.integration.fuzz_hooks",
        "CMDB_FUZZ_KNOWN_IDS": json.dumps(known),
        "PYTHONPATH": str(REPO_ROOT),
    }
    command = [
        str(BIN / "st"),
        "run",
        f"{server.url}/openapi.json",
        "--seed",
        str(SEED),
        "--max-examples",
        str(EXAMPLES_PER_OPERATION),
        "--phases",
        "examples,coverage,fuzzing",
        "--checks",
        ",".join(CHECKS),
        "--header",
        f"Authorization: Bearer {make_token(Role.ADMIN)}",
        "--workers",
        "2",
        "--request-timeout",
        "30",
        "--no-color",
    ]
    done = subprocess.run(command, capture_output=True, text=True, env=env, cwd=tmp_path, timeout=900, check=False)
    summary = done.stdout[done.stdout.rfind("SUMMARY") :]
    assert "Tested: " in summary, done.stdout[-5000:] + done.stderr[-5000:]
    assert done.returncode == 0, done.stdout[-30000:]
