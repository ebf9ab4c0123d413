"""Reading an inventory agent's request body: decompressed under a cap, parsed by a hardened parser.

FusionInventory and OCS Inventory agents POST one XML document, zlib-compressed (RFC 1950,
``78 9c``) with no Content-Encoding header; without Compress::Zlib they fall back to gzip,
and fusion's ``--no-compression`` sends plain XML. Their Content-Types vary
(``application/x-compress-zlib``, ``application/x-compress``, ``application/xml``), so the
encoding is told by the body's first bytes, not by the header.

The body comes from whoever holds a token, so nothing in it is trusted: the inflated size
is capped while inflating (a zip bomb stops at the cap, not in the allocator), no DTD,
entity or external reference is ever read (defusedxml), and the depth, element count, names,
texts and attributes are capped while parsing (``schema/limits.toml`` [inventory] says why).
Pure: bytes in, an ``InventoryDocument`` or an ``InventoryRejected`` naming what is wrong out.
"""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any
from xml.etree.ElementTree import ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import DefusedXMLParser

from cmdb_server.inventory.document import InventoryAgent, InventoryDocument, InventoryItem, InventoryQuery
from schema.values import INVENTORY_LIMITS, InventoryLimits, quoted

INFLATE_CHUNK = 256 * 1024
"""Bytes of XML inflated at a time: the cap is checked between chunks, so at most this much
more than the cap is ever held."""

MAX_DEVICE_ID_LENGTH = 190
"""A source name is at most 200 characters (schema/report.py), ``inventory:`` included."""

DEVICE_ID = re.compile(r"[!-~]+")
"""Printable ASCII without spaces: the agents write ``<hostname>-YYYY-MM-DD-hh-mm-ss``."""

_XML_DECLARED_ENCODING = re.compile(rb"""^\s*<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9._-]+)["']""")


class BodyEncoding(StrEnum):
    """How a request body is encoded, told by its first bytes; the reply uses the same (protocol.py)."""

    ZLIB = "zlib"
    GZIP = "gzip"
    PLAIN = "plain"


class InventoryRejected(ValueError):
    """The body is not an inventory request this server reads: ``field`` names what is at
    fault (``body``, ``REQUEST``, ``QUERY``, ``DEVICEID``, ``CONTENT``), ``message`` says why."""

    too_large = False

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class InventoryTooLarge(InventoryRejected):
    """Over one of the caps of ``schema/limits.toml`` [inventory]: the sender must send less."""

    too_large = True


def sniff_encoding(body: bytes, content_type: str | None = None) -> BodyEncoding:
    """The body's encoding by its magic bytes; InventoryRejected when it is none of the three."""
    if body[:1] == b"\x78":
        return BodyEncoding.ZLIB
    if body[:2] == b"\x1f\x8b":
        return BodyEncoding.GZIP
    if body.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] == b"<":
        return BodyEncoding.PLAIN
    said = f" (Content-Type {quoted(content_type)})" if content_type else ""
    shown = body[:8].hex(" ") if body else "nothing"
    raise InventoryRejected(
        "body", f"is neither zlib, gzip nor XML{said}: it starts with {shown}; inventory agents send zlib"
    )


def inflate(body: bytes, encoding: BodyEncoding, max_bytes: int) -> bytes:
    """The XML of a body, inflated a chunk at a time: over ``max_bytes`` is InventoryTooLarge
    as soon as the output passes it; truncated or corrupt data is InventoryRejected."""
    if encoding is BodyEncoding.PLAIN:
        if len(body) > max_bytes:
            raise InventoryTooLarge("body", f"holds more than {max_bytes} bytes of XML (schema/limits.toml)")
        return body
    inflater = zlib.decompressobj(wbits=15 if encoding is BodyEncoding.ZLIB else 31)
    out = bytearray()
    pending = body
    try:
        while not inflater.eof:
            chunk = inflater.decompress(pending, INFLATE_CHUNK)
            out += chunk
            if len(out) > max_bytes:
                raise InventoryTooLarge(
                    "body", f"inflates to more than {max_bytes} bytes of XML (schema/limits.toml); not read further"
                )
            pending = inflater.unconsumed_tail
            if not chunk and not pending:
                break
    except zlib.error as exc:
        raise InventoryRejected("body", f"is not valid {encoding.value} data: {exc}") from None
    if not inflater.eof:
        raise InventoryRejected(
            "body", f"{encoding.value} data is truncated: it ends before its end marker ({len(body)} bytes received)"
        )
    return bytes(out)


