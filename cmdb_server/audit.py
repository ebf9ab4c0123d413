"""The ISO/IEC 20000 evidence reports: changes discovery recorded that no authorised change
covers, and the configuration audit; for the API's reports and the web UI's pages alike."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from neo4j import AsyncDriver

from cmdb_server.itsm import DISCOVERED_CHANGE_KINDS, NOT_A_CHANGE, authorised_by, is_discovered_change
from cmdb_server.reconcile import decode_event
from cmdb_server.repositories import audit, records
from schema.itsm import CHANGE_AUTHORISED


async def unauthorised_changes(
    driver: AsyncDriver, database: str, since: datetime, newest: int | None = None
) -> list[dict[str, Any]]:
    """A change to a CI is authorised when an approved (or implementing, implemented,
    closed) change targets the CI or its parent and its planned window covers the time.
    ``newest``: look only at that many latest discovered changes (newest first)."""
    authorising = await records.authorising_changes(driver, database, sorted(CHANGE_AUTHORISED))
    items = []
    found = await records.discovered_changes(
        driver, database, since, sorted(DISCOVERED_CHANGE_KINDS), sorted(NOT_A_CHANGE), newest
    )
    for row in found:
        event = decode_event(row["event"])
        if not is_discovered_change(event):
            continue  # a source learning what another knew, or taking over an attribute by precedence
        scope = {row["uid"], row["parent_uid"]} - {None}
        if authorised_by(event["at"], scope, authorising):
            continue
        items.append(
            {
                "ci": {"uid": row["uid"], "name": row["name"], "class": row["class"]},
                "at": event["at"],
                "kind": event["kind"],
                "field": event.get("field"),
                "old": event["old"],
                "new": event["new"],
                "source": event["source"],
                "report_id": event.get("report_id"),
            }
        )
    return items


async def configuration_audit(
    driver: AsyncDriver, database: str, interval_hours: float, now: datetime
) -> dict[str, Any]:
    """Records not verified within the interval, known to one source only, suspected duplicates
    and clones, what a source stopped reporting while others still do, and coverage."""
    cutoff = now - timedelta(hours=interval_hours)
    return {
        "generated_at": now,
        "interval_hours": interval_hours,
        "not_verified": await audit.not_verified(driver, database, cutoff),
        "single_source": await audit.single_source(driver, database),
        "suspected_duplicates": await audit.suspected_duplicates(driver, database),
        "suspected_clones": await audit.suspected_clones(driver, database),
        "sources_stopped": await audit.sources_stopped(driver, database, cutoff),
        "coverage": await audit.coverage(driver, database),
    }


class Finding(StrEnum):
    """The kinds of finding of the configuration audit, one per list of its report."""

    NOT_VERIFIED = "not_verified"
    SINGLE_SOURCE = "single_source"
    SUSPECTED_DUPLICATE = "suspected_duplicate"
    SUSPECTED_CLONE = "suspected_clone"
    SOURCE_STOPPED = "source_stopped"
    RELATION_LEFT = "relation_left"


@dataclass(frozen=True)
class Narrowing:
    """What a reader narrows an audit report to (None: any); the same for its page and exports."""

    ci_class: str | None = None
    kind: str | None = None  # a discovered change's kind, or a Finding
    source: str | None = None  # part of the source's name, any case
    until: datetime | None = None

    def keeps(self, ci_class: str | None, kind: str, sources: Iterable[str | None], at: datetime | None = None) -> bool:
        if self.ci_class and ci_class != self.ci_class:
            return False
        if self.kind and kind != self.kind:
            return False
        if self.source and not any(self.source.lower() in (s or "").lower() for s in sources):
            return False
        return not (self.until is not None and at is not None and at > self.until)


def narrow_unauthorised(items: list[dict[str, Any]], narrowing: Narrowing) -> list[dict[str, Any]]:
    return [i for i in items if narrowing.keeps(i["ci"]["class"], i["kind"], [i["source"]], i["at"])]


def findings(report: dict[str, Any]) -> list[dict[str, Any]]:
    """The configuration audit as one list of findings (finding, uid, name, class, source,
    detail), for a table and an export: each list of the report keeps its own order."""
    rows: list[dict[str, Any]] = []

    def add(finding: Finding, uid: str, name: Any, ci_class: Any, source: str, detail: str) -> None:
        rows.append(
            {"finding": finding.value, "uid": uid, "name": name, "class": ci_class, "source": source, "detail": detail}
        )

    for r in report["not_verified"]:
        add(Finding.NOT_VERIFIED, r["uid"], r["name"], r["class"], "", f"last seen {_when(r['last_seen'])}")
    for r in report["single_source"]:
        add(Finding.SINGLE_SOURCE, r["uid"], r["name"], r["class"], r["source"], f"known to {r['source']} only")
    for r in report["suspected_duplicates"]:
        add(
            Finding.SUSPECTED_DUPLICATE,
            r["uids"][0],
            r["value"],
            r["class"],
            "",
            f"{r['key']} {r['value']} shared by {len(r['uids'])} CIs: {', '.join(r['uids'])}",
        )
    for r in report["suspected_clones"]:
        add(
            Finding.SUSPECTED_CLONE,
            r["uid"],
            r["name"],
            r["class"],
            "",
            f"shares identifiers with {r['clone_name'] or r['clone_of']} ({r['clone_of']})",
        )
    stopped = report["sources_stopped"]
    for r in stopped["cis"]:
        add(
            Finding.SOURCE_STOPPED,
            r["uid"],
            r["name"],
            r["class"],
            ";".join(r["stopped"]),
            f"not seen by {', '.join(r['stopped'])} though others saw it {_when(r['last_seen'])}",
        )
    for r in stopped["relations"]:
        add(
            Finding.RELATION_LEFT,
            r["from_uid"],
            f"{r['from_name']} {r['type']} {r['to_name']}",
            None,
            ";".join(r["stopped"]),
            f"{', '.join(r['stopped'])} stopped reporting it; {', '.join(r['still'] or [])} still do",
        )
    return rows


def narrow_findings(rows: list[dict[str, Any]], narrowing: Narrowing) -> list[dict[str, Any]]:
    return [r for r in rows if narrowing.keeps(r["class"], r["finding"], r["source"].split(";"))]


def _when(at: Any) -> str:
    return at.strftime("%Y-%m-%d %H:%M UTC") if isinstance(at, datetime) else str(at)
