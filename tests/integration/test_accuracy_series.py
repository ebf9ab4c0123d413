"""The record-accuracy series: the configuration audit's findings counted per day and kept,
a day recorded again replaced, read back over a range through the service and the API,
and recorded by the server's own job at start-up."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient

from cmdb_server import accuracy_series
from cmdb_server.app import create_app
from cmdb_server.config import Settings
from schema import Role
from tests.integration.conftest import BOOTSTRAP_TOKEN, bearer
from tests.integration.estate import envelope
from tests.integration.test_process_figures import run

ADMIN = bearer(BOOTSTRAP_TOKEN)


def host(
    client: TestClient, kind: str, machine_id: str, hostname: str, age: timedelta = timedelta(0), **attributes: Any
) -> str:
    """One LinuxHost reported by a source of ``kind``, collected ``age`` ago; its uid."""
    collected = datetime.now(UTC) - age
    record = {
        "ref": "host",
        "class": "LinuxHost",
        "identity": {"machine_id": machine_id},
        "attributes": {"name": hostname, "hostname": hostname, **attributes},
    }
    report = envelope(kind, f"{kind}-{hostname}-{machine_id}", [record], []) | {"collected_at": collected.isoformat()}
    response = client.post("/api/v1/reports", json=report, headers=ADMIN)
    assert response.status_code == 200, response.text
    return str(response.json()["cis"]["host"])


def test_each_day_keeps_the_audit_findings_of_its_count_and_a_day_counted_again_is_replaced(
    client: TestClient, settings: Settings, make_token: Callable[..., str]
) -> None:
    database = settings.neo4j_database
    today = datetime.now(UTC).date()
    first, second = today - timedelta(days=2), today - timedelta(days=1)

    def record(day: date) -> Any:
        return run(settings, lambda d: accuracy_series.record_accuracy(d, database, day))

    # Four hosts, each known to the agent only (4 single-source); h2 and h3 share the host
    # name "dup" (2 suspected duplicates); h4 was last collected two days ago (1 not verified).
    host(client, "agent", "m-1", "h1", cpu_cores=4)
    host(client, "agent", "m-2", "dup")
    host(client, "agent", "m-3", "dup")
    host(client, "agent", "m-4", "h4", age=timedelta(days=2))
    day_one = record(first)
    assert (day_one.cis, day_one.not_verified, day_one.single_source, day_one.suspected_duplicates) == (4, 1, 4, 2)
    assert (day_one.unauthorised_changes, day_one.accurate_percent) == (0, 0.0)  # every host single-source
    assert record(second).accurate_percent == 0.0

    # SSH confirms h1, h2 and h4 (h4 seen again now): single-source h3 only, none unverified.
    # h1 and h4 have no finding left: 2 of 4 accurate, 50 %. The second day counted again replaces its point.
    for machine_id, name in (("m-1", "h1"), ("m-2", "dup"), ("m-4", "h4")):
        host(client, "ssh", machine_id, name)
    day_two = record(second)
    assert (day_two.cis, day_two.not_verified, day_two.single_source, day_two.suspected_duplicates) == (4, 0, 1, 2)
    assert (day_two.unauthorised_changes, day_two.accurate_percent) == (0, 50.0)

    # Today the agent finds h1's CPU count changed, and no change authorised it: one
    # unauthorised change, on h1, whose record is no longer accurate: h4 alone, 25 %.
    host(client, "agent", "m-1", "h1", cpu_cores=8)
    day_three = record(today)
    assert (day_three.unauthorised_changes, day_three.accurate_percent) == (1, 25.0)
    # The changes counted are those of the day recorded: the second day saw none.
    assert record(second).unauthorised_changes == 0

    series = run(settings, lambda d: accuracy_series.accuracy_series(d, database, first, today))
    assert [(p.day, p.accurate_percent) for p in series] == [(first, 0.0), (second, 50.0), (today, 25.0)]
    assert run(settings, lambda d: accuracy_series.accuracy_series(d, database, second, second)) == [day_two]

    # The same through the API; the maintenance call counts today again (the same findings).
    answer = client.get("/api/v1/reports/accuracy", params={"from": first.isoformat()}, headers=ADMIN)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["from"], body["to"]) == (first.isoformat(), today.isoformat())
    assert [p["accurate_percent"] for p in body["items"]] == [0.0, 50.0, 25.0]
    assert body["items"][2] == day_three.model_dump(mode="json")
    recorded = client.post("/api/v1/maintenance/record-accuracy", headers=ADMIN)
    assert recorded.status_code == 200, recorded.text
    assert recorded.json() == day_three.model_dump(mode="json")
    assert len(run(settings, lambda d: accuracy_series.accuracy_series(d, database, today, today))) == 1

    engineer = bearer(make_token(Role.ENGINEER))
    assert client.post("/api/v1/maintenance/record-accuracy", headers=engineer).status_code == 403
    assert client.get("/api/v1/reports/accuracy", headers=engineer).status_code == 200


def test_the_accuracy_range_is_bounded_and_refused_by_field(client: TestClient) -> None:
    def refused(params: dict[str, str]) -> str:
        response = client.get("/api/v1/reports/accuracy", params=params, headers=ADMIN)
        assert response.status_code == 422, response.text
        return str(response.json()["error"]["fields"][0]["field"])

    assert refused({"from": "2026-12-10", "to": "2026-12-01"}) == "to"
    assert refused({"from": "yesterday"}) == "from"
    assert refused({"to": "2026-02-30"}) == "to"
    assert refused({"from": "0001-01-01", "to": "0001-01-02"}) == "from"
    assert refused({"from": "1990-01-01", "to": "2026-01-01"}) == "from"  # more than ten years at once
    empty = client.get("/api/v1/reports/accuracy", params={"from": "2026-01-01", "to": "2026-01-31"}, headers=ADMIN)
    assert empty.status_code == 200
    assert empty.json()["items"] == []


def test_the_server_records_todays_point_soon_after_it_starts(settings: Settings) -> None:
    with TestClient(create_app(settings.model_copy(update={"accuracy_interval_seconds": 0.5}))) as client:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            items = client.get("/api/v1/reports/accuracy", headers=ADMIN).json()["items"]
            if items:
                break
            time.sleep(0.2)
        assert [p["day"] for p in items] == [datetime.now(UTC).date().isoformat()]
        assert items[0]["cis"] == 0
        assert items[0]["accurate_percent"] is None  # no CI: no share
