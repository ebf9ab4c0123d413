"""Applying a report: identify each record, reconcile its attributes, write it all at once.

One report is one write transaction: it is applied whole or not at all. Records are
taken level by level (hosts before their interfaces) because a dependent CI is
identified through its parent's uid. Within a level, each identity rule is one batched
look-up, and each kind of write one ``UNWIND`` statement.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import random
import uuid
from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any, cast

import orjson
from neo4j import AsyncDriver, AsyncManagedTransaction
from neo4j.exceptions import ConstraintError, TransientError

from cmdb_server import authority, identification, provenance
from cmdb_server.errors import ApiError, Forbidden, Unprocessable
from cmdb_server.intake import ChangedSince, IncomingReport, ReportTooLarge
from cmdb_server.reconcile import PROVENANCE_PREFIX, merge_attributes, native, seen_property, to_json
from cmdb_server.repositories import ingest as repo
from cmdb_server.repositories import merge as merges
from schema import CIClass, CIStatus, Role, Schema, SourceKind
from schema.report import MAX_RECORDS, MAX_RELATIONS, Record, Report, ReportError
from schema.values import quoted

log = logging.getLogger(__name__)

MERGE_ATTEMPTS = 3

EdgeKey = tuple[str, str, tuple[tuple[str, Any], ...]]
"""An edge as a source reports it: (from uid, to uid, its key properties as sorted pairs)."""

Identifiers = tuple[dict[str, Any], list[list[Any] | None], list[list[str]]]
"""A record's usable identifier values, each identity rule's own key values (or None), and
each rule's values on the record's interfaces."""

Found = tuple[dict[str, Any], list[str] | None, bool]
"""A record's CI: its stored properties, labels (None: a shared CI found unchanged, props
hold only its uid) and whether this report created it."""


YIELD_EVERY = 256

LEARNT_MACS = "learnt_macs"
"""The Interface attribute with the MACs a switch port learnt (schema/ci_classes.toml)."""
HOST_ON_PORT = "CONNECTED_TO"
"""The relation that places a host's interface on the switch port that learnt its MAC."""


def places_hosts(data: Any) -> bool:
    """Whether a report (raw, as received) places hosts on switch ports: a cheap look, before
    the report is checked (an unchanged report is not)."""
    records = data.get("records") if isinstance(data, dict) else None
    return isinstance(records, list) and any(
        isinstance(r, dict) and isinstance(r.get("attributes"), dict) and r["attributes"].get(LEARNT_MACS)
        for r in records
    )


async def _let_others_run(index: int) -> None:
    """A report of thousands of records is Python work between statements: every few hundred
    items, give the event loop to other requests (a health probe must not wait a second)."""
    if index % YIELD_EVERY == YIELD_EVERY - 1:
        await asyncio.sleep(0)


class OutOfOrderReport(ApiError):
    status = 409


@dataclass
class ClassCounts:
    created: int = 0
    updated: int = 0
    unchanged: int = 0


@dataclass
class RelationCounts:
    """What the report did to relations: ``started`` and ``ended`` are relations new to the
    graph or gone from it; ``joined`` and ``left`` are relations other sources vouch for,
    which this source now reports too, or no longer reports."""

    started: int = 0
    unchanged: int = 0
    ended: int = 0
    joined: int = 0
    left: int = 0


@dataclass
class IngestSummary:
    report_id: str
    source: str
    replayed: bool = False
    classes: dict[str, ClassCounts] = field(default_factory=lambda: defaultdict(ClassCounts))
    relations: dict[str, RelationCounts] = field(default_factory=lambda: defaultdict(RelationCounts))
    events: int = 0
    cis: dict[str, str] = field(default_factory=dict)  # ref -> uid
    fingerprint: str | None = None  # what a short report names in same_as to say "nothing else changed"
    outcomes: dict[str, str] = field(default_factory=dict)  # ref -> created / updated / unchanged (not stored)
    # ref -> how a host or device record was identified: rule, values, merges, suspected clones
    identification: dict[str, dict[str, Any]] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "report_id": self.report_id,
            "source": self.source,
            "replayed": self.replayed,
            "classes": {k: vars(v) for k, v in sorted(self.classes.items())},
            "relations": {k: vars(v) for k, v in sorted(self.relations.items())},
            "events": self.events,
            "cis": self.cis,
            "fingerprint": self.fingerprint,
            "identification": self.identification,
        }


@dataclass(frozen=True)
class Caller:
    """Who sends the report: the token's id and role (agent tokens get bound to a host and a
    source), and the sources a collector token was issued for (cmdb_server/authority.py)."""

    token_id: str
    role: Role
    sources: tuple[str, ...] | None = None


def identity_label(ci_class: CIClass, schema: Schema) -> str:
    """The outermost class sharing this class's identity rules: LinuxHost is looked up as Host."""
    label = ci_class
    while label.parent is not None and schema.classes[label.parent].identity == label.identity:
        label = schema.classes[label.parent]
    return label.name


