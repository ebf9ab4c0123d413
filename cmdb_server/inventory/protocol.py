"""The replies of the OCS Inventory protocol, as FusionInventory 2.6 and OCS 2.10 accept them.

Two exchanges, each one POST of a ``<REQUEST>`` answered by a ``<REPLY>``:

- ``PROLOG`` ("may I send?"): ``SEND`` with ``PROLOG_FREQ``, the hours until the agent asks
  again. ``STOP`` would make both agents skip the inventory silently, so it is never sent:
  this server wants every inventory (an unchanged one costs a fingerprint comparison).
- ``INVENTORY``: ``NO_ACCOUNT_UPDATE``. ``ACCOUNT_UPDATE`` would make OCS rewrite its local
  account info (TAG) file, which is not this server's to change.

A reply is encoded as its request was (measured, docs/notes of issue 18): fusion decodes
only zlib at the default level (it sniffs ``78 9c``, so never level 9) or plain XML, and
after ``--no-compression`` only plain XML (Compress::Zlib is not loaded then); OCS decodes
only zlib. Neither decodes gzip, so a gzip request (an agent without Compress::Zlib) is
answered with zlib, which OCS reads. Neither agent looks at the reply's Content-Type.
Pure: no I/O.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from xml.sax.saxutils import escape

from cmdb_server.inventory.document import InventoryQuery
from cmdb_server.inventory.xml_reader import BodyEncoding

XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>\n'

COMPRESSED_MEDIA_TYPE = "application/x-compressed"
"""What the OCS server sends with a zlib reply (Apache/Ocsinventory/Server/Communication.pm)."""
PLAIN_MEDIA_TYPE = "application/xml"

DEFAULT_PROLOG_FREQ_HOURS = 24


@dataclass(frozen=True)
class Reply:
    body: bytes
    media_type: str


def reply_xml(query: InventoryQuery, prolog_freq_hours: int = DEFAULT_PROLOG_FREQ_HOURS) -> str:
    """The reply's XML: SEND (and the agent's next PROLOG in hours) or NO_ACCOUNT_UPDATE."""
    if query is InventoryQuery.PROLOG:
        return (
            f"{XML_DECLARATION}<REPLY><RESPONSE>SEND</RESPONSE><PROLOG_FREQ>{prolog_freq_hours}</PROLOG_FREQ></REPLY>"
        )
    return f"{XML_DECLARATION}<REPLY><RESPONSE>NO_ACCOUNT_UPDATE</RESPONSE></REPLY>"


def encode_reply(xml: str, request_encoding: BodyEncoding) -> Reply:
    """The reply in the request's encoding: plain for plain, zlib at the default level
    (``78 9c``) for anything compressed."""
    data = xml.encode("utf-8")
    if request_encoding is BodyEncoding.PLAIN:
        return Reply(data, PLAIN_MEDIA_TYPE)
    return Reply(zlib.compress(data, zlib.Z_DEFAULT_COMPRESSION), COMPRESSED_MEDIA_TYPE)


def reply(
    query: InventoryQuery, request_encoding: BodyEncoding, prolog_freq_hours: int = DEFAULT_PROLOG_FREQ_HOURS
) -> Reply:
    return encode_reply(reply_xml(query, prolog_freq_hours), request_encoding)


def error_xml(status: int, field: str, message: str) -> str:
    """An error told in XML for the person reading the agent's debug log or a capture: the
    agents themselves only see the HTTP status (and stop this run cleanly)."""
    return (
        f"{XML_DECLARATION}<ERROR><STATUS>{status}</STATUS><FIELD>{escape(field)}</FIELD>"
        f"<MESSAGE>{escape(message)}</MESSAGE></ERROR>\n"
    )
