"""STAND-IN until part A (branch inv-mapping) lands: the merge replaces this file whole.

The least report the protocol's tests need: one Host named by the inventory's HARDWARE/NAME.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from cmdb_server.inventory.document import InventoryDocument
from schema import SourceKind


def inventory_report(
    doc: InventoryDocument, *, source_name: str, report_id: str, collected_at: datetime
) -> dict[str, Any]:
    name = str(doc.first("HARDWARE").get("NAME") or doc.device_id)
    return {
        "version": 1,
        "report_id": report_id,
        "source": {"kind": SourceKind.INVENTORY.value, "name": source_name},
        "collected_at": collected_at.isoformat(),
        "records": [{"ref": "host", "class": "Host", "identity": {"fqdn": name}, "attributes": {"hostname": name}}],
        "relations": [],
    }
