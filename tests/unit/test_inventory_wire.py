"""The inventory agents' wire format: the hardened reader and the protocol's replies (pure).

The ``wire-*`` fixtures are bodies the real agents sent (FusionInventory 2.6, OCS 2.10 on
Debian 12, captured by a listener on 127.0.0.1): the PROLOG in plain text, the INVENTORY as
sent, zlib-compressed.
"""

from __future__ import annotations

import gzip
import zlib
from dataclasses import replace
from pathlib import Path

import pytest

from cmdb_server.inventory import protocol
from cmdb_server.inventory.document import InventoryAgent, InventoryQuery
from cmdb_server.inventory.xml_reader import (
    BodyEncoding,
    InventoryRejected,
    InventoryTooLarge,
    inflate,
    read_inventory,
    sniff_encoding,
)
from schema.values import INVENTORY_LIMITS

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "inventory"
FUSION_UA = "FusionInventory-Agent_v2.6-3"
OCS_UA = "OCS-NG_unified_unix_agent_v2.10.0"


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def read(body: bytes, **kwargs: object) -> object:
    return read_inventory(body, content_type="application/x-compress-zlib", user_agent=FUSION_UA, **kwargs)  # type: ignore[arg-type]


def request(inner: str = "", query: str = "INVENTORY", device: str = "web1-2026-12-01-04-25-12") -> bytes:
    return (
        f'<?xml version="1.0" encoding="UTF-8" ?>\n<REQUEST><DEVICEID>{device}</DEVICEID><QUERY>{query}</QUERY>'
        f"<CONTENT>{inner}</CONTENT></REQUEST>"
    ).encode()


def rejected(body: bytes, field: str, *words: str, too_large: bool = False, **kwargs: object) -> InventoryRejected:
    with pytest.raises(InventoryRejected) as caught:
        read(body, **kwargs)
    assert caught.value.field == field, caught.value
    assert caught.value.too_large is too_large, caught.value
    for word in words:
        assert word in caught.value.message, caught.value.message
    return caught.value


# --- what the real agents send ---------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "user_agent", "agent", "device"),
    [
        ("wire-fusion-prolog.xml", FUSION_UA, InventoryAgent.FUSIONINVENTORY, "vm-2026-12-01-04-25-12"),
        ("wire-ocs-prolog.xml", OCS_UA, InventoryAgent.OCS, "vm-2026-12-01-04-26-43"),
    ],
)
def test_a_prolog_of_either_agent_is_read(name: str, user_agent: str, agent: InventoryAgent, device: str) -> None:
    body = zlib.compress(fixture(name))
    doc = read_inventory(body, content_type="application/x-compress", user_agent=user_agent)
    assert (doc.query, doc.device_id, doc.agent, doc.client) == (InventoryQuery.PROLOG, device, agent, user_agent)
    assert doc.content == {}


def test_fusions_inventory_is_read_with_its_sections() -> None:
    body = fixture("wire-fusion-inventory.zlib")
    doc = read_inventory(body, content_type="application/x-compress-zlib", user_agent="")
    assert doc.query is InventoryQuery.INVENTORY
    assert doc.agent is InventoryAgent.FUSIONINVENTORY  # told by VERSIONCLIENT, whatever the User-Agent
    assert doc.client == FUSION_UA
    assert len(doc.section("SOFTWARES")) == 817
    assert len(doc.section("NETWORKS")) == 7  # one row per address, as sent
    assert doc.first("HARDWARE")["NAME"] == "vm"
    timezone = doc.first("OPERATINGSYSTEM")["TIMEZONE"]
    assert timezone == {"NAME": "UTC", "OFFSET": "+0000"}  # a nested element is an item again


def test_ocs_inventory_is_read_and_told_from_fusions() -> None:
    doc = read_inventory(fixture("wire-ocs-inventory.zlib"), content_type="application/x-compress", user_agent=OCS_UA)
    assert doc.agent is InventoryAgent.OCS
    assert doc.section("OPERATINGSYSTEM") == ()
    assert len(doc.section("SOFTWARES")) == 817
    assert {} in doc.section("STORAGES")  # OCS's empty <STORAGES></STORAGES> is an empty item
    # An OCS --local file has no VERSIONCLIENT and comes without the agent's User-Agent.
    plain = zlib.decompress(fixture("wire-ocs-inventory.zlib"))
    assert read_inventory(plain, content_type=None, user_agent=None).agent is InventoryAgent.OCS


