"""A source's first report is news of the record, not evidence of a change: a second
inventory agent on a host (fusion, then OCS) sees a disk the first did not report; that disk
was there all along. What the same source reports new later is a change again."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient

from tests.integration.conftest import BOOTSTRAP_TOKEN, bearer

ADMIN = bearer(BOOTSTRAP_TOKEN)


def inventory(source: str, disks: list[str]) -> dict[str, Any]:
    records: list[dict[str, Any]] = [
        {
            "ref": "host",
            "class": "LinuxHost",
            "identity": {"hostname": "inv1", "primary_mac": "52:54:00:12:34:56"},
            "attributes": {"name": "inv1"},
        }
    ]
    records += [
        {"ref": f"disk:{d}", "class": "Disk", "parent": "host", "identity": {"name": d}, "attributes": {"type": "disk"}}
        for d in disks
    ]
    return {
        "version": 1,
        "report_id": str(uuid.uuid4()),
        "source": {"kind": "inventory", "name": source},
        "collected_at": datetime.now(UTC).isoformat(),
        "records": records,
        "relations": [],
    }


def unauthorised(client: TestClient, since: datetime) -> list[dict[str, Any]]:
    answer = client.get("/api/v1/reports/unauthorised-changes", params={"since": since.isoformat()}, headers=ADMIN)
    assert answer.status_code == 200, answer.text
    items: list[dict[str, Any]] = answer.json()["items"]
    return items


def test_a_second_inventory_agents_first_report_adds_no_unauthorised_change(client: TestClient) -> None:
    start = datetime.now(UTC) - timedelta(seconds=1)
    first = client.post("/api/v1/reports", json=inventory("inv1-fusion", ["vda"]), headers=ADMIN)
    assert first.status_code == 200, first.text
    second = client.post("/api/v1/reports", json=inventory("inv1-ocs", ["vda", "zram0"]), headers=ADMIN)
    assert second.status_code == 200, second.text
    assert second.json()["relations"]["HAS_DISK"]["started"] == 1  # zram0: new to the record
    assert unauthorised(client, start) == []

    later = client.post("/api/v1/reports", json=inventory("inv1-ocs", ["vda", "zram0", "sdb"]), headers=ADMIN)
    assert later.status_code == 200, later.text
    found = unauthorised(client, start)
    assert [(i["kind"], i["source"]) for i in found] == [("relation_started", "inventory:inv1-ocs")], found
