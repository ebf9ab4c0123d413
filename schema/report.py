"""The report contract: the one format every source uses to tell the CMDB what it saw.

A report is JSON::

    {
      "version": 1,
      "report_id": "5f0c...",            # unique per report: a replay is applied once
      "source": {"kind": "agent", "name": "web1"},
      "collected_at": "2026-11-27T03:00:00+00:00",
      "records": [
        {"ref": "host", "class": "LinuxHost",
         "identity": {"machine_id": "0c1f..."},
         "attributes": {"hostname": "web1", "cpu_cores": 4}},
        {"ref": "if:eth0", "class": "Interface", "parent": "host",
         "identity": {"name": "eth0"}, "attributes": {"mtu": 1500}}
      ],
      "relations": [
        {"type": "DEPENDS_ON", "from": "proc:psql", "to": "ip:10.0.0.5", "properties": {"port": 5432}}
      ]
    }

``complete`` (optional, true by default) says the report is the source's whole view, so
relations it reported before and not now are ended; a partial report (a manual edit, an
import of a few CIs) ends nothing.

A **short report** (``"same_as": "<fingerprint>"``, complete only) says "the same as my
last report, which the server answered with this fingerprint"; its ``records`` carry only
volatile values (``ref``, ``class``, ``attributes``). The server checks it against the
source's state (cmdb_server/intake.py); this module checks its header and values.

``identity`` holds the keys of at least one identity rule of the class (for a dependent
class, keys within its ``parent``, a ``ref`` of another record), none of them blank. ``attributes`` holds the
rest; a null clears an attribute. The parent edge of a dependent record is implied.
This module checks a report completely (pure, stdlib only, so the agent can use it too)
and returns it typed, or raises ``ReportError`` listing every problem with its path.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NotRequired, TypedDict

from schema.enums import SourceKind
from schema.model import CIClass, RelationshipType, Schema
from schema.values import LIMITS, AttributeValueError, check_attributes, check_value, quoted

REPORT_VERSION = 1
MAX_RECORDS = LIMITS.max_records  # schema/limits.toml says why
MAX_RELATIONS = LIMITS.max_relations
MAX_ERRORS = 20

SPOOL_DEPTH_HEADER = "X-CMDB-Spool-Depth"
"""HTTP header an agent or collector sends with a report: how many reports its spool holds,
the one sent included (the server's ``cmdb_agent_spool_depth``). Beside the report, not in
it: a report's content and fingerprint stay what they were, and a server that does not
know the header ignores it."""


class SourceDict(TypedDict):
    kind: str
    name: str


# Functional syntax: "class", "from" and "to" are Python keywords.
RecordDict = TypedDict(
    "RecordDict",
    {
        "ref": str,
        "class": str,
        "identity": dict[str, Any],
        "attributes": NotRequired[dict[str, Any]],
        "parent": NotRequired[str],
    },
)
RelationDict = TypedDict(
    "RelationDict",
    {"type": str, "from": str, "to": str, "properties": NotRequired[dict[str, Any]]},
)


class ReportDict(TypedDict):
    version: int
    report_id: str
    source: SourceDict
    collected_at: str
    records: list[RecordDict]
    relations: list[RelationDict]


@dataclass(frozen=True)
class Problem:
    path: str  # e.g. records[3].attributes.cpu_cores
    message: str


class ReportError(ValueError):
    """The report breaks the contract; ``problems`` says where and why (at most MAX_ERRORS)."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("; ".join(f"{p.path}: {p.message}" for p in problems))


@dataclass(frozen=True)
class Record:
    index: int
    ref: str
    ci_class: CIClass
    identity: dict[str, Any]  # checked values
    attributes: dict[str, Any]  # checked values, identity keys included
    parent_ref: str | None


@dataclass(frozen=True)
class Relation:
    index: int
    type: str
    from_ref: str
    to_ref: str
    properties: dict[str, Any]


@dataclass(frozen=True)
class ReportHeader:
    """Who sent a report, when, and under which id: checkable without reading its records."""

    report_id: str
    source_kind: SourceKind
    source_name: str
    collected_at: datetime
    complete: bool = True

    @property
    def source_key(self) -> str:
        """``kind:name``: what edges and provenance remember a source by."""
        return f"{self.source_kind.value}:{self.source_name}"


@dataclass(frozen=True)
class Report(ReportHeader):
    records: list[Record] = field(default_factory=list)
    relations: list[Relation] = field(default_factory=list)


class _Problems:
    def __init__(self) -> None:
        self.items: list[Problem] = []

    def add(self, path: str, message: str) -> None:
        if len(self.items) < MAX_ERRORS:
            self.items.append(Problem(path, message))

    def __bool__(self) -> bool:
        return bool(self.items)


def _record_path(index: int, raw: Any) -> str:
    ref = raw.get("ref") if isinstance(raw, dict) else None
    return f"records[{index}]" + (f" (ref {quoted(ref)})" if isinstance(ref, str) else "")


def _short_string(value: Any, limit: int = 200) -> bool:
    return isinstance(value, str) and 0 < len(value) <= limit


def _check_header(data: Mapping[str, Any], problems: _Problems) -> tuple[SourceKind | None, datetime | None]:
    if data.get("version") != REPORT_VERSION:
        problems.add("version", f"must be {REPORT_VERSION}, got {quoted(data.get('version'))}")
    if not _short_string(data.get("report_id"), 100):
        problems.add("report_id", "must be a non-empty string of at most 100 characters")
    source = data.get("source")
    kind = None
    if not isinstance(source, dict):
        problems.add("source", "must be an object with 'kind' and 'name'")
    else:
        try:
            kind = SourceKind(str(source.get("kind")))
        except ValueError:
            allowed = ", ".join(k.value for k in SourceKind)
            problems.add("source.kind", f"{quoted(source.get('kind'))} is not one of {allowed}")
        if not _short_string(source.get("name")):
            problems.add("source.name", "must be a non-empty string of at most 200 characters")
    collected_at = None
    raw_time = data.get("collected_at")
    with contextlib.suppress(ValueError):
        collected_at = datetime.fromisoformat(raw_time) if isinstance(raw_time, str) else None
    if collected_at is None or collected_at.tzinfo is None:
        problems.add("collected_at", "must be an ISO 8601 date-time with a time zone")
        collected_at = None
    if not isinstance(data.get("complete", True), bool):
        problems.add("complete", "must be true or false")
    return kind, collected_at


def parse_header(data: Any) -> ReportHeader:
    """Check only the header of a report (id, source, time, complete); raise ReportError."""
    if not isinstance(data, dict):
        raise ReportError([Problem("(report)", "must be a JSON object")])
    problems = _Problems()
    kind, collected_at = _check_header(data, problems)
    if problems:
        raise ReportError(problems.items)
    assert kind is not None
    assert collected_at is not None
    return ReportHeader(data["report_id"], kind, data["source"]["name"], collected_at, data.get("complete", True))


def stable_content(data: Mapping[str, Any], schema: Schema) -> dict[str, Any]:
    """What a report says about the estate, without its id, its time and volatile values.

    Equal content, equal result: the server fingerprints it (cmdb_server/intake.py) and the
    agent digests it (agent/unchanged.py) to know when only volatile values changed.
    Raises KeyError or TypeError for data not shaped like a report.
    """
    records = []
    for raw in data["records"]:
        volatile = schema.classes[raw["class"]].volatile_attributes
        if volatile and volatile.intersection(raw.get("attributes", ())):
            raw = {**raw, "attributes": {k: v for k, v in raw["attributes"].items() if k not in volatile}}
        records.append(raw)
    return {
        "source": data["source"],
        "complete": data.get("complete", True),
        "records": records,
        "relations": data.get("relations", []),
    }


def volatile_values(data: Mapping[str, Any], schema: Schema) -> dict[str, dict[str, Any]]:
    """ref -> the volatile attribute values of each record that has some, checked.

    Volatile values (used space) are left out of a report's fingerprint, so a report
    equal to the last one in all else still carries them: they are all of it that is
    read. Raises ReportError for a value that does not fit its attribute, or for records
    that are not even shaped like records (the caller then checks the whole report).
    """
    values: dict[str, dict[str, Any]] = {}
    problems = _Problems()
    for index, raw in enumerate(data.get("records") or ()):
        ci_class = schema.classes.get(str(raw.get("class"))) if isinstance(raw, dict) else None
        if ci_class is None or not isinstance(raw.get("attributes", {}), dict):
            raise ReportError([Problem(_record_path(index, raw), "not a record of a known class")])
        found = {}
        for name, value in raw.get("attributes", {}).items():
            if name not in ci_class.volatile_attributes:
                continue
            attr = ci_class.attributes[name]
            try:
                found[name] = None if value is None else check_value(attr, value)
            except AttributeValueError as exc:
                problems.add(f"{_record_path(index, raw)}.attributes.{name}", exc.message)
        if found:
            values[str(raw.get("ref"))] = found
    if problems:
        raise ReportError(problems.items)
    return values


def _check_record(index: int, raw: Any, schema: Schema, problems: _Problems) -> Record | None:
    if not isinstance(raw, dict):
        problems.add(_record_path(index, raw), "must be an object")
        return None
    ref = raw.get("ref")
    if not isinstance(ref, str) or not _short_string(ref):
        problems.add(f"{_record_path(index, raw)}.ref", "must be a non-empty string of at most 200 characters")
        return None
    path = f"records[{index}] (ref {quoted(ref)})"
    class_name = raw.get("class")
    ci_class = schema.classes.get(class_name) if isinstance(class_name, str) else None
    if ci_class is None or ci_class.abstract:
        concrete = ", ".join(sorted(c.name for c in schema.concrete_classes()))
        problems.add(f"{path}.class", f"{quoted(class_name)} is not a CI class; use one of {concrete}")
        return None
    identity_raw = raw.get("identity")
    attributes_raw = raw.get("attributes", {})
    if not isinstance(identity_raw, dict) or not identity_raw:
        problems.add(f"{path}.identity", "must be a non-empty object of identity keys")
        return None
    if not isinstance(attributes_raw, dict):
        problems.add(f"{path}.attributes", "must be an object")
        return None
    ok = True
    checked: dict[str, dict[str, Any]] = {}
    for part, values in (("identity", identity_raw), ("attributes", attributes_raw)):
        try:
            checked[part] = check_attributes(ci_class, values)
        except AttributeValueError as exc:
            problems.add(f"{path}.{part}.{exc.field}", exc.message)
            ok = False
    if not ok:
        return None
    identity = {k: v for k, v in checked["identity"].items() if v is not None}
    if not any(all(key in identity for key in rule.keys) for rule in ci_class.record_rules):
        rules = " or ".join("[" + ", ".join(rule.keys) + "]" for rule in ci_class.record_rules)
        problems.add(f"{path}.identity", f"missing identity keys: a {ci_class.name} needs {rules}")
        return None
    for key, value in identity.items():
        if key in checked["attributes"] and checked["attributes"][key] != value:
            problems.add(f"{path}.attributes.{key}", "differs from the same key in identity")
            return None
    parent = raw.get("parent")
    if ci_class.parent_ci is not None and not _short_string(parent):
        parents = " or ".join(ci_class.parent_ci.classes)
        problems.add(f"{path}.parent", f"a {ci_class.name} needs the ref of its parent ({parents})")
        return None
    if ci_class.parent_ci is None and parent is not None:
        problems.add(f"{path}.parent", f"a {ci_class.name} is not a dependent CI and takes no parent")
        return None
    return Record(
        index=index,
        ref=ref,
        ci_class=ci_class,
        identity=identity,
        attributes={**checked["attributes"], **identity},
        parent_ref=parent,
    )


def _check_parents(records: dict[str, Record], problems: _Problems, refused: set[str]) -> None:
    for record in records.values():
        if record.parent_ref is None or record.parent_ref in refused:
            continue
        path = f"records[{record.index}] (ref {quoted(record.ref)}).parent"
        parent = records.get(record.parent_ref)
        assert record.ci_class.parent_ci is not None
        allowed = record.ci_class.parent_ci.classes
        if parent is None:
            problems.add(path, f"no record has ref {quoted(record.parent_ref)}")
        elif not any(parent.ci_class.is_a(name) for name in allowed):
            problems.add(path, f"a {parent.ci_class.name} cannot be the parent of a {record.ci_class.name}")


def _takes(rel_type: RelationshipType, end: str, ci_class: CIClass) -> bool:
    """Whether a relationship type takes a CI of this class at one end ("from" or "to")."""
    allowed = rel_type.from_classes if end == "from" else rel_type.to_classes
    return _is_any(allowed, ci_class.name, ci_class.ancestors)


@functools.cache
def _is_any(allowed: tuple[str, ...], name: str, ancestors: tuple[str, ...]) -> bool:
    """Cached by value: a report asks it once per relation, for a handful of class pairs."""
    return any(a == name or a in ancestors for a in allowed)


def _check_relation(
    index: int, raw: Any, schema: Schema, records: dict[str, Record], problems: _Problems
) -> Relation | None:
    path = f"relations[{index}]"
    if not isinstance(raw, dict):
        problems.add(path, "must be an object")
        return None
    type_name = raw.get("type")
    rel_type = schema.relationships.get(type_name) if isinstance(type_name, str) else None
    if rel_type is None:
        problems.add(
            f"{path}.type", f"{quoted(raw.get('type'))} is not one of {', '.join(sorted(schema.relationships))}"
        )
        return None
    ends: dict[str, Record] = {}
    for end in ("from", "to"):
        ref = raw.get(end)
        record = records.get(ref) if isinstance(ref, str) else None
        if record is None:
            problems.add(f"{path}.{end}", f"no record has ref {quoted(ref)}")
            return None
        if not _takes(rel_type, end, record.ci_class):
            problems.add(f"{path}.{end}", f"{rel_type.name} does not take a {record.ci_class.name} at this end")
            return None
        ends[end] = record
    properties = raw.get("properties", {})
    if not isinstance(properties, dict):
        problems.add(f"{path}.properties", "must be an object")
        return None
    checked: dict[str, Any] = {}
    for name, value in properties.items():
        declared = rel_type.properties.get(name)
        if declared is None:
            problems.add(f"{path}.properties.{name}", f"not a property of {rel_type.name}")
            return None
        try:
            checked[name] = None if value is None else check_value(declared, value)
        except AttributeValueError as exc:
            problems.add(f"{path}.properties.{name}", exc.message)
            return None
    return Relation(index, rel_type.name, ends["from"].ref, ends["to"].ref, checked)


def parse_report(data: Any, schema: Schema) -> Report:
    """Check ``data`` (parsed JSON) against the contract and the schema; raise ReportError."""
    problems = _Problems()
    if not isinstance(data, dict):
        raise ReportError([Problem("(report)", "must be a JSON object")])
    kind, collected_at = _check_header(data, problems)
    raw_records = data.get("records")
    raw_relations = data.get("relations", [])
    if not isinstance(raw_records, list) or not raw_records:
        problems.add("records", "must be a non-empty list")
        raw_records = []
    elif len(raw_records) > MAX_RECORDS:
        problems.add("records", f"at most {MAX_RECORDS} records per report")
        raw_records = []
    if not isinstance(raw_relations, list):
        problems.add("relations", "must be a list")
        raw_relations = []
    elif len(raw_relations) > MAX_RELATIONS:
        problems.add("relations", f"at most {MAX_RELATIONS} relations per report")
        raw_relations = []

    records: dict[str, Record] = {}
    refused: set[str] = set()  # refs of records refused above: their children are no news
    for index, raw in enumerate(raw_records):
        record = _check_record(index, raw, schema, problems)
        if record is None:
            if isinstance(raw, dict) and isinstance(raw.get("ref"), str):
                refused.add(raw["ref"])
            continue
        if record.ref in records:
            problems.add(
                f"records[{index}].ref",
                f"{quoted(record.ref)} is already the ref of records[{records[record.ref].index}]",
            )
            continue
        records[record.ref] = record
    _check_parents(records, problems, refused)
    relations = []
    if not problems:
        for index, raw in enumerate(raw_relations):
            relation = _check_relation(index, raw, schema, records, problems)
            if relation is not None:
                relations.append(relation)
    complete = data.get("complete", True)
    if problems:
        raise ReportError(problems.items)
    assert kind is not None
    assert collected_at is not None
    return Report(
        report_id=data["report_id"],
        source_kind=kind,
        source_name=data["source"]["name"],
        collected_at=collected_at,
        records=list(records.values()),
        relations=relations,
        complete=bool(complete),
    )


def check_record(index: int, raw: Any, schema: Schema) -> tuple[Record | None, list[Problem]]:
    """One record checked on its own (a bulk import answers row by row); parents are not checked."""
    problems = _Problems()
    return _check_record(index, raw, schema, problems), problems.items


def check_relation(
    index: int, raw: Any, schema: Schema, records: dict[str, Record]
) -> tuple[Relation | None, list[Problem]]:
    """One relation checked on its own, its ends among ``records``."""
    problems = _Problems()
    return _check_relation(index, raw, schema, records, problems), problems.items