@pytest.mark.parametrize(
    ("encode", "encoding", "content_type"),
    [
        (lambda xml: zlib.compress(xml), BodyEncoding.ZLIB, "application/x-compress-zlib"),
        (lambda xml: zlib.compress(xml, 9), BodyEncoding.ZLIB, "application/x-compress"),
        (lambda xml: gzip.compress(xml), BodyEncoding.GZIP, "application/x-compress-gzip"),
        (lambda xml: xml, BodyEncoding.PLAIN, "application/xml"),
        (lambda xml: b"\xef\xbb\xbf\n" + xml, BodyEncoding.PLAIN, "application/xml"),  # a BOM and a blank line
        (lambda xml: zlib.compress(xml), BodyEncoding.ZLIB, "application/xml"),  # a Content-Type that lies
        (lambda xml: xml, BodyEncoding.PLAIN, "application/x-compress-zlib"),
        (lambda xml: zlib.compress(xml), BodyEncoding.ZLIB, None),
    ],
)
def test_the_encoding_is_told_by_the_first_bytes_not_the_content_type(
    encode: object, encoding: BodyEncoding, content_type: str | None
) -> None:
    xml = zlib.decompress(fixture("wire-fusion-inventory.zlib"))
    body = encode(xml)  # type: ignore[operator]
    assert sniff_encoding(body, content_type) is encoding
    doc = read_inventory(body, content_type=content_type, user_agent=FUSION_UA)
    assert len(doc.section("SOFTWARES")) == 817


# --- what a hostile or broken sender sends ------------------------------------------------


def test_a_body_of_no_known_encoding_is_refused_naming_its_first_bytes() -> None:
    rejected(b"PK\x03\x04 a zip file", "body", "neither zlib, gzip nor XML", "50 4b 03 04", "application/x-compress")
    rejected(b"", "body", "nothing")


def test_billion_laughs_is_refused_before_any_entity_is_expanded() -> None:
    bomb = (
        b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
        + b"".join(
            f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">'.encode() for i in range(1, 10)
        )
        + b"]><REQUEST><QUERY>PROLOG</QUERY><DEVICEID>&lol9;</DEVICEID></REQUEST>"
    )
    rejected(zlib.compress(bomb), "body", "DTD")


def test_an_external_entity_is_never_read() -> None:
    xxe = (
        b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
        b"<REQUEST><QUERY>INVENTORY</QUERY><DEVICEID>&xxe;</DEVICEID><CONTENT/></REQUEST>"
    )
    error = rejected(xxe, "body", "DTD")
    assert "root:" not in str(error)


def test_a_dtd_without_entities_is_refused_too() -> None:
    rejected(b'<?xml version="1.0"?><!DOCTYPE REQUEST SYSTEM "http://127.0.0.1:9/x.dtd">' + request()[40:], "body")


def test_deep_nesting_stops_at_the_depth_cap() -> None:
    deep = "<A>" * 50 + "x" + "</A>" * 50
    rejected(request(f"<HARDWARE>{deep}</HARDWARE>"), "body", "deeper than 8", "REQUEST/CONTENT/HARDWARE/A")
    # Five levels, as fusion's OPERATINGSYSTEM/TIMEZONE, are read.
    assert read(request("<OPERATINGSYSTEM><TIMEZONE><NAME>UTC</NAME></TIMEZONE></OPERATINGSYSTEM>"))


def test_a_huge_text_or_attribute_or_name_is_refused() -> None:
    long_text = "x" * (INVENTORY_LIMITS.max_text_length + 1)
    rejected(request(f"<BIOS><SSN>{long_text}</SSN></BIOS>"), "body", "<SSN> holds more than")
    long_attribute = "y" * (INVENTORY_LIMITS.max_attribute_length + 1)
    rejected(request(f'<BIOS a="{long_attribute}"/>'), "body", "attribute 'a' of <BIOS>")
    long_name = "N" * (INVENTORY_LIMITS.max_name_length + 1)
    rejected(request(f"<{long_name}/>"), "body", "a name of")


