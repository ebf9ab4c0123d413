"""Test only: an inventory agent's XML as the InventoryDocument the mapping reads.

A plain xml.etree reading of trusted files (our fixtures, or an agent run by the test):
the server reads agents' XML with the hardened reader (cmdb_server/inventory/), never this.
"""

from __future__ import annotations

import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

from cmdb_server.inventory.document import InventoryAgent, InventoryDocument, InventoryItem, InventoryQuery

FIXTURES = Path(__file__).parent / "fixtures" / "inventory"

FUSION_NO_TASKS = "deploy,esx,netdiscovery,netinventory,wakeonlan,collect,wmi"


def _item(element: ET.Element) -> InventoryItem:
    item: dict[str, str | InventoryItem] = {}
    for child in element:
        if child.tag not in item:  # a field repeated within one item keeps its first value
            item[child.tag] = _item(child) if len(child) else (child.text or "")
    return item


def read_document(xml: bytes | str) -> InventoryDocument:
    root = ET.fromstring(xml)  # noqa: S314 (trusted test files only)
    content: dict[str, list[InventoryItem]] = {}
    for section in root.find("CONTENT") or ():
        content.setdefault(section.tag, []).append(_item(section))
    fusion = "VERSIONPROVIDER" in content or "OPERATINGSYSTEM" in content
    client = root.findtext("CONTENT/VERSIONCLIENT") or ""
    return InventoryDocument(
        query=InventoryQuery(root.findtext("QUERY") or "INVENTORY"),
        device_id=root.findtext("DEVICEID") or "",
        agent=InventoryAgent.FUSIONINVENTORY if fusion else InventoryAgent.OCS,
        client=client or ("FusionInventory-Agent_v2.6-3" if fusion else "OCS-NG_unified_unix_agent_v2.10.0"),
        content={name: tuple(items) for name, items in content.items()},
    )


def fixture(name: str) -> InventoryDocument:
    return read_document((FIXTURES / name).read_bytes())


def run_fusion(directory: Path, env: dict[str, str] | None = None) -> InventoryDocument:
    """A fresh inventory of this machine by the real FusionInventory agent (``--local``)."""
    directory.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        ["fusioninventory-agent", "--local", str(directory), f"--no-task={FUSION_NO_TASKS}", "--logger=stderr"],
        check=True,
        capture_output=True,
        timeout=120,
        env=env,
    )
    (written,) = directory.glob("*.ocs")
    return read_document(written.read_bytes())


def run_ocs(directory: Path) -> InventoryDocument:
    """A fresh inventory of this machine by the real OCS Inventory unix agent (``--local``)."""
    directory.mkdir(parents=True, exist_ok=True)
    subprocess.run(["ocsinventory-agent", f"--local={directory}"], check=True, capture_output=True, timeout=120)
    (written,) = directory.glob("*.ocs")
    return read_document(written.read_bytes())
