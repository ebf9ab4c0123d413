"""An inventory agent's XML request, read: what the protocol and the mapping work on.

The XML of both agents is plain elements with text, no attributes, a few levels deep::

    <REQUEST><QUERY>INVENTORY</QUERY><DEVICEID>web1-2026-12-01-04-25-12</DEVICEID>
      <CONTENT><SOFTWARES><NAME>bash</NAME>...</SOFTWARES><SOFTWARES>...</SOFTWARES>...</CONTENT>
    </REQUEST>

A section of CONTENT that repeats (SOFTWARES, NETWORKS) is a list of items; a single one
(HARDWARE, BIOS) is a list of one. An item maps its child elements' names to their text, or,
for an element with children of its own (OPERATINGSYSTEM/TIMEZONE), to an item again. An
empty element is an empty string; a field repeated within one item keeps its first value.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Union

InventoryItem = Mapping[str, Union[str, "InventoryItem"]]


class InventoryQuery(StrEnum):
    """What a request asks the server; other queries (SNMPQUERY, ...) are refused."""

    PROLOG = "PROLOG"
    INVENTORY = "INVENTORY"


class InventoryAgent(StrEnum):
    """Which agent wrote the document: their field names differ (SOFTWARES/ARCH against
    ARCHITECTURE, CPUS/CORE against CORES, IPv6 in IPADDRESS6 or IPADDRESS)."""

    FUSIONINVENTORY = "fusioninventory"
    OCS = "ocs"


@dataclass(frozen=True)
class InventoryDocument:
    query: InventoryQuery
    device_id: str  # the agent installation's id (host name + first-run time), not the host's
    agent: InventoryAgent
    client: str  # VERSIONCLIENT, else the User-Agent: "FusionInventory-Agent_v2.6-3"
    content: Mapping[str, tuple[InventoryItem, ...]] = field(default_factory=dict)

    def section(self, name: str) -> tuple[InventoryItem, ...]:
        return self.content.get(name, ())

    def first(self, name: str) -> InventoryItem:
        """The section's first item (HARDWARE, BIOS, OPERATINGSYSTEM), or an empty one."""
        items = self.section(name)
        return items[0] if items else {}