@dataclass(slots=True)
class _Element:
    tag: str
    text: list[str] = field(default_factory=list)
    children: list[_Element] = field(default_factory=list)
    length: int = 0


class _CappedBuilder:
    """The parser's target: builds a small tree and stops the parse at the first cap passed."""

    def __init__(self, limits: InventoryLimits) -> None:
        self.limits = limits
        self.stack: list[_Element] = []
        self.root: _Element | None = None
        self.count = 0

    def start(self, tag: str, attrs: dict[str, str]) -> None:
        limits = self.limits
        self.count += 1
        if self.count > limits.max_elements:
            raise InventoryTooLarge("body", f"holds more than {limits.max_elements} elements (schema/limits.toml)")
        if len(self.stack) >= limits.max_depth:
            path = "/".join(e.tag for e in self.stack[:4])
            raise InventoryRejected(
                "body",
                f"nests elements deeper than {limits.max_depth} levels (under {path}/...); agents send 5 at most",
            )
        names = (tag, *attrs) if attrs else (tag,)  # the agents write no attributes: the common case is one name
        for name in names:
            if len(name) > limits.max_name_length:
                raise InventoryRejected(
                    "body", f"has a name of {len(name)} characters (at most {limits.max_name_length}): {quoted(name)}"
                )
        for name, value in attrs.items():
            if len(value) > limits.max_attribute_length:
                raise InventoryRejected(
                    "body",
                    f"attribute {quoted(name)} of <{tag}> holds {len(value)} characters "
                    f"(at most {limits.max_attribute_length})",
                )
        element = _Element(tag)
        if self.stack:
            self.stack[-1].children.append(element)
        else:
            self.root = element
        self.stack.append(element)

    def data(self, text: str) -> None:
        element = self.stack[-1]
        element.length += len(text)
        if element.length > self.limits.max_text_length:
            raise InventoryRejected(
                "body",
                f"<{element.tag}> holds more than {self.limits.max_text_length} characters of text "
                "(schema/limits.toml)",
            )
        element.text.append(text)

    def end(self, tag: str) -> None:
        self.stack.pop()

    def close(self) -> _Element | None:
        return self.root


