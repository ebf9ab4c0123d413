"""Impact rules on small graphs: redundancy below the host (uplinks), groups, and what trouble may not do."""

from __future__ import annotations

from typing import Any

import pytest

from cmdb_server.impact import Edge, Node, Subgraph, analyse
from schema import load_schema

SCHEMA = load_schema()


def node(uid: str, ci_class: str, **properties: Any) -> Node:
    return Node(uid, uid, ci_class, SCHEMA.classes[ci_class].labels, properties)


def dual_homed(eth1: dict[str, Any] | None = None) -> Subgraph:
    """web1 has eth0 on sw1 and eth1 on sw2 (and a loopback); the app on web1 serves the shop."""
    graph = Subgraph()
    up = {"physical": True, "oper_status": "up"}
    for item in (
        node("sw1", "Switch"),
        node("sw2", "Switch"),
        node("sw1:Gi0/1", "Interface", **up),
        node("sw2:Gi0/1", "Interface", **up),
        node("web1", "LinuxHost"),
        node("web1:eth0", "Interface", **up),
        node("web1:eth1", "Interface", **(eth1 if eth1 is not None else up)),
        node("web1:lo", "Interface", physical=False, oper_status="up"),
        node("app", "Application"),
        node("shop", "BusinessService"),
    ):
        graph.nodes[item.uid] = item
    graph.edges |= {
        Edge("HAS_INTERFACE", "sw1", "sw1:Gi0/1"),
        Edge("HAS_INTERFACE", "sw2", "sw2:Gi0/1"),
        Edge("HAS_INTERFACE", "web1", "web1:eth0"),
        Edge("HAS_INTERFACE", "web1", "web1:eth1"),
        Edge("HAS_INTERFACE", "web1", "web1:lo"),
        Edge("CONNECTED_TO", "sw1:Gi0/1", "web1:eth0"),
        Edge("CONNECTED_TO", "sw2:Gi0/1", "web1:eth1"),
        Edge("RUNS_ON", "app", "web1"),
        Edge("DEPENDS_ON", "shop", "app"),
    }
    return graph


def states(graph: Subgraph, *roots: str) -> dict[str, str]:
    return {uid: a.state.value for uid, a in analyse(SCHEMA, graph, list(roots), 12).items()}


def test_a_host_with_an_uplink_left_is_degraded_and_trouble_does_not_flow_back_out() -> None:
    graph = dual_homed()
    assert states(graph, "sw2") == {
        "sw2:Gi0/1": "down",
        "web1:eth1": "down",
        "web1": "degraded",
        "app": "degraded",
        "shop": "degraded",
    }
    explained = analyse(SCHEMA, graph, ["sw2"], 12)["shop"].path
    assert [s.uid for s in explained] == ["sw2", "sw2:Gi0/1", "web1:eth1", "web1", "app", "shop"]


def test_a_host_whose_every_uplink_is_down_is_down() -> None:
    assert states(dual_homed(), "sw1", "sw2") == {
        "sw1:Gi0/1": "down",
        "sw2:Gi0/1": "down",
        "web1:eth0": "down",
        "web1:eth1": "down",
        "web1": "down",
        "web1:lo": "down",
        "app": "down",
        "shop": "down",
    }


@pytest.mark.parametrize("eth1", [{"physical": True, "oper_status": "down"}, {"physical": False, "oper_status": "up"}])
def test_an_interface_already_down_or_virtual_is_no_uplink(eth1: dict[str, Any]) -> None:
    affected = states(dual_homed(eth1), "sw1")
    assert (affected["web1"], affected["shop"]) == ("down", "down")


def test_a_host_going_down_takes_its_links_down_but_not_the_switches() -> None:
    affected = states(dual_homed(), "web1")
    assert affected == {
        "web1:eth0": "down",
        "web1:eth1": "down",
        "web1:lo": "down",
        "sw1:Gi0/1": "down",
        "sw2:Gi0/1": "down",
        "app": "down",
        "shop": "down",
    }


def test_a_group_is_down_only_when_every_member_is() -> None:
    graph = Subgraph()
    for item in (node("web1", "LinuxHost"), node("web2", "LinuxHost"), node("app", "Application")):
        graph.nodes[item.uid] = item
    graph.edges |= {Edge("MEMBER_OF", "web1", "app"), Edge("MEMBER_OF", "web2", "app")}
    assert states(graph, "web1") == {"app": "degraded"}
    assert states(graph, "web1", "web2") == {"app": "down"}


def test_a_bond_with_a_port_left_is_degraded_and_so_is_its_address() -> None:
    graph = dual_homed()
    for item in (node("web1:bond0", "Interface", physical=False, oper_status="up"), node("ip", "IPAddress")):
        graph.nodes[item.uid] = item
    graph.edges |= {
        Edge("HAS_INTERFACE", "web1", "web1:bond0"),
        Edge("MEMBER_OF", "web1:eth0", "web1:bond0"),
        Edge("MEMBER_OF", "web1:eth1", "web1:bond0"),
        Edge("HAS_IP", "web1:bond0", "ip"),
    }
    affected = states(graph, "sw1")
    assert {uid: affected[uid] for uid in ("web1:eth0", "web1:bond0", "ip", "web1")} == {
        "web1:eth0": "down",
        "web1:bond0": "degraded",
        "ip": "degraded",
        "web1": "degraded",
    }
    assert states(graph, "sw1", "sw2")["ip"] == "down"


def test_the_single_points_of_failure_of_a_service_leave_out_what_redundancy_covers() -> None:
    from cmdb_server.impact import single_points_of_failure, upstream

    graph = dual_homed()
    candidates = list(upstream(SCHEMA, graph, ["shop"], 12))
    spofs = single_points_of_failure(SCHEMA, graph, "shop", candidates, 12)
    assert sorted(spofs) == ["app", "web1"]  # not a switch, a port or one uplink
    assert [s.uid for s in spofs["web1"]] == ["web1", "app", "shop"]
    single = dual_homed({"physical": True, "oper_status": "down"})  # eth1 unplugged: sw1 is the only way
    candidates = list(upstream(SCHEMA, single, ["shop"], 12))
    assert sorted(single_points_of_failure(SCHEMA, single, "shop", candidates, 12)) == [
        "app",
        "sw1",
        "sw1:Gi0/1",
        "web1",
        "web1:eth0",
    ]
