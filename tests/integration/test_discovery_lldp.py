"""Real LLDP between two namespaced hosts: discovery links their interfaces, from either side."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from tests.integration.conftest import BOOTSTRAP_TOKEN, bearer
from tests.integration.lldp_lab import LldpLab
from tests.integration.server_process import BIN

ADMIN = bearer(BOOTSTRAP_TOKEN)


@pytest.fixture(scope="module")
def lab() -> Iterator[LldpLab]:
    lab = LldpLab()
    try:
        lab.start()
        lab.wait_for_neighbours()
        yield lab
    finally:
        lab.stop()


@pytest.mark.slow
def test_lldp_neighbours_become_one_link_between_the_two_hosts(client: TestClient, lab: LldpLab) -> None:
    # The collector runs inside namespace a, from where both hosts' agents are reachable.
    done = subprocess.run(
        lab.in_namespace(
            "a",
            str(BIN / "cmdb-discover"),
            "scan",
            lab.addresses["a"],
            lab.addresses["b"],
            "--snmp-community",
            "public",
            "--timeout",
            "2",
            "--dry-run",
        ),
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    reports = [json.loads(line) for line in done.stdout.splitlines()]
    assert len(reports) == 2
    for report in reports:
        assert client.post("/api/v1/reports", json=report, headers=ADMIN).status_code == 200
    hosts = client.get("/api/v1/cis", params={"class": "Host", "name": "lldp-"}, headers=ADMIN).json()
    assert sorted(h["name"] for h in hosts["items"]) == sorted(lab.names.values())  # b joined, not doubled
    by_name = {h["name"]: h for h in hosts["items"]}
    nic_a = _interface(client, by_name[lab.names["a"]]["uid"], lab.interfaces["a"])
    links = client.get(f"/api/v1/cis/{nic_a['uid']}/relationships", params={"type": "CONNECTED_TO"}, headers=ADMIN)
    far_ends = {
        (
            e["other"]["name"],
            client.get(f"/api/v1/cis/{e['other']['uid']}", headers=ADMIN).json()["parent_uid"],
        )
        for e in links.json()["items"]
    }
    assert (lab.interfaces["b"], by_name[lab.names["b"]]["uid"]) in far_ends


def _interface(client: TestClient, host_uid: str, name: str) -> dict[str, str]:
    nics = client.get(f"/api/v1/cis/{host_uid}/relationships", params={"type": "HAS_INTERFACE"}, headers=ADMIN).json()
    return next(n["other"] for n in nics["items"] if n["other"]["name"] == name)
