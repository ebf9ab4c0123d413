"""A CI's neighbourhood for a drawing (GET /api/v1/cis/{uid}/neighbourhood): what the graph page loads."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from tests.integration.conftest import BOOTSTRAP_TOKEN, bearer

ADMIN = bearer(BOOTSTRAP_TOKEN)


def neighbourhood(client: TestClient, uid: str, **params: Any) -> dict[str, Any]:
    response = client.get(f"/api/v1/cis/{uid}/neighbourhood", params=params, headers=ADMIN)
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


def names(answer: dict[str, Any]) -> list[str]:
    return sorted(n["name"] for n in answer["nodes"])


def test_one_hop_both_ways_with_layers_and_the_edges_among_the_cis(client: TestClient, estate: dict[str, str]) -> None:
    answer = neighbourhood(client, estate["shop"])
    assert names(answer) == ["app1:8080", "app2:8080", "db1:5432", "shop", "web shop"]
    by_name = {n["name"]: n for n in answer["nodes"]}
    assert (by_name["shop"]["depth"], by_name["web shop"]["depth"]) == (0, 1)
    assert by_name["web shop"]["layer"] < by_name["shop"]["layer"] < by_name["db1:5432"]["layer"]
    edges = {(e["source"], e["type"], e["target"]) for e in answer["edges"]}
    assert edges == {
        (estate["service"], "DEPENDS_ON", estate["shop"]),
        (estate["shop"], "DEPENDS_ON", estate["db1:svc"]),
        (estate["app1:svc"], "MEMBER_OF", estate["shop"]),
        (estate["app2:svc"], "MEMBER_OF", estate["shop"]),
    }
    assert answer["left_out"] == 0


def test_two_hops_filters_and_the_cap_that_counts_what_it_leaves_out(
    client: TestClient, estate: dict[str, str]
) -> None:
    two = neighbourhood(client, estate["shop"], depth=2)
    assert {"app1", "app2", "db1"} <= set(names(two))  # the hosts the listening services run on
    assert {n["name"]: n["depth"] for n in two["nodes"]}["db1"] == 2
    only = neighbourhood(client, estate["shop"], depth=2, types="DEPENDS_ON")
    assert names(only) == ["db1:5432", "shop", "web shop"]
    hosts = neighbourhood(client, estate["shop"], depth=2, classes=["ListeningService", "Host"])
    assert names(hosts) == ["app1", "app1:8080", "app2", "app2:8080", "db1", "db1:5432", "shop"]  # the root always
    capped = neighbourhood(client, estate["shop"], depth=2, limit=3)
    assert len(capped["nodes"]) == 3
    assert capped["left_out"] == 2  # at hop 1: four in reach, room for two; hop 2 is not walked
    assert all(n["depth"] <= 1 for n in capped["nodes"])


def test_bad_input_is_a_4xx_naming_the_field(client: TestClient, estate: dict[str, str]) -> None:
    unknown = client.get(f"/api/v1/cis/{estate['shop']}/neighbourhood?types=LOVES", headers=ADMIN)
    assert unknown.status_code == 422
    assert unknown.json()["error"]["fields"][0]["field"] == "types"
    deep = client.get(f"/api/v1/cis/{estate['shop']}/neighbourhood?depth=9", headers=ADMIN)
    assert deep.status_code == 422
    assert "depth" in deep.text
    missing = client.get("/api/v1/cis/no-such-ci/neighbourhood", headers=ADMIN)
    assert missing.status_code == 404
    assert missing.json()["error"]["fields"][0]["field"] == "uid"