def default_name(record: Record) -> str:
    """A name for a CI its source gave none: the values of its first complete identity rule."""
    for rule in record.ci_class.record_rules:
        if all(k in record.identity for k in rule.keys):
            return " ".join(
                str(record.identity[k]) for k in rule.keys if k != "domain" or record.identity[k] != "global"
            )
    return record.ref


def _levels(records: list[Record]) -> list[list[Record]]:
    by_ref = {r.ref: r for r in records}
    depth: dict[str, int] = {}

    def level(record: Record) -> int:
        if record.ref not in depth:
            depth[record.ref] = 0 if record.parent_ref is None else level(by_ref[record.parent_ref]) + 1
        return depth[record.ref]

    levels: dict[int, list[Record]] = defaultdict(list)
    for record in records:
        levels[level(record)].append(record)
    return [levels[i] for i in sorted(levels)]


class _Apply:
    """The work of one transaction; kept on an object so a retry starts from scratch."""

    def __init__(
        self,
        incoming: IncomingReport,
        schema: Schema,
        caller: Caller,
        stale_after: timedelta,
        now: datetime,
        volatile: dict[str, dict[str, Any]],
    ) -> None:
        self.incoming = incoming
        self.volatile = volatile
        self.header = incoming.header
        self.schema = schema
        self.caller = caller
        self.stale_after = stale_after
        self.now = now  # when the server applies it: events and the report's record
        # When the source saw it: what the report says dates first_seen, last_seen and the
        # edges (a report spooled through an outage is no later sighting), never in the future.
        self.seen = min(incoming.header.collected_at, now)
        self.summary = IngestSummary(
            report_id=self.header.report_id,
            source=self.header.source_key,
            fingerprint=incoming.fingerprint if self.header.complete else None,
        )
        self.uids: dict[str, str] = {}
        self.events: list[dict[str, Any]] = []
        self._children: dict[str, list[dict[str, Any]]] | None = None
        self.first_sightings: set[str] = set()  # CIs this kind of source had not reported before
        self.first_report = False  # no report of this source came before: all it says is news of the record
        self.clones: dict[str, list[str]] = {}  # ref -> CIs whose strong identifiers conflict with it
        self.placed: list[tuple[str, str]] = []  # (switch port uid, host interface uid): hosts on ports

    @property
    def report(self) -> Report:
        """The records and relations, checked on first use (an unchanged report never needs them)."""
        return self.incoming.report()

    def _event(
        self,
        ci_uid: str,
        kind: str,
        field: str | None = None,
        old: Any = None,
        new: Any = None,
        change: str | None = None,
    ) -> None:
        """A history event; ``change`` says when it is news of the record rather than a change of
        the thing (learned, takeover: see cmdb_server/itsm.py NOT_A_CHANGE)."""
        event = {
            "ci_uid": ci_uid,
            "kind": kind,
            "field": field,
            "old": to_json(old),
            "new": to_json(new),
            "source": self.header.source_key,
            "report_id": self.header.report_id,
        }
        if change is None and (self.first_report or ci_uid in self.first_sightings):
            change = "learned"  # this source, or this kind of source, reports the CI for the first time
        if change is not None:
            event["change"] = change
        self.events.append(event)

    async def __call__(self, tx: AsyncManagedTransaction) -> IngestSummary:
        # Reports of one source apply one after the other: the edge diff below relies on it.
        state, stored = await repo.lock_source_state(tx, self.header.source_key, self.header.report_id, self.now)
        self.first_report = bool(state.get("first"))
        if self.caller.role is Role.AGENT:
            await self._check_agent_source(tx)
        if stored is not None:
            replay = json.loads(stored)
            replay["replayed"] = True
            summary = IngestSummary(report_id=self.header.report_id, source=self.header.source_key, replayed=True)
            summary.classes.update({k: ClassCounts(**v) for k, v in replay["classes"].items()})
            summary.relations.update({k: RelationCounts(**v) for k, v in replay["relations"].items()})
            summary.identification = replay.get("identification", {})
            summary.events = replay["events"]
            summary.cis = replay["cis"] if "cis" in replay else json.loads(state.get("cis", "{}"))
            summary.fingerprint = replay.get("fingerprint")
            return summary
        if self.header.complete:
            last = native(state.get("collected_at"))
            # A state saved before it kept the time: ask the reports (unless an admin reset it).
            if last is None and not state["first"] and state.get("reset_at") is None:
                last = await repo.newer_report_of(tx, self.header.source_key, self.header.collected_at)
            if last is not None and last > self.header.collected_at:
                raise OutOfOrderReport(
                    f"report collected at {self.header.collected_at.isoformat()} is older than the last report "
                    f"applied from {self.header.source_key} ({last.isoformat()}); not applied",
                    field="collected_at",
                )
        unchanged = state.get("owned") is not None and state.get("fingerprint") == self.incoming.fingerprint
        # A switch report placing hosts on its ports is joined with the hosts known now (one
        # may have reported since), so the same report may make other links: applied in full.
        unchanged = unchanged and not places_hosts(self.incoming.data)
        if self.header.complete and unchanged:
            return await self._unchanged(tx, state)
        # An inventory agent's report describes its one host too, whoever's token carried it.
        if self.caller.role is Role.AGENT or self.header.source_kind is SourceKind.INVENTORY:
            authority.check_agent_scope(self.report)
        for level in _levels(self.report.records):
            current = await self._identify(tx, level)
            await self._check_agent_binding(tx, level, current)
            await self._write(tx, level, current)
        self.placed = await self._hosts_on_ports(tx)
        starts = await self._relations(tx, state)
        # ``at``: when the CMDB recorded them; ``observed_at``: when the source saw what they say.
        await repo.write_events(tx, self.events, self.now, self.seen)
        self.summary.events = len(self.events)
        self.summary.cis = dict(self.uids)
        if self.header.complete:
            classes = {name: c.created + c.updated + c.unchanged for name, c in self.summary.classes.items()}
            relations = {name: r.started + r.unchanged + r.joined for name, r in self.summary.relations.items()}
            records = self.report.records
            hosts = [self.uids[r.ref] for r in records if r.parent_ref is None and r.ci_class.is_a("Host")]
            owned = sorted({self.uids[r.ref] for r in records if not r.ci_class.shared})
            state = {"fingerprint": self.incoming.fingerprint, "cis": json.dumps(self.uids)}
            state |= {"classes": json.dumps(classes), "relations": json.dumps(relations)}
            state |= {"hosts": json.dumps(hosts), "owned": json.dumps(owned), "collected_at": self.header.collected_at}
            state |= {"starts": json.dumps(starts), "complete_at": self.seen}
            await repo.save_source_state(tx, self.header.source_key, state)
        return await self._record(tx)

    async def _record(self, tx: AsyncManagedTransaction) -> IngestSummary:
        await repo.record_report(
            tx,
            self.header.report_id,
            self.header.source_key,
            self.header.collected_at,
            self.now,
            json.dumps(self._stored_summary()),
        )
        return self.summary

    def _stored_summary(self) -> dict[str, Any]:
        """The summary kept for a replay. A complete report's CIs (a thousand uids) are in the
        source's state already: a replay answers with those, not a copy per report."""
        summary = self.summary.to_json()
        if self.header.complete:
            del summary["cis"]
        return summary

    async def _unchanged(self, tx: AsyncManagedTransaction, state: dict[str, Any]) -> IngestSummary:
        """The report says what the source's last one said: only last_seen (and volatile values) move.

        Nothing but the volatile values of the report is read: the CIs it names, the host
        an agent reports for and the counts are those the last full report left in the
        source's state (decoded with orjson: the CI map of a host is a thousand entries, and
        this is the path most reports take).
        """
        uids: dict[str, str] = orjson.loads(state["cis"])
        if self.caller.role is Role.AGENT:
            for host_uid in orjson.loads(state["hosts"]):
                await self._bind_host(tx, host_uid, host_uid, "records")
        unknown = sorted(set(self.volatile) - set(uids))
        if unknown:  # a short report with values for CIs the last full report did not name
            raise ChangedSince(f"records {', '.join(unknown[:5])} are not in the source's last report", field="records")
        for name, count in orjson.loads(state["classes"]).items():
            self.summary.classes[name].unchanged = count
        for name, count in orjson.loads(state.get("relations", "{}")).items():
            if count:
                self.summary.relations[name].unchanged = count
        # A short report named only its records with volatile values: its answer names those.
        self.summary.cis = {ref: uids[ref] for ref in self.volatile} if self.incoming.same_as else uids
        reactivated = await repo.apply_unchanged(
            tx,
            owned=orjson.loads(state["owned"]),
            seen={"last_seen": self.seen, seen_property(self.header.source_kind): self.seen},
            volatile=[{"uid": uids[ref], "props": values} for ref, values in self.volatile.items()],
            report={
                "report_id": self.header.report_id,
                "source": self.header.source_key,
                "collected_at": self.header.collected_at,
                "received_at": self.now,
                "summary": json.dumps(self._stored_summary()),
            },
        )
        self.summary.events = len(reactivated)
        return self.summary

    async def _identify(self, tx: AsyncManagedTransaction, level: list[Record]) -> dict[str, Found]:
        """ref -> (current properties, labels, created now) for every record of the level."""
        found: dict[str, Found] = {}
        by_class: dict[str, list[Record]] = defaultdict(list)
        for record in level:
            by_class[record.ci_class.name].append(record)
        reconciled = sorted(
            name for name, rs in by_class.items() if self.schema.classes[name].reconciled and not rs[0].parent_ref
        )
        identifiers = {r.ref: self._identifiers(r) for name in reconciled for r in by_class[name]}
        if reconciled:
            claims = [key for name in reconciled for r in by_class[name] for key in self._claims(r, identifiers[r.ref])]
            await repo.claim_identifiers(tx, claims, self.now)
        for class_name, records in sorted(by_class.items()):
            ci_class = self.schema.classes[class_name]
            label = identity_label(ci_class, self.schema)
            if class_name in reconciled:
                await self._identify_reconciled(tx, ci_class, label, records, identifiers, found)
                continue
            for rule in ci_class.record_rules:
                rows = [
                    self._lookup_row(r, rule.keys)
                    for r in records
                    if r.ref not in found and all(k in r.identity for k in rule.keys)
                ]
                if rows:
                    matches = await repo.identify(tx, label, rule.keys, ci_class.dependent, rows, rule.unique)
                    found.update({ref: (props, labels, False) for ref, (props, labels) in matches.items()})
            await self._create(tx, ci_class, label, [r for r in records if r.ref not in found], found)
        return found

    def _interfaces(self, record: Record) -> list[dict[str, Any]]:
        """The attributes of the record's interfaces in this report."""
        if self._children is None:
            self._children = defaultdict(list)
            for child in self.report.records:
                if child.parent_ref is not None and child.ci_class.is_a("Interface"):
                    self._children[child.parent_ref].append(child.attributes)
        return self._children.get(record.ref, [])

    def _identifiers(self, record: Record) -> Identifiers:
        """The record's usable identifier values, each rule's own key values, each rule's interface values."""
        ci_class = record.ci_class
        values = identification.record_values(ci_class, record.attributes)
        nics = [
            identification.interface_values(self._interfaces(record), rule.interface_keys[0])
            if rule.interface_keys
            else []
            for rule in ci_class.identity
        ]
        return values, identification.rule_values(ci_class, values), nics

    def _claims(self, record: Record, identifiers: Identifiers) -> list[str]:
        """Claim keys for the identifiers of a record (hashed: values may be long)."""
        label = identity_label(record.ci_class, self.schema)
        _, keys, nics = identifiers
        rules = record.ci_class.identity
        texts = [f"{label}|{rule.label}|{json.dumps(k)}" for rule, k in zip(rules, keys, strict=True) if k]
        texts += [f"{label}|mac|{mac}" for values in nics for mac in values]
        return [hashlib.sha256(t.encode()).hexdigest() for t in texts]

    async def _identify_reconciled(
        self,
        tx: AsyncManagedTransaction,
        ci_class: CIClass,
        label: str,
        records: list[Record],
        identifiers: dict[str, Identifiers],
        found: dict[str, Found],
    ) -> None:
        """Hosts and network devices: every rule at once, conflicts on strong identifiers
        kept apart, and CIs a strong identifier shows to be one thing merged (identification.py)."""
        rows = [{"ref": r.ref, "keys": identifiers[r.ref][1], "nics": identifiers[r.ref][2]} for r in records]
        candidates: dict[str, list[identification.Candidate]] = defaultdict(list)
        for row in await repo.identify_candidates(tx, label, list(ci_class.identity), rows):
            props = dict(row["props"])
            matched = row["matched"]
            rule = ci_class.identity[row["rule"]]
            shown = (
                dict(zip(rule.keys, matched, strict=True))
                if not rule.interface_keys
                else {rule.interface_keys[0]: matched}
            )
            candidates[row["ref"]].append(
                identification.Candidate(props["uid"], props, tuple(row["labels"]), row["rule"], shown)
            )
        fresh, explanations = [], {}
        for record in records:
            values = identifiers[record.ref][0]
            decision = identification.decide(ci_class, values, candidates.get(record.ref, []))
            explained: dict[str, Any] = {}
            explanations[record.ref] = explained
            if decision.conflicts:
                self.clones[record.ref] = sorted(c.uid for c, _ in decision.conflicts)
                explained["suspected_clones"] = [
                    {**identification.explain(ci_class, c), "conflict": list(keys)} for c, keys in decision.conflicts
                ]
            if decision.target is None:
                fresh.append(record)
                explained["created"] = True
                continue
            target = decision.target
            props = dict(target.props)
            explained |= identification.explain(ci_class, target)
            for other in decision.merge:
                evidence = {
                    "report_id": self.header.report_id,
                    "record": record.ref,
                    "kept": identification.explain(ci_class, target),
                    "merged": identification.explain(ci_class, other),
                }
                merged = await merges.merge_into(
                    tx, self.schema, target.uid, other.uid, self.now, self.header.source_key, evidence
                )
                props = merged.props
                explained.setdefault("merged", []).append(other.uid)
            found[record.ref] = (props, list(target.labels), False)
        await self._create(tx, ci_class, label, fresh, found)
        for record in records:
            explanations[record.ref].setdefault("uid", found[record.ref][0]["uid"])
            self.summary.identification[record.ref] = explanations[record.ref]

    def _key_row(self, record: Record, keys: tuple[str, ...]) -> dict[str, Any]:
        parent_uid = self.uids[record.parent_ref] if record.parent_ref else None
        return {"ref": record.ref, "parent_uid": parent_uid, "key": {k: record.identity[k] for k in keys}}

    def _lookup_row(self, record: Record, keys: tuple[str, ...]) -> list[Any]:
        """A row for repo.identify: [ref, parent uid, key values, same]. For a shared CI,
        ``same`` is what the record says beyond the keys, so an unchanged one comes back as
        its uid alone."""
        parent_uid = self.uids[record.parent_ref] if record.parent_ref else None
        same = None
        if record.ci_class.shared:
            skip = record.ci_class.volatile_attributes.union(keys)
            attributes = {k: v for k, v in record.attributes.items() if k not in skip}
            same = {"class": record.ci_class.name, "attributes": attributes}
        return [record.ref, parent_uid, [record.identity[k] for k in keys], same]

    async def _create(
        self,
        tx: AsyncManagedTransaction,
        ci_class: CIClass,
        label: str,
        records: list[Record],
        found: dict[str, Found],
    ) -> None:
        if not records:
            return
        plain: list[dict[str, Any]] = []
        unique_rules = [rule for rule in ci_class.identity if rule.unique]
        merges: dict[tuple[str, ...], list[dict[str, Any]]] = defaultdict(list)
        for record in records:
            props: dict[str, Any] = {
                "uid": str(uuid.uuid4()),
                "class": ci_class.name,
                "status": CIStatus.ACTIVE.value,
            }
            if record.parent_ref is not None:
                props["parent_uid"] = self.uids[record.parent_ref]
            row = {"ref": record.ref, "labels": list(ci_class.labels), "props": props}
            rule = next((r for r in unique_rules if all(k in record.identity for k in r.keys)), None)
            if rule is None:
                plain.append(row)
            else:
                key_row = self._key_row(record, rule.keys)
                merges[rule.keys].append({**row, **key_row})
        for keys, rows in merges.items():
            # Sorted, so that racing transactions lock index entries in the same order.
            rows.sort(key=lambda r: json.dumps(r["key"], sort_keys=True, default=str))
            merged = await repo.merge_nodes(tx, label, keys, ci_class.dependent, rows, self.seen)
            found.update({ref: (props, [], created) for ref, (props, created) in merged.items()})
        if plain:
            created_plain = await repo.create_nodes(tx, plain, self.seen)
            found.update({ref: (props, [], True) for ref, props in created_plain.items()})

    async def _check_agent_source(self, tx: AsyncManagedTransaction) -> None:
        """An agent token speaks for one agent source: the one its first report named, and
        only while no other active token speaks for it (and so for one inventory source)."""
        key = self.header.source_key
        bind = repo.bind_inventory_source if self.header.source_kind is SourceKind.INVENTORY else repo.bind_agent_source
        bound, holder = await bind(tx, self.caller.token_id, key)
        if bound is not None and bound != key:
            raise Forbidden(f"this agent token speaks for {bound}, not for {key}", field="source.name")
        if holder is not None:
            raise Forbidden(
                f"the source {key} belongs to another agent token ({holder}); an admin revokes or unbinds that "
                "token to move the source",
                field="source.name",
            )

    async def _check_agent_binding(
        self,
        tx: AsyncManagedTransaction,
        level: list[Record],
        current: dict[str, Found],
    ) -> None:
        if self.caller.role is not Role.AGENT:
            return
        hosts = [r for r in level if r.parent_ref is None and r.ci_class.is_a("Host")]
        for host in hosts:
            props, _, created = current[host.ref]
            name = host.attributes.get("hostname") or host.ref
            shown = f"a new host {name}" if created else f"{name} ({props['uid']})"  # a new one's uid is never kept
            await self._bind_host(tx, props["uid"], shown, f"records[{host.index}]")

    async def _bind_host(self, tx: AsyncManagedTransaction, uid: str, shown: str, field: str) -> None:
        """An agent token reports for one host, and a host has one agent token: binding a
        host another active token holds is an admin's act (revoke or unbind that token)."""
        bound, holder = await repo.bind_agent_token(tx, self.caller.token_id, uid)
        if holder is not None:
            raise Forbidden(
                f"the host {shown} is bound to another agent token ({holder}); an admin revokes or unbinds that "
                "token first",
                field=field,
            )
        if bound != uid:
            raise Forbidden(
                f"this agent token is bound to the host {bound}; it may not report for {shown}", field=field
            )

    async def _write(
        self,
        tx: AsyncManagedTransaction,
        level: list[Record],
        current: dict[str, Found],
    ) -> None:
        kind = self.header.source_kind
        updates = []
        for index, record in enumerate(level):
            await _let_others_run(index)
            props, labels_found, created = current[record.ref]
            uid = props["uid"]
            self.uids[record.ref] = uid
            counts = self.summary.classes[record.ci_class.name]
            if labels_found is None:  # a shared CI that already says what the record says
                counts.unchanged += 1
                self.summary.outcomes[record.ref] = "unchanged"
                continue
            existing_class = self.schema.classes.get(props.get("class", ""), record.ci_class)
            if not created and props.get(seen_property(kind)) is None:
                self.first_sightings.add(uid)
            merge = merge_attributes(existing_class, props, record.attributes, kind, self.seen, self.stale_after)
            write = dict(merge.properties)
            labels: list[str] = []
            if record.ci_class.name != existing_class.name and record.ci_class.is_a(existing_class.name):
                write["class"] = record.ci_class.name  # a Host learnt to be a LinuxHost
                labels = list(record.ci_class.labels)
                if not created:
                    self._event(uid, "class", "class", existing_class.name, record.ci_class.name)
            if created:
                counts.created += 1
                self.summary.outcomes[record.ref] = "created"
                if record.attributes.get("name") is None:
                    write["name"] = default_name(record)
                self._event(uid, "created", new={k: v for k, v in record.attributes.items() if v is not None})
            else:
                recorded = [c for c in merge.changes if not existing_class.attributes[c.field].volatile]
                for change in recorded:
                    holder = props.get(PROVENANCE_PREFIX + change.field)
                    takeover = holder not in (None, kind.value)  # precedence, not the thing changing
                    self._event(
                        uid, "attribute", change.field, change.old, change.new, "takeover" if takeover else None
                    )
                for change in merge.drift:  # a locked attribute the source sees otherwise
                    self._event(uid, "drift", change.field, change.old, change.new)
                if props.get("status") != CIStatus.ACTIVE.value:
                    write["status"] = CIStatus.ACTIVE.value
                    self._event(uid, "status", "status", props.get("status"), CIStatus.ACTIVE.value)
                outcome = "updated" if recorded or labels else "unchanged"
                setattr(counts, outcome, getattr(counts, outcome) + 1)
                self.summary.outcomes[record.ref] = outcome
            clones = self.clones.get(record.ref)
            if clones:
                known = set(props.get(identification.CLONES_PROPERTY) or ())
                if not known.issuperset(clones):
                    write[identification.CLONES_PROPERTY] = sorted(known | set(clones))
            if existing_class.shared and not created and not write:
                continue  # nothing changed on a CI many hosts share: do not lock it for last_seen
            updates.append({"uid": uid, "props": write, "labels": labels or list(record.ci_class.labels[:1])})
        updates.sort(key=lambda u: u["uid"])
        # Timestamps go once as a parameter: the driver packs each datetime value slowly.
        await repo.update_nodes(tx, updates, {"last_seen": self.seen, seen_property(kind): self.seen})

    def _reported_edges(self) -> dict[str, dict[EdgeKey, dict[str, Any]]]:
        """type -> edge key -> non-key properties, for the parent edges and relations of the report."""
        by_type: dict[str, dict[EdgeKey, dict[str, Any]]] = defaultdict(dict)
        for record in self.report.records:
            spec = record.ci_class.parent_ci
            if spec is None or record.parent_ref is None:
                continue
            parent_uid, child_uid = self.uids[record.parent_ref], self.uids[record.ref]
            ends = (parent_uid, child_uid) if spec.parent_is_source else (child_uid, parent_uid)
            by_type[spec.relationship][(*ends, ())] = {}
        for relation in self.report.relations:
            rel_type = self.schema.relationships[relation.type]
            # A key property the relation lacks is no key: an edge without it is another edge.
            key = tuple(
                (k, relation.properties[k]) for k in rel_type.key_properties if relation.properties.get(k) is not None
            )
            props = {k: v for k, v in relation.properties.items() if k not in rel_type.key_properties}
            ends = rel_type.ends(self.uids[relation.from_ref], self.uids[relation.to_ref])
            by_type[relation.type][(*ends, key)] = props
        connected = self.schema.relationships[HOST_ON_PORT]
        for port_uid, nic_uid in self.placed:
            by_type[HOST_ON_PORT].setdefault((*connected.ends(port_uid, nic_uid), ()), {})
        return by_type

    async def _hosts_on_ports(self, tx: AsyncManagedTransaction) -> list[tuple[str, str]]:
        """(switch port, host interface) for each MAC a switch port learnt (``learnt_macs``,
        discovery/snmp/topology.py) that one known host interface has: a CONNECTED_TO edge this
        source reports, so it ends when a later complete report no longer places the MAC there."""
        rows = [
            {"port_uid": self.uids[r.ref], "macs": r.attributes[LEARNT_MACS]}
            for r in self.report.records
            if r.attributes.get(LEARNT_MACS) and r.ci_class.is_a("Interface")
        ]
        if not rows:
            return []
        return [(row["port_uid"], row["nic_uid"]) for row in await repo.host_interfaces_with_macs(tx, rows)]

    def _observations(self) -> set[tuple[str, Any, Any]]:
        """(client uid, address, port) of every connection the report observed to an address."""
        records = {r.ref: r for r in self.report.records}
        seen = set()
        for relation in self.report.relations:
            target = records[relation.to_ref]
            if relation.type == "DEPENDS_ON" and target.ci_class.is_a("IPAddress"):
                address = target.attributes.get("address")
                seen.add((self.uids[relation.from_ref], address, relation.properties.get("port")))
        return seen

    async def _relations(self, tx: AsyncManagedTransaction, state: dict[str, Any]) -> dict[str, list[str]]:
        """Diff the report's edges against the graph's: one edge per relation, whoever reports it.

        A relation new to the graph is created (``started``); one other sources vouch for
        gets this source added (``joined``); one it stops reporting loses it (``left``), and
        ends when no source vouches for it any more (``ended``). Only starts and ends of
        relations are history events, so a second source seeing what a first one reported
        changes nothing in the history. An edge the report repeats is not written at all
        (a host's thousand INSTALLED edges cost one read). Edges that start from a CI created
        by this report are part of its creation and get no event of their own.

        Returns the CIs this source's edges start from now, per type, kept in its state so
        that the next complete report finds what it no longer reports.
        """
        reported = self._reported_edges()
        observations = self._observations()
        created = {uid for uid, kind in ((e["ci_uid"], e["kind"]) for e in self.events) if kind == "created"}
        source = self.header.source_key
        complete = self.header.complete
        asked = [name for name in sorted(self.schema.relationships) if reported.get(name) or complete]
        # Where to look, per type: only the types a report names from a CI are read from it (a
        # switch report naming a neighbour host must not read that host's thousand packages).
        starts: dict[str, set[str]] = {name: {key[0] for key in rows} for name, rows in reported.items()}
        starts.setdefault("DEPENDS_ON", set()).update(uid for uid, _, _ in observations)
        if complete:
            previous = orjson.loads(state.get("starts") or state.get("owned") or "{}")
            if isinstance(previous, list):  # a state of an earlier version: its CIs, every type
                previous = {name: previous for name in asked}
            for name, uids in previous.items():
                starts.setdefault(name, set()).update(uids)
        existing_by_type = await repo.edges_from(tx, {name: sorted(starts.get(name, ())) for name in asked})
        now_starts: dict[str, set[str]] = defaultdict(set)
        fresh_edge = provenance.new_edge(source, self.seen, {})  # shared: a host's thousand new edges alike
        for rel_name in sorted(self.schema.relationships):
            rows = reported.get(rel_name, {})
            counts = self.summary.relations[rel_name]
            known: dict[EdgeKey, dict[str, Any]] = {}
            updates: list[tuple[tuple[str, str], dict[str, Any]]] = []  # (ends, row): written in ends order
            duplicates = []
            key_names = self.schema.relationships[rel_name].key_properties
            for index, edge in enumerate(existing_by_type.get(rel_name, [])):
                await _let_others_run(index)
                props = edge["props"]
                key = tuple((k, props[k]) for k in key_names if props.get(k) is not None)
                edge_key: EdgeKey = (edge["from_uid"], edge["to_uid"], key)
                if props.get("via") is None:
                    twin = known.get(edge_key)
                    if twin is not None:  # two edges of one relation (written before edges were shared)
                        twin["props"] = provenance.fold(twin["props"], props)
                        updates.append((edge_key[:2], {"id": twin["id"], "props": twin["props"]}))
                        duplicates.append(edge["id"])
                        continue
                    known[edge_key] = edge
                    if edge_key in rows:
                        continue
                elif (edge["from_uid"], props["via"], props.get("port")) in observations:
                    now_starts[rel_name].add(edge["from_uid"])
                    continue  # derived from a connection the report still observes: lives as long as it
                if not complete or source not in provenance.sources_of(props):
                    continue
                changes, ends = provenance.withdraw(props, source, self.seen)
                updates.append(((edge["from_uid"], edge["to_uid"]), {"id": edge["id"], "props": changes}))
                if ends:
                    counts.ended += 1
                    self._event(edge["from_uid"], "relation_ended", rel_name, {"to": edge["to_uid"]}, None)
                else:
                    counts.left += 1
            new_edges: list[dict[str, Any]] = []
            ordered = sorted(rows.items(), key=lambda item: (item[0][0], item[0][1], repr(item[0][2])))
            for index, (edge_key, props) in enumerate(ordered):
                await _let_others_run(index)
                from_uid, to_uid, key = edge_key
                now_starts[rel_name].add(from_uid)
                found = known.get(edge_key)
                if found is None:
                    new_edges.append(
                        {
                            "from_uid": from_uid,
                            "to_uid": to_uid,
                            "props": {**fresh_edge, **dict(key), **props} if key or props else fresh_edge,
                        }
                    )
                    counts.started += 1
                    if from_uid not in created:
                        self._event(from_uid, "relation_started", rel_name, None, {"to": to_uid, **dict(key)})
                    continue
                stored = found["props"]
                changes, outcome = provenance.vouch(stored, source, self.seen, stamp=not complete)
                changes |= {k: v for k, v in props.items() if stored.get(k) != v}
                setattr(counts, outcome, getattr(counts, outcome) + 1)
                if outcome == "started":
                    self._event(from_uid, "relation_started", rel_name, None, {"to": to_uid, **dict(key)})
                if changes:
                    updates.append(((from_uid, to_uid), {"id": found["id"], "props": changes}))
            await repo.create_edges(tx, rel_name, new_edges, self.seen)
            # One order for every writer (as edges are created): fewer deadlocks on shared packages.
            await repo.set_edge_properties(tx, [row for _, row in sorted(updates, key=lambda u: u[0])])
            await repo.delete_edges(tx, duplicates)
            if not any(vars(counts).values()):
                del self.summary.relations[rel_name]
        ip_uids = [self.uids[r.ref] for r in self.report.records if r.ci_class.is_a("IPAddress")]
        if ip_uids:
            for row in await repo.resolve_observed_dependencies(tx, ip_uids, self.seen):
                self.summary.relations["DEPENDS_ON"].started += 1
                self._event(
                    row["from_uid"],
                    "relation_started",
                    "DEPENDS_ON",
                    None,
                    {"to": row["to_uid"], "port": row["port"]},
                )
        return {name: sorted(uids) for name, uids in sorted(now_starts.items())}


