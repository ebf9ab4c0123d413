"""Neo4j constraints and indexes derived from the vocabulary.

The database enforces what the code assumes: one node per ``uid``, one CI per set of
unique identity keys (scoped to the parent for dependent CIs), and indexes on the keys
that identification and the API look up. The server turns these specs into DDL
(``cmdb_server/repositories/schema_setup.py``) and applies them at start-up.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from schema.enums import AttributeType
from schema.itsm import RECORD_LABELS
from schema.model import PARENT_UID, ROOT_CLASS, CIClass, Schema

API_TOKEN_LABEL = "ApiToken"  # noqa: S105 (a label, not a secret)
"""Label of the nodes holding API tokens (hashed); not a CI."""


class IndexKind(StrEnum):
    UNIQUE = "unique"  # a uniqueness constraint (backed by a range index)
    RANGE = "range"  # a range index: equality and range look-ups
    TEXT = "text"  # a text index: CONTAINS / ENDS WITH on strings
    FULLTEXT = "fulltext"  # a Lucene full-text index over several properties (search by words)


REPORT_LABEL = "IngestedReport"
"""Label of the nodes recording each report applied, by its source and id (a replay is applied once)."""

RETIRED_SPECS = ("ingestedreport_report_id_unique", "ci_name_description_fulltext")
"""Constraints and indexes earlier versions made that this one drops at start-up (report ids
are unique per source now, not across sources; CI search covers identifying values now, under
another index name)."""

ALIAS_LABEL = "CIAlias"
"""Label of the nodes that keep a merged CI's uid resolving to the CI it was merged into."""

CLAIM_LABEL = "IdentityClaim"
"""Label of the lock nodes a report takes on the identifiers it creates a CI by, so that two
sources reporting one new machine at once wait for each other instead of making two CIs."""

LEASE_LABEL = "JobLease"
"""Label of the leases on background jobs (stale check, webhook dispatch), one per job, so that
several server processes on one graph run each job once (cmdb_server/repositories/leases.py)."""

ACCURACY_LABEL = "AccuracyPoint"
"""Label of the record-accuracy series' daily points, one per day (cmdb_server/accuracy_series.py)."""

EVENT_LABEL = "Event"
"""Label of history events: one per attribute change, relation started or ended, status change."""


@dataclass(frozen=True)
class IndexSpec:
    name: str
    kind: IndexKind
    label: str  # a node label, or a relationship type when on_relationship
    properties: tuple[str, ...]
    on_relationship: bool = False


def _spec(kind: IndexKind, label: str, properties: tuple[str, ...], on_relationship: bool = False) -> IndexSpec:
    prefix = "rel_" if on_relationship else ""
    name = prefix + "_".join((label.lower(), *properties, kind.value))
    return IndexSpec(name=name, kind=kind, label=label, properties=properties, on_relationship=on_relationship)


FULLTEXT_INDEX = "ci_search_fulltext"
"""The full-text index ``GET /api/v1/cis?q=`` and the search page query."""


def fulltext_spec(schema: Schema) -> IndexSpec:
    """Full-text search on what an engineer has in hand: every CI's name and description and
    every identifying value of any class (host name, FQDN, serial, machine-id, MAC, address,
    chassis id, package name...): the string attributes that are identity keys. A new
    identity key in ``ci_classes.toml`` is searchable at the next start (the index is replaced)."""
    declared = schema.all_attributes()
    keys = {
        key
        for ci_class in schema.classes.values()
        for rule in ci_class.identity
        for key in (*rule.keys, *rule.interface_keys)
        if key in declared and declared[key].type is AttributeType.STRING
    }
    properties = ("name", "description", *sorted(keys - {"name", "description"}))
    return IndexSpec(name=FULLTEXT_INDEX, kind=IndexKind.FULLTEXT, label=ROOT_CLASS, properties=properties)


def _declares_own_identity(ci_class: CIClass, schema: Schema) -> bool:
    if ci_class.parent is None:
        return bool(ci_class.identity)
    return ci_class.identity != schema.classes[ci_class.parent].identity


def derive_index_specs(schema: Schema) -> list[IndexSpec]:
    """Every constraint and index the graph needs for this schema, in a stable order."""
    specs = [
        _spec(IndexKind.UNIQUE, ROOT_CLASS, ("uid",)),
        _spec(IndexKind.RANGE, ROOT_CLASS, ("status",)),
        _spec(IndexKind.RANGE, ROOT_CLASS, ("last_seen",)),
        _spec(IndexKind.TEXT, ROOT_CLASS, ("name",)),
        fulltext_spec(schema),
        _spec(IndexKind.UNIQUE, API_TOKEN_LABEL, ("token_id",)),
        _spec(IndexKind.UNIQUE, API_TOKEN_LABEL, ("token_hash",)),
        _spec(IndexKind.UNIQUE, REPORT_LABEL, ("source", "report_id")),
        _spec(IndexKind.RANGE, API_TOKEN_LABEL, ("bound_ci_uid",)),
        _spec(IndexKind.RANGE, API_TOKEN_LABEL, ("bound_source",)),
        _spec(IndexKind.RANGE, API_TOKEN_LABEL, ("bound_inventory_source",)),
        _spec(IndexKind.RANGE, EVENT_LABEL, ("ci_uid", "at")),
        _spec(IndexKind.RANGE, EVENT_LABEL, ("at",)),
        _spec(IndexKind.UNIQUE, "Counter", ("name",)),
        _spec(IndexKind.UNIQUE, "SourceState", ("source",)),
        _spec(IndexKind.UNIQUE, ALIAS_LABEL, ("uid",)),
        _spec(IndexKind.RANGE, ALIAS_LABEL, ("into",)),
        _spec(IndexKind.UNIQUE, CLAIM_LABEL, ("key",)),
        _spec(IndexKind.UNIQUE, LEASE_LABEL, ("name",)),
        _spec(IndexKind.UNIQUE, ACCURACY_LABEL, ("day",)),
        _spec(IndexKind.UNIQUE, "WebhookSubscription", ("id",)),
        _spec(IndexKind.UNIQUE, "WebhookDelivery", ("id",)),
        _spec(IndexKind.RANGE, "WebhookDelivery", ("state", "next_at")),
        _spec(IndexKind.RANGE, "WebhookDelivery", ("subscription_id", "created_at")),
        *(_spec(IndexKind.UNIQUE, label, ("id",)) for label in RECORD_LABELS),
    ]
    interface_keys: set[str] = set()
    for ci_class in schema.classes.values():
        if not _declares_own_identity(ci_class, schema):
            continue
        scope: tuple[str, ...] = (PARENT_UID,) if ci_class.dependent else ()
        for rule in ci_class.identity:
            interface_keys.update(rule.interface_keys)
            if rule.keys:
                kind = IndexKind.UNIQUE if rule.unique else IndexKind.RANGE
                specs.append(_spec(kind, ci_class.name, (*scope, *rule.keys)))
    # Identification by a shared MAC looks interfaces up by it.
    specs += [_spec(IndexKind.RANGE, "Interface", (key,)) for key in sorted(interface_keys)]
    return specs
