"""Neighbours and hosts on switch ports, from recorded walks of real switches (pure parts)."""

from __future__ import annotations

from typing import Any

from discovery.snmp import neighbours, parsers, topology
from discovery.snmp.device import build_device_report, device_facts
from discovery.snmp.snmprec import load_snmprec, parse_snmprec
from schema.values import LIMITS
from tests.integration.snmp_agents import SNMPSIM_DATA

PROCURVE = "network/switch/hpe-procurve-516733-b21.snmprec.bz2"
ARISTA = "cloud/arista-dcs-7150s-52-cl.snmprec.bz2"
C3750 = "network/switch/cisco-c3750.snmprec.bz2"


def _facts(recording: str) -> dict[str, Any]:
    return device_facts(load_snmprec(SNMPSIM_DATA / recording))


def _report(facts: dict[str, Any]) -> dict[str, Any]:
    return build_device_report(facts, "127.0.0.1", ("snmp", "test"), "global", "2026-01-01T00:00:00+00:00", "r1")


def _placed(report: dict[str, Any]) -> dict[str, list[str]]:
    return {
        r["identity"]["name"]: r["attributes"]["learnt_macs"]
        for r in report["records"]
        if r["class"] == "Interface" and "learnt_macs" in r.get("attributes", {})
    }


def test_the_bridge_forwarding_table_maps_each_learnt_mac_to_its_interface() -> None:
    facts = _facts(PROCURVE)
    counts: dict[int, int] = {}
    for ports in facts["fdb"].values():
        for port in ports:
            counts[port] = counts.get(port, 0) + 1
    assert counts[17] == 200  # the uplink to the core: every MAC beyond it
    assert counts[4] == 1
    assert counts[1] == 22
    assert facts["fdb"]["10:60:4b:b4:5f:48"] == {4}


def test_uplinks_and_ports_with_many_macs_place_no_host() -> None:
    facts = _facts(PROCURVE)
    placed = _placed(_report(facts))
    assert placed["4"] == ["10:60:4b:b4:5f:48"]
    assert "17" not in placed  # a bridge and router behind it (LLDP and CDP)
    assert "1" not in placed
    assert "11" not in placed
    assert LIMITS.access_port_max_macs == 8
    assert all(len(macs) <= LIMITS.access_port_max_macs for macs in placed.values())
    # A server's adapter speaking CDP as a station: an access port; the table learnt a VM there.
    assert placed["8"] == ["00:50:56:93:42:9e"]


def test_a_q_bridge_table_and_the_arp_table_give_the_host_and_its_address() -> None:
    facts = _facts(ARISTA)
    report = _report(facts)
    port = next(r for r in report["records"] if r["identity"].get("name") == "Ethernet5" and r["class"] == "Interface")
    assert port["attributes"]["learnt_macs"] == ["48:df:37:16:77:61"]
    assert port["attributes"]["learnt_addresses"] == ["172.16.98.65"]
    # The port-channel whose ports have the LLDP neighbour (a bridge and router) is an uplink.
    assert "Port-Channel1" not in _placed(report)


def test_access_points_seen_over_cdp_make_their_ports_uplinks() -> None:
    facts = _facts(C3750)
    assert _placed(_report(facts)) == {}
    assert facts["cdp"][0]["capabilities"] == ["bridge"]
    assert facts["cdp"][0]["platform"] == "cisco AIR-CAP1602I-C-K9"


def test_hosts_on_ports_leaves_out_own_macs_ambiguous_macs_and_crowded_ports() -> None:
    fdb = {
        "00:00:00:00:00:01": {1},
        "00:00:00:00:00:02": {2},
        "00:00:00:00:00:03": {2, 3},  # on two access ports: nobody knows which
        "00:00:00:00:00:04": {3, 9},  # seen on an uplink too
        "00:00:00:00:00:05": {5},  # the switch's own
        **{f"00:00:00:00:01:{i:02x}": {7} for i in range(3)},
    }
    uplinks = topology.uplink_ports({9: True, 2: False}, {})
    assert topology.hosts_on_ports(fdb, uplinks, {"00:00:00:00:00:05"}, max_macs=2) == {
        1: ["00:00:00:00:00:01"],
        2: ["00:00:00:00:00:02"],
    }


def test_an_uplink_takes_its_link_aggregate_and_the_other_ports_of_it() -> None:
    assert topology.uplink_ports({11: True, 20: False}, {11: 100, 12: 100, 20: 200}) == {11, 12, 100}


def test_a_telephone_or_a_station_is_no_network_neighbour_but_an_unknown_one_is() -> None:
    assert not topology.is_network_neighbour(["bridge", "telephone"])
    assert not topology.is_network_neighbour(["station"], station_only=True)
    assert topology.is_network_neighbour([])
    assert topology.is_network_neighbour(["wlanAccessPoint"])