TRANSACTION_MEMORY_FULL = "Neo.TransientError.General.MemoryPoolOutOfMemoryError"


def _within_memory(
    work: Callable[[AsyncManagedTransaction], Awaitable[IngestSummary]],
) -> Callable[[AsyncManagedTransaction], Awaitable[IngestSummary]]:
    """The work, with Neo4j's "transaction memory full" as ReportTooLarge (413): the same report
    fails the same way every time, so neither the driver nor the sender should retry it."""

    async def within(tx: AsyncManagedTransaction) -> IngestSummary:
        try:
            return await work(tx)
        except TransientError as exc:
            if exc.code != TRANSACTION_MEMORY_FULL:
                raise
            raise ReportTooLarge(
                "the report is too large for the graph database to apply in one transaction "
                f"(its transaction memory is full: {quoted(exc.message or '', 200)}); split it into smaller "
                f"reports (at most {MAX_RECORDS} records and {MAX_RELATIONS} relations, schema/limits.toml)",
                field="records",
            ) from None

    return within


async def _apply_afresh(
    tx: AsyncManagedTransaction,
    incoming: IncomingReport,
    schema: Schema,
    caller: Caller,
    stale_after: timedelta,
    now: datetime,
    volatile: dict[str, dict[str, Any]],
) -> IngestSummary:
    """One try of the transaction, on a new ``_Apply``: the driver retries a deadlocked
    transaction by calling this again, and the events and counts of the try it rolled back
    must not carry over (they did: two replicas' concurrent reports recorded events twice)."""
    return await _Apply(incoming, schema, caller, stale_after, now, volatile)(tx)


