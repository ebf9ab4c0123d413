"""A report as it arrives: its header checked, its content fingerprinted, its records parsed on demand.

Most reports a CMDB receives say what the source's previous report said. Those are
recognised by the fingerprint of their content before anything else is checked: content
equal to what was applied (and so validated) before under the same schema needs no second
validation, and only its volatile values are read. The records of any other report are
checked in full the first time they are needed.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson

from cmdb_server.errors import ApiError
from schema import Schema
from schema.report import (
    MAX_RECORDS,
    MAX_RELATIONS,
    Problem,
    Report,
    ReportError,
    ReportHeader,
    parse_header,
    parse_report,
    stable_content,
    volatile_values,
)

FINGERPRINT = re.compile(r"[0-9a-f]{64}")


class NotJson(ValueError):
    """The body is not a JSON document."""


class ChangedSince(ApiError):
    """A short report whose ``same_as`` is not the source's last fingerprint: the sender must
    send its full report (agents do so at once)."""

    status = 409


class ReportTooLarge(ApiError):
    """More records or relations than one transaction can apply (schema/limits.toml): refused
    before any work, so the sender learns the limit at once instead of a 503 a minute later."""

    status = 413


def check_size(data: Any) -> None:
    """Refuse a report over the declared limits, naming the limit (ReportTooLarge)."""
    if not isinstance(data, dict):
        return
    for part, limit in (("records", MAX_RECORDS), ("relations", MAX_RELATIONS)):
        items = data.get(part)
        if isinstance(items, list) and len(items) > limit:
            raise ReportTooLarge(
                f"{len(items)} {part}: a report holds at most {limit} (schema/limits.toml); "
                'split it into several reports ("complete": false) or raise the limit with Neo4j\'s heap',
                field=part,
            )


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
        content = {"schema": schema.digest, **stable_content(data, schema)}
        encoded = orjson.dumps(content, option=orjson.OPT_SORT_KEYS)
    except (KeyError, TypeError, AttributeError, orjson.JSONEncodeError):  # not shaped like a report
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

    same_as: bool = False  # a short report: "what my last report said", with volatile values only

    @classmethod
    def receive(cls, data: Any, schema: Schema) -> IncomingReport:
        """Check the header (ReportError when it is wrong) and fingerprint the content.

        A short report names, in ``same_as``, the fingerprint the server answered to the
        source's last full report, and carries only the records that have volatile
        values: agents send it when nothing else changed.
        """
        check_size(data)
        header = parse_header(data)
        same_as = data.get("same_as")
        if same_as is None:
            return cls(header=header, data=data, schema=schema, fingerprint=fingerprint(data, schema))
        if not isinstance(same_as, str) or not FINGERPRINT.fullmatch(same_as):
            raise ReportError([Problem("same_as", "must be the fingerprint (64 hex digits) of an applied report")])
        if not header.complete:
            raise ReportError([Problem("same_as", "only a complete report can say it is the same as the last")])
        return cls(header=header, data=data, schema=schema, fingerprint=same_as, same_as=True)

    def report(self) -> Report:
        """The whole report, checked against the contract and the schema (ReportError)."""
        if self.same_as:
            raise ChangedSince(
                "the source's last applied report is not the one this report says it is the same as; "
                "send the full report",
                field="same_as",
            )
        if self._parsed is None:
            self._parsed = parse_report(self.data, self.schema)
        return self._parsed

    def volatile_values(self) -> dict[str, dict[str, Any]]:
        """ref -> checked volatile values; ReportError sends the caller to the full check."""
        return volatile_values(self.data, self.schema)


__all__ = [
    "ChangedSince",
    "IncomingReport",
    "NotJson",
    "ReportError",
    "ReportTooLarge",
    "check_size",
    "decode_json",
    "fingerprint",
]