def test_an_element_count_bomb_stops_at_the_cap() -> None:
    many = "<SOFTWARES><NAME>p</NAME></SOFTWARES>" * (INVENTORY_LIMITS.max_elements // 2 + 1)
    rejected(zlib.compress(request(many)), "body", "more than 250000 elements", too_large=True)


def test_a_zip_bomb_stops_at_the_output_cap_not_in_the_allocator() -> None:
    bomb = zlib.compress(b"<" + b" " * (200 * 1024 * 1024), 9)  # 200 MB of XML in about 200 KB
    assert len(bomb) < 300 * 1024
    rejected(bomb, "body", "inflates to more than 33554432 bytes", too_large=True)
    two_mb = gzip.compress(b" " * (2 * 1024 * 1024))
    rejected(two_mb, "body", "more than 1048576", too_large=True, max_bytes=1024 * 1024)
    rejected(b" " * 2048 + request(), "body", "more than 1024 bytes", too_large=True, max_bytes=1024)


def test_truncated_or_corrupt_compression_is_refused_clearly() -> None:
    whole = fixture("wire-fusion-inventory.zlib")
    rejected(whole[: len(whole) // 2], "body", "zlib data is truncated", f"({len(whole) // 2} bytes received)")
    rejected(whole[:1], "body", "truncated")
    corrupt = whole[:100] + bytes(b ^ 0xFF for b in whole[100:200]) + whole[200:]
    rejected(corrupt, "body", "not valid zlib data")
    rejected(b"\x78\x00garbage", "body", "not valid zlib data")
    rejected(gzip.compress(request())[:-10], "body", "gzip data is truncated")


def test_xml_that_is_not_well_formed_is_refused_with_its_place() -> None:
    rejected(b"<REQUEST><QUERY>PROLOG</QUERY>", "body", "not well-formed", "line 1")
    rejected(b"<REQUEST><QUERY>PROLOG</QUERY></REQUEST><REQUEST/>", "body", "junk after document element")


@pytest.mark.parametrize(
    ("body", "field", "words"),
    [
        (b"<REPLY><RESPONSE>SEND</RESPONSE></REPLY>", "REQUEST", ("<REPLY>",)),
        (request(query="SNMPQUERY"), "QUERY", ("'SNMPQUERY'", "PROLOG, INVENTORY")),
        (request(query=""), "QUERY", ("''",)),
        (b"<REQUEST><DEVICEID>d1</DEVICEID></REQUEST>", "QUERY", ("missing",)),
        (b"<REQUEST><QUERY>PROLOG</QUERY></REQUEST>", "DEVICEID", ("missing",)),
        (request(device="   "), "DEVICEID", ("missing or empty",)),
        (request(device="web 1"), "DEVICEID", ("printable ASCII",)),
        (request(device="d" * 191), "DEVICEID", ("at most 190",)),
        (b"<REQUEST><QUERY>INVENTORY</QUERY><DEVICEID>d1</DEVICEID></REQUEST>", "CONTENT", ("missing",)),
    ],
)
def test_a_request_that_is_not_the_protocols_names_its_field(body: bytes, field: str, words: tuple[str, ...]) -> None:
    rejected(body, field, *words)


def test_non_utf8_bytes_are_refused_with_their_offset() -> None:
    latin = request("<HARDWARE><NAME>caf\xe9</NAME></HARDWARE>".encode("latin-1").decode("latin-1"))
    body = latin.replace("café".encode(), b"caf\xe9")
    rejected(body, "body", "not UTF-8", "0xe9")
    # A document that declares Latin-1 honestly is read as such.
    declared = body.replace(b'encoding="UTF-8"', b'encoding="ISO-8859-1"')
    assert read(declared).first("HARDWARE")["NAME"] == "café"  # type: ignore[attr-defined]
    rejected(body.replace(b'encoding="UTF-8"', b'encoding="no-such-codec"'), "body", "unknown encoding")


def test_the_limits_are_the_schemas() -> None:
    smaller = replace(INVENTORY_LIMITS, max_elements=5)
    with pytest.raises(InventoryTooLarge):
        read_inventory(request("<A/><B/><C/>"), content_type=None, user_agent=None, limits=smaller)
    assert inflate(zlib.compress(b"<x/>"), BodyEncoding.ZLIB, 4) == b"<x/>"


# --- the replies ---------------------------------------------------------------------------


def test_a_prolog_is_answered_send_with_the_frequency_in_hours() -> None:
    answer = protocol.reply(InventoryQuery.PROLOG, BodyEncoding.ZLIB, prolog_freq_hours=12)
    assert answer.body[:2] == b"\x78\x9c"  # fusion sniffs exactly this: never level 9 (78 da)
    assert answer.media_type == "application/x-compressed"
    assert zlib.decompress(answer.body) == (
        b'<?xml version="1.0" encoding="UTF-8"?>\n<REPLY><RESPONSE>SEND</RESPONSE><PROLOG_FREQ>12</PROLOG_FREQ></REPLY>'
    )


def test_an_inventory_is_answered_no_account_update_in_the_requests_encoding() -> None:
    plain = protocol.reply(InventoryQuery.INVENTORY, BodyEncoding.PLAIN)
    assert plain.media_type == "application/xml"
    assert plain.body.endswith(b"<REPLY><RESPONSE>NO_ACCOUNT_UPDATE</RESPONSE></REPLY>")
    for encoding in (BodyEncoding.ZLIB, BodyEncoding.GZIP):  # no agent decodes a gzip reply
        answer = protocol.reply(InventoryQuery.INVENTORY, encoding)
        assert answer.body[:2] == b"\x78\x9c"
        assert zlib.decompress(answer.body) == plain.body


def test_an_error_is_told_in_escaped_xml() -> None:
    text = protocol.error_xml(400, "QUERY", "'<x>' & more")
    assert "<MESSAGE>'&lt;x&gt;' &amp; more</MESSAGE>" in text
    assert "<FIELD>QUERY</FIELD>" in text