async def ingest_report(
    driver: AsyncDriver,
    database: str,
    schema: Schema,
    incoming: IncomingReport,
    caller: Caller,
    stale_after: timedelta,
    dry_run: bool = False,
    max_future: timedelta = timedelta(minutes=5),
) -> IngestSummary:
    """Apply one report in one transaction; a report applied before is answered from its record.

    ``dry_run``: do all of it, answer what it did, and roll the transaction back.
    ``max_future``: how far ahead of the server's clock ``collected_at`` may be (clock skew):
    a report dated later would make every later report of its source look out of order.
    """
    authority.check_source(caller.role, caller.sources, incoming.header)
    latest = datetime.now(UTC) + max_future
    if incoming.header.collected_at > latest:
        raise Unprocessable(
            f"collected_at {incoming.header.collected_at.isoformat()} is in the future (the server's clock allows "
            f"{max_future.total_seconds():g} s of skew); check the sender's clock",
            field="collected_at",
        )
    try:
        volatile = incoming.volatile_values()
    except ReportError:
        if not incoming.same_as:
            incoming.report()  # the full check names every problem
        raise
    last_error: ConstraintError | TransientError | None = None
    for attempt in range(MERGE_ATTEMPTS):
        now = datetime.now(UTC)
        # A new _Apply for every try, the driver's own retries included (see _apply_afresh).
        work = _within_memory(
            partial(
                _apply_afresh,
                incoming=incoming,
                schema=schema,
                caller=caller,
                stale_after=stale_after,
                now=now,
                volatile=volatile,
            )
        )
        try:
            async with driver.session(database=database) as session:
                if not dry_run:
                    return await session.execute_write(work)
                tx = await session.begin_transaction()
                try:
                    return await work(cast(AsyncManagedTransaction, tx))
                finally:
                    await tx.rollback()
        except ConstraintError as exc:
            # A concurrent report created a CI this one could not see yet; identify again.
            log.info("report %s raced another writer (%s); retrying", incoming.header.report_id, exc.message)
            last_error = exc
        except TransientError as exc:
            # Deadlocks between reports sharing CIs (packages) outlasted the driver's own retries
            # of a long transaction: try again after a pause, then answer 503 (nothing applied).
            log.info("report %s kept meeting lock conflicts (%s); retrying", incoming.header.report_id, exc.code)
            last_error = exc
            await asyncio.sleep(random.uniform(0.5, 1.5) * (attempt + 1))  # noqa: S311 (jitter, not security)
    assert last_error is not None
    raise last_error
