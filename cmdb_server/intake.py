"""A report as it arrives: its header checked, its content fingerprinted, its records parsed on demand.

Most reports a CMDB receives say what the source's previous report said. Those are
recognised by the fingerprint of their content before anything else is checked: content
equal to what was applied (and so validated) before under the same schema needs no second
validation, and only its volatile values are read. The records of any other report are
checked in full the first time they are needed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson

from schema import Schema
from schema.report import Report, ReportError, ReportHeader, parse_header, parse_report, volatile_values


class NotJson(ValueError):
    """The body is not a JSON document."""


def decode_json(body: bytes) -> Any:
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise NotJson(str(exc)) from None


def fingerprint(data: Mapping[str, Any], schema: Schema) -> str | None:
    """A hash of what a report says about the estate: not its id, its time, or volatile values.

    Equal content under the same schema gives the same print. None when the content is
    not even shaped like a report's (the full check then says what is wrong).
    """
    try:
        records = []
        for raw in data["records"]:
            ci_class = schema.classes[raw["class"]]
            attributes = {
                k: v
                for k, v in raw.get("attributes", {}).items()
                if k not in ci_class.attributes or not ci_class.attributes[k].volatile
            }
            records.append({**raw, "attributes": attributes})
        content = {
            "schema": schema.digest,
            "source": data["source"],
            "complete": data.get("complete", True),
            "records": records,
            "relations": data.get("relations", []),
        }
        encoded = orjson.dumps(content, option=orjson.OPT_SORT_KEYS)
    except (KeyError, TypeError, AttributeError, orjson.JSONEncodeError):
        return None
    return hashlib.sha256(encoded).hexdigest()


@dataclass
class IncomingReport:
    """A report whose header is checked; ``report()`` checks and returns the rest once."""

    header: ReportHeader
    data: Mapping[str, Any]
    schema: Schema
    fingerprint: str | None
    _parsed: Report | None = field(default=None, repr=False)

    @classmethod
    def receive(cls, data: Any, schema: Schema) -> IncomingReport:
        """Check the header (ReportError when it is wrong) and fingerprint the content."""
        header = parse_header(data)
        return cls(header=header, data=data, schema=schema, fingerprint=fingerprint(data, schema))

    def report(self) -> Report:
        """The whole report, checked against the contract and the schema (ReportError)."""
        if self._parsed is None:
            self._parsed = parse_report(self.data, self.schema)
        return self._parsed

    def volatile_values(self) -> dict[str, dict[str, Any]]:
        """ref -> checked volatile values; ReportError sends the caller to the full check."""
        return volatile_values(self.data, self.schema)


__all__ = ["IncomingReport", "NotJson", "ReportError", "decode_json", "fingerprint"]
