"""Bulk import files as reports: rows of CIs and relationships checked one by one (pure).

An import is a report of its own source (kind ``import``, the lowest precedence) that
is not complete: it creates and updates, and never ends what it does not mention. Each
row is checked on its own, so a bad row is rejected with its reasons and the others go
in; the rows that pass become one report and take the ingest path (identification,
reconciliation, history) like any other.

Files:
- JSON: ``{"cis": [{"ref", "class", "attributes": {...}, "parent"}], "relationships":
  [{"type", "from", "to", "properties"}]}``; ``parent``, ``from`` and ``to`` name a ``ref``
  of the same file, or an existing CI as ``uid:<uid>``.
- CSV of CIs: a ``class`` column, optional ``ref`` and ``parent`` columns, one column per
  attribute (an empty cell: no value). CSV of relationships: ``type``, ``from``, ``to``
  columns (refs or ``uid:<uid>``), one column per relationship property.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from typing import Any

from schema import Schema
from schema.report import Record, Relation, check_record, check_relation
from schema.values import AttributeValueError, quoted, value_from_text

UID_PREFIX = "uid:"
CSV_CI_COLUMNS = ("class", "ref", "parent")
CSV_RELATION_COLUMNS = ("type", "from", "to")
IGNORED_COLUMNS = ("uid", "status", "first_seen", "last_seen", "labels", "tags")  # an export's own columns


class ImportFileError(ValueError):
    """The file as a whole cannot be read (not a row's problem)."""


@dataclass
class RowResult:
    row: int  # 1-based: the line of a CSV file without its header, the position in a JSON list
    kind: str  # "ci" or "relationship"
    ref: str | None
    outcome: str = "pending"  # created / updated / unchanged / accepted (relationships) / rejected
    uid: str | None = None
    errors: list[str] = field(default_factory=list)

    def reject(self, message: str) -> None:
        self.outcome = "rejected"
        self.errors.append(message)


@dataclass
class ImportPlan:
    """The checked rows: the records and relations of the report, and every row's result."""

    records: list[Record]
    relations: list[Relation]
    raw_records: list[dict[str, Any]]  # as a report's JSON (volatile values are read from it)
    rows: list[RowResult]
    existing: dict[str, str]  # ref of a synthesised record -> the uid it stands for


def rows_from_csv(text: str) -> tuple[str, list[dict[str, str]]]:
    """("cis" or "relationships", rows as column -> cell) of a CSV file."""
    reader = csv.DictReader(io.StringIO(text))
    columns = reader.fieldnames or []
    if not columns:
        raise ImportFileError("the CSV file has no header line")
    if len(set(columns)) != len(columns):
        raise ImportFileError("the CSV header names a column twice")
    if all(c in columns for c in CSV_RELATION_COLUMNS):
        kind = "relationships"
    elif "class" in columns:
        kind = "cis"
    else:
        raise ImportFileError("a CSV of CIs needs a 'class' column; one of relationships 'type', 'from' and 'to'")
    rows = []
    for line in reader:
        if None in line:
            raise ImportFileError(f"line {reader.line_num} has more cells than the header")
        rows.append({k: v for k, v in line.items() if v not in (None, "")})
    return kind, rows


def ci_rows_from_csv(rows: list[dict[str, str]], schema: Schema) -> list[dict[str, Any]]:
    """CSV rows of CIs as JSON rows ({ref, class, parent, attributes}); a cell that does not
    convert is left as text, for the row's check to name it."""
    converted = []
    for row in rows:
        ci_class = schema.classes.get(row.get("class", ""))
        attributes: dict[str, Any] = {}
        for column, text in row.items():
            if column in CSV_CI_COLUMNS or column in IGNORED_COLUMNS:
                continue
            attr = ci_class.attributes.get(column) if ci_class else None
            try:
                attributes[column] = value_from_text(attr, text) if attr else text
            except AttributeValueError:
                attributes[column] = text
        item: dict[str, Any] = {"class": row.get("class"), "attributes": attributes}
        if "ref" in row:
            item["ref"] = row["ref"]
        if "parent" in row:
            item["parent"] = row["parent"]
        converted.append(item)
    return converted


def relation_rows_from_csv(rows: list[dict[str, str]]) -> list[dict[str, Any]]:
    return [
        {
            "type": row.get("type"),
            "from": row.get("from"),
            "to": row.get("to"),
            "properties": {k: v for k, v in row.items() if k not in CSV_RELATION_COLUMNS},
        }
        for row in rows
    ]


def uid_references(ci_rows: list[Any], relation_rows: list[Any]) -> set[str]:
    """Every ``uid:<uid>`` an import names as a parent or a relationship end."""
    named = [row.get("parent") for row in ci_rows if isinstance(row, dict)]
    named += [row.get(end) for row in relation_rows if isinstance(row, dict) for end in ("from", "to")]
    return {n.removeprefix(UID_PREFIX) for n in named if isinstance(n, str) and n.startswith(UID_PREFIX)}


def plan_import(
    ci_rows: list[Any],
    relation_rows: list[Any],
    schema: Schema,
    existing: dict[str, tuple[str, dict[str, Any]]],
) -> ImportPlan:
    """Check every row; ``existing`` holds the CIs named by uid (uid -> (class, properties)),
    which become records of their identity keys so that relations can reach them."""
    results: list[RowResult] = []
    raw_records: list[dict[str, Any]] = []
    records: dict[str, Record] = {}
    standing_in: dict[str, str] = {}
    for uid, (class_name, props) in sorted(existing.items()):
        ci_class = schema.classes.get(class_name)
        if ci_class is None or ci_class.dependent:
            continue  # a dependent CI cannot be named by uid alone: rows naming it are rejected below
        keys = {k: props[k] for rule in ci_class.identity for k in rule.keys if props.get(k) is not None}
        raw = {"ref": UID_PREFIX + uid, "class": class_name, "identity": keys, "attributes": {}}
        record, problems = check_record(len(raw_records), raw, schema)
        if record is not None and not problems:
            records[record.ref] = record
            raw_records.append(raw)
            standing_in[record.ref] = uid
    for index, row in enumerate(ci_rows):
        result = RowResult(row=index + 1, kind="ci", ref=None)
        results.append(result)
        if not isinstance(row, dict):
            result.reject("a CI row must be an object")
            continue
        result.ref = str(row.get("ref") or f"row{index + 1}")
        raw = _record_of(row, result.ref, schema)
        if result.ref in records:
            result.reject(f"ref {quoted(result.ref)} is used by another row")
            continue
        parent = row.get("parent")
        if parent is not None and parent not in records:
            result.reject(f"parent: no accepted row or existing non-dependent CI is {quoted(parent)}")
            continue
        ci_class = schema.classes.get(raw["class"]) if isinstance(raw["class"], str) else None
        if ci_class is not None and not ci_class.abstract and not raw["identity"]:
            rules = " or ".join("[" + ", ".join(rule.keys) + "]" for rule in ci_class.record_rules)
            result.reject(f"identity: missing identity keys: a {ci_class.name} needs {rules}")
            continue
        record, problems = check_record(len(raw_records), raw, schema)
        if record is None:
            for problem in problems:
                result.reject(f"{_field_of(problem.path)}: {problem.message}")
            continue
        records[record.ref] = record
        raw_records.append(raw)
    relations: list[Relation] = []
    for index, row in enumerate(relation_rows):
        result = RowResult(row=index + 1, kind="relationship", ref=None)
        results.append(result)
        relation, problems = check_relation(len(relations), row, schema, records)
        if relation is None:
            for problem in problems:
                result.reject(f"{_field_of(problem.path)}: {problem.message}")
            continue
        result.outcome = "accepted"
        relations.append(relation)
    return ImportPlan(
        records=list(records.values()),
        relations=relations,
        raw_records=raw_records,
        rows=results,
        existing=standing_in,
    )


def _record_of(row: dict[str, Any], ref: str, schema: Schema) -> dict[str, Any]:
    """A report record of an import row: its identity keys taken out of its attributes."""
    attributes = row.get("attributes")
    class_name = row.get("class")
    ci_class = schema.classes.get(class_name) if isinstance(class_name, str) else None
    raw: dict[str, Any] = {"ref": ref, "class": class_name}
    if not isinstance(attributes, dict) or ci_class is None:
        raw |= {"identity": {}, "attributes": attributes if isinstance(attributes, dict) else None}
    else:
        keys = {k for rule in ci_class.identity for k in rule.keys}
        raw["identity"] = {k: v for k, v in attributes.items() if k in keys and v is not None}
        raw["attributes"] = {k: v for k, v in attributes.items() if k not in keys}
    if row.get("parent") is not None:
        raw["parent"] = row["parent"]
    return raw


def _field_of(path: str) -> str:
    """A problem's path in a report (``records[3] (ref 'x').attributes.port``) as a row's field."""
    _, _, rest = path.partition(").")
    if not rest:
        _, _, rest = path.partition("].")
    return rest or path