def _parse(xml: bytes, limits: InventoryLimits) -> _Element:
    # A byte-order mark or a blank line before the XML declaration (an edited --local file)
    # is not XML's, but loses nothing when dropped.
    xml = xml.removeprefix(b"\xef\xbb\xbf").lstrip(b" \t\r\n")
    declared = _XML_DECLARED_ENCODING.match(xml)
    if declared is None or declared.group(1).lower() in (b"utf-8", b"utf8"):
        try:
            xml.decode("utf-8")
        except UnicodeDecodeError as exc:
            line = xml.count(b"\n", 0, exc.start) + 1
            raise InventoryRejected(
                "body", f"is not UTF-8 (byte {xml[exc.start]:#04x} at offset {exc.start}, line {line}), as it declares"
            ) from None
    builder = _CappedBuilder(limits)
    parser = DefusedXMLParser(target=builder, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    try:
        parser.feed(xml)
        parser.close()
    except DefusedXmlException as exc:
        what = {
            "DTDForbidden": "a DTD",
            "EntitiesForbidden": "an entity",
            "ExternalReferenceForbidden": "an external reference",
        }
        kind = what.get(type(exc).__name__, "a DTD, an entity or an external reference")
        name = getattr(exc, "name", None)
        raise InventoryRejected(
            "body", f"declares {kind}{f' ({quoted(str(name))})' if name else ''}: never read (agents send none)"
        ) from None
    except ParseError as exc:
        raise InventoryRejected("body", f"is not well-formed XML: {exc}") from None
    except LookupError as exc:  # an encoding declaration Python does not know
        raise InventoryRejected("body", f"declares an unknown encoding: {exc}") from None
    if builder.root is None:
        raise InventoryRejected("body", "holds no XML element")
    return builder.root


def _text(element: _Element) -> str:
    return "".join(element.text)


def _item(element: _Element) -> InventoryItem:
    """An item maps its children's names to their text (a leaf) or an item (a nested element);
    a name repeated keeps its first value."""
    item: dict[str, Any] = {}
    for child in element.children:
        if child.tag not in item:
            item[child.tag] = _item(child) if child.children else _text(child)
    return item


def _child(element: _Element, tag: str) -> _Element | None:
    return next((c for c in element.children if c.tag == tag), None)


def _agent(version_client: str | None, user_agent: str | None) -> InventoryAgent:
    """Fusion always writes VERSIONCLIENT; OCS never does (its User-Agent says OCS-NG)."""
    said = version_client or user_agent or ""
    if said.lower().startswith(("fusioninventory", "glpi-agent")) or version_client:
        return InventoryAgent.FUSIONINVENTORY
    return InventoryAgent.OCS


def read_inventory(
    body: bytes,
    *,
    content_type: str | None,
    user_agent: str | None,
    max_bytes: int = INVENTORY_LIMITS.max_xml_bytes,
    limits: InventoryLimits = INVENTORY_LIMITS,
) -> InventoryDocument:
    """The request an agent sent (compressed or not), read; InventoryRejected naming what is wrong.

    ``max_bytes`` caps the XML once inflated; ``user_agent`` tells the agent when the
    document does not (OCS writes no VERSIONCLIENT).
    """
    root = _parse(inflate(body, sniff_encoding(body, content_type), max_bytes), limits)
    if root.tag != "REQUEST":
        raise InventoryRejected("REQUEST", f"the root element is <{root.tag[:60]}>, not <REQUEST>")
    query_element = _child(root, "QUERY")
    if query_element is None:
        raise InventoryRejected("QUERY", "missing: a request says what it asks (PROLOG or INVENTORY)")
    query_text = _text(query_element).strip()
    try:
        query = InventoryQuery(query_text)
    except ValueError:
        allowed = ", ".join(q.value for q in InventoryQuery)
        raise InventoryRejected(
            "QUERY", f"{quoted(query_text)} is not a query this server answers ({allowed})"
        ) from None
    device = _child(root, "DEVICEID")
    device_id = _text(device).strip() if device is not None else ""
    if not device_id:
        raise InventoryRejected("DEVICEID", "missing or empty: the agent names its installation there")
    if len(device_id) > MAX_DEVICE_ID_LENGTH or not DEVICE_ID.fullmatch(device_id):
        raise InventoryRejected(
            "DEVICEID",
            f"{quoted(device_id)} is not an agent's device id (printable ASCII without spaces, "
            f"at most {MAX_DEVICE_ID_LENGTH} characters)",
        )
    content: dict[str, list[InventoryItem]] = {}
    content_element = _child(root, "CONTENT")
    if query is InventoryQuery.INVENTORY:
        if content_element is None:
            raise InventoryRejected("CONTENT", "missing: an INVENTORY request carries its sections in <CONTENT>")
        for section in content_element.children:
            content.setdefault(section.tag, []).append(_item(section))
    version_client = None
    if content_element is not None:
        version_element = _child(content_element, "VERSIONCLIENT")
        version_client = _text(version_element).strip() if version_element is not None else None
    agent = _agent(version_client, user_agent)
    return InventoryDocument(
        query=query,
        device_id=device_id,
        agent=agent,
        client=(version_client or user_agent or "")[:200],
        content={name: tuple(items) for name, items in content.items()},
    )
