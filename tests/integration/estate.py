"""A realistic estate built through the real ingest path and the API, for impact and changes.

A business service on two load-balanced application instances on two hosts, a database
on a third host, all three behind one switch discovered over SNMP.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import httpx

from tests.integration.conftest import BOOTSTRAP_TOKEN, bearer

ADMIN = bearer(BOOTSTRAP_TOKEN)
HOSTS = {
    "app1": ("mid-app1", "52:54:00:00:00:a1", "10.50.0.11", 8080),
    "app2": ("mid-app2", "52:54:00:00:00:a2", "10.50.0.12", 8080),
    "db1": ("mid-db1", "52:54:00:00:00:d1", "10.50.0.21", 5432),
}


def envelope(kind: str, name: str, records: list[dict[str, Any]], relations: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "version": 1,
        "report_id": str(uuid.uuid4()),
        "source": {"kind": kind, "name": name},
        "collected_at": datetime.now(UTC).isoformat(),
        "records": records,
        "relations": relations,
    }


def agent_report(hostname: str) -> dict[str, Any]:
    machine_id, mac, address, port = HOSTS[hostname]
    return envelope(
        "agent",
        hostname,
        [
            {
                "ref": "host",
                "class": "LinuxHost",
                "identity": {"machine_id": machine_id, "hostname": hostname, "primary_mac": mac},
                "attributes": {"name": hostname},
            },
            {
                "ref": "eth0",
                "class": "Interface",
                "parent": "host",
                "identity": {"name": "eth0"},
                "attributes": {"mac": mac},
            },
            {"ref": "ip", "class": "IPAddress", "identity": {"address": address, "domain": "global"}},
            {
                "ref": "svc",
                "class": "ListeningService",
                "parent": "host",
                "identity": {"protocol": "tcp", "address": "0.0.0.0", "port": port},
                "attributes": {"name": f"{hostname}:{port}"},
            },
        ],
        [{"type": "HAS_IP", "from": "eth0", "to": "ip"}],
    )


def switch_report() -> dict[str, Any]:
    records: list[dict[str, Any]] = [
        {
            "ref": "device",
            "class": "Switch",
            "identity": {"serial": "FOC0001", "vendor": "Cisco"},
            "attributes": {"name": "sw1", "model": "WS-C3560G-48TS"},
        },
    ]
    relations = []
    for index, (hostname, (_, mac, address, _)) in enumerate(HOSTS.items(), start=1):
        records += [
            {
                "ref": f"port{index}",
                "class": "Interface",
                "parent": "device",
                "identity": {"name": f"Gi0/{index}"},
            },
            {
                "ref": f"nbr:{hostname}",
                "class": "Host",
                "identity": {"hostname": hostname, "primary_mac": mac, "management_ip": address},
            },
            {
                "ref": f"nbr:{hostname}:eth0",
                "class": "Interface",
                "parent": f"nbr:{hostname}",
                "identity": {"name": "eth0"},
            },
        ]
        relations.append({"type": "CONNECTED_TO", "from": f"port{index}", "to": f"nbr:{hostname}:eth0"})
    return envelope("snmp", "collector@sw1", records, relations)


def post(client: httpx.Client, path: str, body: dict[str, Any]) -> dict[str, Any]:
    response = client.post(path, json=body, headers=ADMIN)
    assert response.status_code in (200, 201), response.text
    result: dict[str, Any] = response.json()
    return result


def build_estate(client: httpx.Client) -> dict[str, str]:
    uids: dict[str, str] = {}
    for hostname in HOSTS:
        summary = post(client, "/api/v1/reports", agent_report(hostname))
        uids[hostname] = summary["cis"]["host"]
        uids[f"{hostname}:svc"] = summary["cis"]["svc"]
    uids["sw1"] = post(client, "/api/v1/reports", switch_report())["cis"]["device"]
    shop = post(client, "/api/v1/cis", {"class": "Application", "attributes": {"name": "shop"}})["uid"]
    service = post(
        client,
        "/api/v1/cis",
        {"class": "BusinessService", "attributes": {"name": "web shop", "criticality": "high"}},
    )["uid"]
    uids.update(shop=shop, service=service)
    for member in ("app1:svc", "app2:svc"):
        post(client, "/api/v1/relationships", {"type": "MEMBER_OF", "from_uid": uids[member], "to_uid": shop})
    post(client, "/api/v1/relationships", {"type": "DEPENDS_ON", "from_uid": shop, "to_uid": uids["db1:svc"]})
    post(client, "/api/v1/relationships", {"type": "DEPENDS_ON", "from_uid": service, "to_uid": shop})
    return uids
