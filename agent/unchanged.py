"""Short reports: when nothing but volatile values changed, say so instead of resending it all.

After the server applies a full report it answers with the report's fingerprint. The
agent remembers that fingerprint with a digest of what it sent (``last-delivered.json``
beside the spool). When the next collection has the same digest, the agent sends only
the header, ``same_as: <fingerprint>`` and the records that carry volatile values (used
space). If the server's record moved on in between (another report of this source, a
new schema), it answers 409 and the agent sends the full report at once.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from pathlib import Path
from typing import Any

from schema import Schema
from schema.report import stable_content

log = logging.getLogger(__name__)

MEMO_NAME = "last-delivered.json"


def content_digest(report: dict[str, Any], schema: Schema) -> str:
    """What the report says, volatile values, id and time left out: equal content, equal digest."""
    content = stable_content(report, schema)
    return hashlib.sha256(json.dumps(content, sort_keys=True, default=str).encode("utf-8")).hexdigest()


def short_report(report: dict[str, Any], schema: Schema, fingerprint: str) -> dict[str, Any]:
    """The report's header, ``same_as`` and its records' volatile values only."""
    records = []
    for record in report["records"]:
        volatile = schema.classes[record["class"]].volatile_attributes
        values = {k: v for k, v in record.get("attributes", {}).items() if k in volatile}
        if values:
            records.append({"ref": record["ref"], "class": record["class"], "attributes": values})
    header = {k: report[k] for k in ("version", "report_id", "source", "collected_at")}
    return {**header, "same_as": fingerprint, "records": records}


class DeliveryMemo:
    """The digest and server fingerprint of the last full report the server applied."""

    def __init__(self, directory: str | Path) -> None:
        self.path = Path(directory) / MEMO_NAME

    def fingerprint_for(self, digest: str) -> str | None:
        """The server's fingerprint if the last delivered report had this digest."""
        try:
            memo = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if not isinstance(memo, dict) or memo.get("digest") != digest:
            return None
        fingerprint = memo.get("fingerprint")
        return fingerprint if isinstance(fingerprint, str) else None

    def save(self, digest: str, fingerprint: str) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        temporary = self.path.with_suffix(".tmp")
        temporary.write_text(json.dumps({"digest": digest, "fingerprint": fingerprint}), encoding="utf-8")
        os.replace(temporary, self.path)

    def forget(self) -> None:
        self.path.unlink(missing_ok=True)