def test_lldp_and_cdp_capabilities_and_id_subtypes_are_decoded() -> None:
    assert parsers.lldp_capabilities(bytes([0x28, 0x00])) == ["bridge", "router"]
    assert parsers.lldp_capabilities(bytes([0x01])) == ["station"]
    assert parsers.cdp_capabilities(bytes.fromhex("00000029")) == ["bridge", "router"]
    assert parsers.cdp_capabilities(bytes.fromhex("00000090")) == ["station", "telephone"]
    walk = parse_snmprec(
        "1.0.8802.1.1.2.1.4.1.1.4.0.5.1|2|4\n"
        "1.0.8802.1.1.2.1.4.1.1.5.0.5.1|4x|001122334455\n"
        "1.0.8802.1.1.2.1.4.1.1.6.0.5.1|2|5\n"
        "1.0.8802.1.1.2.1.4.1.1.7.0.5.1|4|Gi1/0/48\n"
        "1.0.8802.1.1.2.1.4.1.1.12.0.5.1|4x|2800\n"
    )
    row = parsers.parse_lldp(walk)["neighbours"][0]
    assert (row["chassis_id_subtype"], row["port_id_subtype"]) == ("macAddress", "interfaceName")
    assert row["capabilities"] == ["bridge", "router"]


def test_a_cdp_device_id_of_six_raw_octets_is_a_mac() -> None:
    facts = _facts(PROCURVE)
    assert facts["cdp"][0]["device_id"] == "e8:39:35:1a:ca:99"


SWITCH_WITH_LOCAL_PORT_ZERO = (
    "1.3.6.1.2.1.1.5.0|4|access-1\n"
    "1.3.6.1.2.1.1.7.0|2|2\n"
    "1.3.6.1.2.1.2.2.1.2.3|4|ge-0/0/3\n"
    "1.3.6.1.2.1.2.2.1.2.4|4|ge-0/0/4\n"
    "1.3.6.1.2.1.17.1.4.1.2.3|2|3\n"
    "1.3.6.1.2.1.17.1.4.1.2.4|2|4\n"
    # The neighbour's port MAC, learnt on ge-0/0/4; a host's on ge-0/0/3.
    "1.3.6.1.2.1.17.4.3.1.2.0.17.34.51.68.86|2|4\n"
    "1.3.6.1.2.1.17.4.3.1.3.0.17.34.51.68.86|2|3\n"
    "1.3.6.1.2.1.17.4.3.1.2.82.84.0.0.0.1|2|3\n"
    "1.3.6.1.2.1.17.4.3.1.3.82.84.0.0.0.1|2|3\n"
    "1.3.6.1.2.1.17.4.3.1.2.82.84.0.0.0.2|2|3\n"
    "1.3.6.1.2.1.17.4.3.1.3.82.84.0.0.0.2|2|4\n"  # self: the switch's own, no host
    # LLDP row with local port number 0: chassis by MAC, port by MAC.
    "1.0.8802.1.1.2.1.4.1.1.4.0.0.1|2|4\n"
    "1.0.8802.1.1.2.1.4.1.1.5.0.0.1|4x|001122334400\n"
    "1.0.8802.1.1.2.1.4.1.1.6.0.0.1|2|3\n"
    "1.0.8802.1.1.2.1.4.1.1.7.0.0.1|4x|001122334456\n"
    "1.0.8802.1.1.2.1.4.1.1.8.0.0.1|4|xe-0/0/1\n"
    "1.0.8802.1.1.2.1.4.1.1.9.0.0.1|4|core-1\n"
    "1.0.8802.1.1.2.1.4.1.1.12.0.0.1|4x|2800\n"
)


def test_an_lldp_row_on_local_port_zero_is_placed_where_the_table_learnt_the_neighbour() -> None:
    facts = device_facts(parse_snmprec(SWITCH_WITH_LOCAL_PORT_ZERO))
    assert facts["lldp"]["neighbours"][0]["local_port_num"] == 0
    [neighbour] = neighbours.neighbours(facts)
    assert neighbour["local_if_index"] == 4
    report = _report(facts)
    assert {"type": "CONNECTED_TO", "from": "if:4", "to": "nbr:00:11:22:33:44:00:port:xe-0/0/1"} in report["relations"]
    remote_port = next(r for r in report["records"] if r["ref"] == "nbr:00:11:22:33:44:00:port:xe-0/0/1")
    assert remote_port["attributes"] == {
        "mac": "00:11:22:33:44:56",
        "port_id": "00:11:22:33:44:56",
        "port_id_subtype": "macAddress",
    }
    device = next(r for r in report["records"] if r["ref"] == "nbr:00:11:22:33:44:00")
    assert device["attributes"]["capabilities"] == ["bridge", "router"]
    assert device["attributes"]["chassis_id_subtype"] == "macAddress"
    # ge-0/0/4 has a router behind it now: an uplink; the host on ge-0/0/3 is placed.
    assert _placed(report) == {"ge-0/0/3": ["52:54:00:00:00:01"]}
