"""ITSM records in the graph: changes, incidents, problems, releases, freeze windows.

A record is a node with a readable id (CHG0001...), its fields, and edges to the CIs it
concerns (TARGETS, AFFECTS, SUSPECTS, DEPLOYS_TO, APPLIES_TO) and to other records
(BUNDLES, INSTANCE_OF). Its history is Event nodes keyed by the record id, like a CI's.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from neo4j import AsyncDriver

from cmdb_server.db import read_query
from cmdb_server.reconcile import native, to_json
from cmdb_server.repositories.schema_setup import quote


@dataclass(frozen=True)
class RecordKind:
    label: str
    prefix: str
    ci_links: tuple[str, ...]  # relationship types to CIs
    record_links: tuple[tuple[str, str], ...] = ()  # (relationship type, label of the other record)
    sortable: tuple[str, ...] = ("id", "created_at", "updated_at")  # fields a list may be sorted by


CHANGE = RecordKind(
    "Change",
    "CHG",
    ("TARGETS",),
    sortable=("id", "title", "state", "type", "risk", "planned_start", "planned_end", "created_at", "updated_at"),
)
INCIDENT = RecordKind("Incident", "INC", ("AFFECTS",), (("INSTANCE_OF", "Problem"),))
PROBLEM = RecordKind("Problem", "PRB", ("SUSPECTS",))
RELEASE = RecordKind(
    "Release",
    "REL",
    ("DEPLOYS_TO",),
    (("BUNDLES", "Change"),),
    sortable=("id", "name", "version", "state", "window_start", "window_end", "created_at", "updated_at"),
)
FREEZE = RecordKind("FreezeWindow", "FRZ", ("APPLIES_TO",))
KINDS = (CHANGE, INCIDENT, PROBLEM, RELEASE, FREEZE)
UNTRACKED_FIELDS = frozenset({"assessment", "assessed_at", "assessed_revision", "approvals"})


def _plain(props: dict[str, Any]) -> dict[str, Any]:
    return {k: native(v) for k, v in props.items()}


async def missing_cis(driver: AsyncDriver, database: str, uids: list[str]) -> list[str]:
    records, _, _ = await driver.execute_query(
        read_query("UNWIND $uids AS uid OPTIONAL MATCH (n:CI {uid: uid}) WITH uid, n WHERE n IS NULL RETURN uid"),
        uids=uids,
        database_=database,
        routing_="r",
    )
    return [r["uid"] for r in records]


async def missing_records(driver: AsyncDriver, database: str, label: str, ids: list[str]) -> list[str]:
    records, _, _ = await driver.execute_query(
        read_query(
            f"UNWIND $ids AS id OPTIONAL MATCH (r:{quote(label)} {{id: id}}) WITH id, r WHERE r IS NULL RETURN id"
        ),
        ids=ids,
        database_=database,
        routing_="r",
    )
    return [r["id"] for r in records]


async def create_record(
    driver: AsyncDriver,
    database: str,
    kind: RecordKind,
    props: dict[str, Any],
    ci_links: dict[str, list[str]],
    record_links: dict[str, list[str]],
    actor: str,
    now: datetime,
) -> str:
    """Create a record with its links in one transaction; its id comes from a counter."""
    async with driver.session(database=database) as session:

        async def work(tx: Any) -> str:
            result = await tx.run(
                "MERGE (c:Counter {name: $label}) SET c.value = coalesce(c.value, 0) + 1 RETURN c.value AS n",
                label=kind.label,
            )
            number = (await result.single(strict=True))["n"]
            record_id = f"{kind.prefix}{number:04d}"
            await tx.run(
                f"""
                CREATE (r:{quote(kind.label)}) SET r = $props, r.id = $id, r.created_at = $now,
                       r.created_by = $actor, r.updated_at = $now, r.revision = 1
                CREATE (:Event {{ci_uid: $id, kind: 'created', new: $new, source: $actor, at: $now}})
                """,
                props=props,
                id=record_id,
                now=now,
                actor=actor,
                new=to_json(props),
            )
            for rel, uids in ci_links.items():
                await tx.run(
                    f"""
                    MATCH (r:{quote(kind.label)} {{id: $id}})
                    UNWIND $uids AS uid MATCH (c:CI {{uid: uid}}) MERGE (r)-[:{quote(rel)}]->(c)
                    """,
                    id=record_id,
                    uids=uids,
                )
            for rel, other_label in kind.record_links:
                ids = record_links.get(rel, [])
                if ids:
                    await tx.run(
                        f"""
                        MATCH (r:{quote(kind.label)} {{id: $id}})
                        UNWIND $ids AS other MATCH (o:{quote(other_label)} {{id: other}}) MERGE (r)-[:{quote(rel)}]->(o)
                        """,
                        id=record_id,
                        ids=ids,
                    )
            return record_id

        return await session.execute_write(work)


async def get_record(driver: AsyncDriver, database: str, kind: RecordKind, record_id: str) -> dict[str, Any] | None:
    records, _, _ = await driver.execute_query(
        read_query(f"""
        MATCH (r:{quote(kind.label)} {{id: $id}})
        OPTIONAL MATCH (r)-[l]->(c:CI)
        WITH r, collect(CASE WHEN c IS NULL THEN null ELSE
             {{type: type(l), uid: c.uid, name: c.name, class: c.class}} END) AS cis
        OPTIONAL MATCH (r)-[k]->(o) WHERE NOT o:CI
        RETURN properties(r) AS props, cis,
               collect(CASE WHEN o IS NULL THEN null ELSE {{type: type(k), id: o.id}} END) AS records
        """),
        id=record_id,
        database_=database,
        routing_="r",
    )
    if not records:
        return None
    row = records[0]
    result = _plain(row["props"])
    result["cis"] = sorted(row["cis"], key=lambda c: (c["type"], c["name"] or "", c["uid"]))
    result["records"] = sorted(row["records"], key=lambda r: (r["type"], r["id"]))
    return result


async def list_records(
    driver: AsyncDriver, database: str, kind: RecordKind, state_field: str, states: list[str] | None
) -> list[dict[str, Any]]:
    items, _ = await page_records(driver, database, kind, {state_field: states} if states else {}, None, 0, None)
    return items


async def page_records(
    driver: AsyncDriver,
    database: str,
    kind: RecordKind,
    filters: dict[str, list[Any]],
    ci_uid: str | None,
    offset: int,
    limit: int | None,
    sort: str = "id",
) -> tuple[list[dict[str, Any]], int]:
    """A page of records; ``filters``: field -> accepted values (all must hold); ``ci_uid``:
    only records linked to that CI; ``sort``: a field of ``kind.sortable`` (``-field``
    descends), ties in id order. Returns (page, total)."""
    field = sort.removeprefix("-")
    if field not in kind.sortable:
        raise ValueError(f"cannot sort {kind.label} by {field!r}")
    records, _, _ = await driver.execute_query(
        read_query(f"""
        MATCH (r:{quote(kind.label)})
        WHERE all(f IN keys($filters) WHERE r[f] IN $filters[f])
          AND ($ci IS NULL OR EXISTS {{ (r)-->(:CI {{uid: $ci}}) }})
        WITH r ORDER BY CASE WHEN $descending THEN null ELSE r[$sort] END,
                        CASE WHEN $descending THEN r[$sort] END DESC, r.id
        WITH collect(properties(r)) AS found
        RETURN size(found) AS total,
               CASE WHEN $limit IS NULL THEN found[$offset..] ELSE found[$offset..$offset + $limit] END AS page
        """),
        filters=filters,
        ci=ci_uid,
        offset=offset,
        limit=limit,
        sort=field,
        descending=sort.startswith("-"),
        database_=database,
        routing_="r",
    )
    row = records[0]
    return [_plain(p) for p in row["page"]], row["total"]


async def update_record(
    driver: AsyncDriver,
    database: str,
    kind: RecordKind,
    record_id: str,
    expected: dict[str, Any],
    changes: dict[str, Any],
    actor: str,
    now: datetime,
    bump_revision: bool = False,
    current: dict[str, Any] | None = None,
    links: tuple[str, list[str], list[str]] | None = None,
    link_label: str = "CI",
) -> bool:
    """Set fields if the record still has the ``expected`` values (no lost updates); history per field.

    ``current`` (the record as read) gives the old values; snapshots (the assessment)
    are not repeated in the history. ``links``: (relationship type, old uids, new uids): the
    record's links of that type to CIs (or to records of ``link_label``, by id) are replaced,
    as a history event of the type's name.
    """
    before = current or {}
    events = [
        {"field": k, "old": to_json(before.get(k)), "new": to_json(v)}
        for k, v in changes.items()
        if k not in UNTRACKED_FIELDS
    ]
    rel, new_uids = (links[0], links[2]) if links else (None, [])
    key_property = "uid" if link_label == "CI" else "id"
    if links:
        events.append({"field": links[0].lower(), "old": to_json(links[1]), "new": to_json(links[2])})
    relink = (
        f"""
        WITH r
        CALL (r) {{ MATCH (r)-[old:{quote(rel)}]->(:{quote(link_label)}) DELETE old }}
        CALL (r) {{
            UNWIND $uids AS key MATCH (c:{quote(link_label)} {{{key_property}: key}}) MERGE (r)-[:{quote(rel)}]->(c)
        }}
        """
        if rel
        else ""
    )
    records, _, _ = await driver.execute_query(
        f"""
        MATCH (r:{quote(kind.label)} {{id: $id}})
        WHERE all(k IN keys($expected) WHERE r[k] = $expected[k])
        WITH r, $events AS events
        SET r += $changes, r.updated_at = $now,
            r.revision = r.revision + CASE WHEN $bump THEN 1 ELSE 0 END
        FOREACH (e IN events |
            CREATE (:Event {{ci_uid: r.id, kind: 'field', field: e.field, old: e.old, new: e.new,
                            source: $actor, at: $now}}))
        {relink}
        RETURN r.id AS id
        """,
        id=record_id,
        expected=expected,
        changes=changes,
        events=events,
        actor=actor,
        now=now,
        bump=bump_revision,
        uids=new_uids,
        database_=database,
    )
    return bool(records)


async def linked_ci_uids(driver: AsyncDriver, database: str, kind: RecordKind, record_id: str) -> list[str]:
    records, _, _ = await driver.execute_query(
        read_query(
            f"MATCH (r:{quote(kind.label)} {{id: $id}})-[l]->(c:CI) WHERE type(l) IN $types RETURN c.uid AS uid"
        ),
        id=record_id,
        types=list(kind.ci_links),
        database_=database,
        routing_="r",
    )
    return sorted(r["uid"] for r in records)


async def records_on_cis(
    driver: AsyncDriver, database: str, kind: RecordKind, state_field: str, states: list[str], uids: list[str]
) -> list[dict[str, Any]]:
    """Records in one of ``states`` linked to any of the CIs, with the CIs they share."""
    records, _, _ = await driver.execute_query(
        read_query(f"""
        MATCH (r:{quote(kind.label)})-[l]->(c:CI)
        WHERE type(l) IN $types AND r[$field] IN $states AND c.uid IN $uids
        RETURN r.id AS id, r.title AS title, r[$field] AS state, r.priority AS priority,
               collect(DISTINCT c.uid) AS on ORDER BY id
        """),
        types=list(kind.ci_links),
        field=state_field,
        states=states,
        uids=uids,
        database_=database,
        routing_="r",
    )
    return [dict(r) for r in records]


async def changes_in_window(
    driver: AsyncDriver, database: str, states: list[str], start: datetime, end: datetime, exclude: str | None
) -> list[dict[str, Any]]:
    records, _, _ = await driver.execute_query(
        read_query("""
        MATCH (c:Change) WHERE c.state IN $states AND c.planned_start < $end AND $start < c.planned_end
          AND ($exclude IS NULL OR c.id <> $exclude)
        OPTIONAL MATCH (c)-[:TARGETS]->(t:CI)
        RETURN c.id AS id, c.title AS title, c.state AS state, c.planned_start AS planned_start,
               c.planned_end AS planned_end, collect(t.uid) AS targets ORDER BY id
        """),
        states=states,
        start=start,
        end=end,
        exclude=exclude,
        database_=database,
        routing_="r",
    )
    return [_plain(dict(r)) for r in records]


async def freezes_in_window(driver: AsyncDriver, database: str, start: datetime, end: datetime) -> list[dict[str, Any]]:
    records, _, _ = await driver.execute_query(
        read_query("""
        MATCH (f:FreezeWindow) WHERE f.start < $end AND $start < f.end
        OPTIONAL MATCH (f)-[:APPLIES_TO]->(s:CI)
        RETURN f.id AS id, f.name AS name, f.start AS start, f.end AS end, collect(s.uid) AS services ORDER BY id
        """),
        start=start,
        end=end,
        database_=database,
        routing_="r",
    )
    return [_plain(dict(r)) for r in records]


async def discovered_changes(
    driver: AsyncDriver,
    database: str,
    since: datetime,
    kinds: list[str],
    not_a_change: list[str],
    newest: int | None = None,
) -> list[dict[str, Any]]:
    """Changes of the configuration discovery recorded since a time (events of ``kinds``, not a
    person's, not news of the record: ``not_a_change``), with the CI's parent; oldest first,
    or only the ``newest`` of them, newest first (the home page's latest, read backwards on the
    time index instead of every event of the day)."""
    order = "ORDER BY e.at DESC, e.ci_uid LIMIT $newest" if newest is not None else "ORDER BY e.at, e.ci_uid"
    records, _, _ = await driver.execute_query(
        read_query(f"""
        MATCH (e:Event) WHERE e.at >= $since AND e.kind IN $kinds
          AND NOT e.source STARTS WITH 'manual:' AND NOT coalesce(e.change, '') IN $not_a_change
        WITH e {order}
        MATCH (n:CI {{uid: e.ci_uid}})
        RETURN properties(e) AS event, n.uid AS uid, n.name AS name, n.class AS class, n.parent_uid AS parent_uid
        """),
        since=since,
        kinds=kinds,
        not_a_change=not_a_change,
        newest=newest,
        database_=database,
        routing_="r",
    )
    return [{**dict(r), "event": _plain(r["event"])} for r in records]


async def authorising_changes(driver: AsyncDriver, database: str, states: list[str]) -> list[dict[str, Any]]:
    records, _, _ = await driver.execute_query(
        read_query("""
        MATCH (c:Change)-[:TARGETS]->(t:CI) WHERE c.state IN $states
        RETURN c.id AS id, c.planned_start AS start, c.planned_end AS end, collect(t.uid) AS targets
        """),
        states=states,
        database_=database,
        routing_="r",
    )
    return [_plain(dict(r)) for r in records]


async def events_between(
    driver: AsyncDriver, database: str, uids: list[str], since: datetime, until: datetime
) -> list[dict[str, Any]]:
    """What discovery (or anyone) recorded on these CIs in a time range."""
    records, _, _ = await driver.execute_query(
        read_query("""
        UNWIND $uids AS uid
        MATCH (e:Event {ci_uid: uid}) WHERE e.at >= $since AND e.at <= $until AND e.kind <> 'created'
        RETURN properties(e) AS e ORDER BY e.at DESC
        """),
        uids=uids,
        since=since,
        until=until,
        database_=database,
        routing_="r",
    )
    return [_plain(r["e"]) for r in records]


async def changes_touching(
    driver: AsyncDriver, database: str, uids: list[str], since: datetime, until: datetime
) -> list[dict[str, Any]]:
    """Changes targeting these CIs whose window overlaps a time range."""
    records, _, _ = await driver.execute_query(
        read_query("""
        MATCH (c:Change)-[:TARGETS]->(t:CI) WHERE t.uid IN $uids
          AND c.planned_start <= $until AND c.planned_end >= $since
        RETURN c.id AS id, c.title AS title, c.state AS state, c.planned_start AS planned_start,
               collect(t.uid) AS targets ORDER BY id
        """),
        uids=uids,
        since=since,
        until=until,
        database_=database,
        routing_="r",
    )
    return [_plain(dict(r)) for r in records]


async def incidents_of_problem(driver: AsyncDriver, database: str, problem_id: str) -> list[dict[str, Any]]:
    records, _, _ = await driver.execute_query(
        read_query("""
        MATCH (i:Incident)-[:INSTANCE_OF]->(:Problem {id: $id})
        RETURN i.id AS id, i.title AS title, i.status AS status ORDER BY id
        """),
        id=problem_id,
        database_=database,
        routing_="r",
    )
    return [dict(r) for r in records]


async def delete_record(
    driver: AsyncDriver, database: str, kind: RecordKind, record_id: str, actor: str, now: datetime
) -> bool:
    """Delete a record and its links; its history stays, with a ``deleted`` event (what it was)."""
    records, _, _ = await driver.execute_query(
        f"""
        MATCH (r:{quote(kind.label)} {{id: $id}})
        CREATE (:Event {{ci_uid: r.id, kind: 'deleted', source: $actor, at: $now}})
        WITH r, r.id AS id
        DETACH DELETE r
        RETURN id
        """,
        id=record_id,
        actor=actor,
        now=now,
        database_=database,
    )
    return bool(records)
