"""Building a report of the contract (``schema/report.py``): one way for every source.

The agent, the SSH collector and the SNMP collector add records and relations here;
the builder keeps refs unique, relations unique, and writes the envelope.
"""

from __future__ import annotations

import ipaddress
import uuid
from datetime import UTC, datetime
from typing import Any

from schema.report import REPORT_VERSION, RecordDict, RelationDict, ReportDict


def drop_none(values: dict[str, Any]) -> dict[str, Any]:
    """Attributes without the ones nobody knows (a null in a report would clear them)."""
    return {k: v for k, v in values.items() if v is not None}


class ReportBuilder:
    def __init__(self) -> None:
        self.records: list[RecordDict] = []
        self.relations: list[RelationDict] = []
        self._refs: set[str] = set()
        self._relation_keys: set[tuple[Any, ...]] = set()

    def has(self, ref: str) -> bool:
        return ref in self._refs

    def add(self, record: RecordDict) -> str:
        """Add a record unless one with its ref is there already; return the ref."""
        if record["ref"] not in self._refs:
            self._refs.add(record["ref"])
            self.records.append(record)
        return record["ref"]

    def relate(self, rel_type: str, from_ref: str, to_ref: str, properties: dict[str, Any] | None = None) -> None:
        key = (rel_type, from_ref, to_ref, tuple(sorted((properties or {}).items())))
        if key in self._relation_keys:
            return
        self._relation_keys.add(key)
        relation: RelationDict = {"type": rel_type, "from": from_ref, "to": to_ref}
        if properties:
            relation["properties"] = properties
        self.relations.append(relation)

    def ip_address(self, address: str, domain: str, prefix_length: int | None = None) -> str:
        """The IPAddress record of an address (configured here, or a remote end); its ref."""
        attributes: dict[str, Any] = {"name": address, "version": ipaddress.ip_address(address).version}
        if prefix_length is not None:
            attributes["prefix_length"] = prefix_length
        return self.add(
            {
                "ref": f"ip:{address}",
                "class": "IPAddress",
                "identity": {"address": address, "domain": domain},
                "attributes": attributes,
            }
        )

    def build(
        self,
        source_kind: str,
        source_name: str,
        collected_at: datetime | None = None,
        report_id: str | None = None,
    ) -> ReportDict:
        return {
            "version": REPORT_VERSION,
            "report_id": report_id or str(uuid.uuid4()),
            "source": {"kind": source_kind, "name": source_name},
            "collected_at": (collected_at or datetime.now(UTC)).isoformat(),
            "records": self.records,
            "relations": self.relations,
        }
