"""Every CI carries what a service desk needs: owner, support group, environment, location."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.integration.conftest import BOOTSTRAP_TOKEN, bearer
from tests.integration.estate import envelope, post

ADMIN = bearer(BOOTSTRAP_TOKEN)


def switch_report(location: str) -> dict[str, object]:
    device = {
        "ref": "device",
        "class": "Switch",
        "identity": {"serial": "FOC0009", "vendor": "Cisco"},
        "attributes": {"name": "core1", "location": location},
    }
    return envelope("snmp", "collector@core1", [device], [])


def test_ownership_is_edited_by_hand_locked_against_discovery_and_searchable(client: TestClient) -> None:
    uid = post(client, "/api/v1/reports", switch_report("DC1 room 2"))["cis"]["device"]
    edit = {"owner": "network team", "support_group": "noc", "environment": "production", "location": "DC1 R2 rack 14"}
    response = client.patch(f"/api/v1/cis/{uid}", json={"attributes": edit}, headers=ADMIN)
    assert response.status_code == 200, response.text
    assert {k: response.json()["attributes"][k] for k in edit} == edit
    bad = client.patch(f"/api/v1/cis/{uid}", json={"attributes": {"environment": "prod"}}, headers=ADMIN)
    assert bad.status_code == 422
    assert bad.json()["error"]["fields"][0]["field"] == "attributes.environment"

    post(client, "/api/v1/reports", switch_report("DC1 room 2"))  # discovery still says its sysLocation
    ci = client.get(f"/api/v1/cis/{uid}", headers=ADMIN).json()
    assert ci["attributes"]["location"] == "DC1 R2 rack 14"  # the hand edit holds
    assert ci["drift"]["location"]["value"] == "DC1 room 2"
    found = client.get("/api/v1/cis", params={"where": "support_group=noc"}, headers=ADMIN).json()["items"]
    assert [c["uid"] for c in found] == [uid]
    none = client.get("/api/v1/cis", params={"where": "environment=test"}, headers=ADMIN).json()["items"]
    assert none == []
