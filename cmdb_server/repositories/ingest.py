"""Cypher of report ingest, each function one batched statement inside the caller's transaction.

Labels, relationship types and property names are not parameters in Cypher; where a
statement needs them they come from the validated schema and are backtick-quoted.
Every value is a parameter.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import orjson
from neo4j import AsyncManagedTransaction

from cmdb_server.repositories.schema_setup import quote
from schema import PARENT_UID, CIStatus


def _key_map(keys: tuple[str, ...], source: str, dependent: bool) -> str:
    pairs = [f"{quote(k)}: {source}.{quote(k)}" for k in keys]
    if dependent:
        pairs.insert(0, f"{PARENT_UID}: row.parent_uid")
    return "{" + ", ".join(pairs) + "}"


async def newer_report_of(tx: AsyncManagedTransaction, source: str, collected_at: datetime) -> datetime | None:
    result = await tx.run(
        """
        MATCH (r:IngestedReport {source: $source}) WHERE r.collected_at > $collected_at
        RETURN max(r.collected_at) AS newest
        """,
        source=source,
        collected_at=collected_at,
    )
    row = await result.single()
    newest = row["newest"] if row else None
    return newest.to_native() if newest is not None else None


async def record_report(
    tx: AsyncManagedTransaction,
    report_id: str,
    source: str,
    collected_at: datetime,
    now: datetime,
    summary: str,
) -> None:
    await tx.run(
        """
        CREATE (:IngestedReport {report_id: $id, source: $source, collected_at: $collected_at,
                                 received_at: $now, summary: $summary})
        """,
        id=report_id,
        source=source,
        collected_at=collected_at,
        now=now,
        summary=summary,
    )


async def identify(
    tx: AsyncManagedTransaction,
    label: str,
    keys: tuple[str, ...],
    dependent: bool,
    rows: list[list[Any]],
    unique: bool = False,
) -> dict[str, tuple[dict[str, Any], list[str] | None]]:
    """Find CIs by one identity rule: ``rows`` are [ref, parent uid, [key values in the
    order of ``keys``], same], ``same`` being null or {class, attributes}.

    Returns ref -> (properties, labels) of the oldest matching CI. A row that carries
    ``same`` (a class and attribute values) and whose CI already holds exactly those gets
    only {uid} and no labels: reading every property of a thousand shared packages back
    costs more than the rest of a report. Rows are lists, not maps: Neo4j decodes every
    key of every map in the parameters, and a host's packages are a thousand rows.
    """
    key_map = ", ".join(f"{quote(k)}: row[2][{i}]" for i, k in enumerate(keys))
    if dependent:
        key_map = f"{PARENT_UID}: row[1], {key_map}"
    # A unique rule matches one node at most; otherwise the oldest wins.
    oldest = "" if unique else "WITH row, n ORDER BY n.first_seen WITH row, collect(n)[0] AS n"
    result = await tx.run(
        f"""
        UNWIND $rows AS row
        MATCH (n:{quote(label)} {{{key_map}}})
        {oldest}
        WITH row, n, row[3] IS NOT NULL AND n.class = row[3].class
                     AND all(k IN keys(row[3].attributes) WHERE n[k] = row[3].attributes[k]) AS same
        RETURN collect(CASE WHEN same THEN [row[0], n.uid, null]
                            ELSE [row[0], properties(n), labels(n)] END) AS found
        """,
        rows=rows,
    )
    row = await result.single(strict=True)
    return {ref: ({"uid": props} if labels is None else props, labels) for ref, props, labels in row["found"]}


async def merge_nodes(
    tx: AsyncManagedTransaction,
    label: str,
    keys: tuple[str, ...],
    dependent: bool,
    rows: list[dict[str, Any]],
    now: datetime,
) -> dict[str, tuple[dict[str, Any], bool]]:
    """Create CIs, merging on a unique identity rule so that racing reports make one node.

    ``rows`` are {ref, parent_uid, key, labels, props}; ``props`` holds the new uid.
    Returns ref -> (properties, created); created is False when another transaction won.
    Only a node another transaction made is read back: a report creating ten thousand CIs
    knows what it wrote, and decoding it all again held the event loop.
    """
    result = await tx.run(
        f"""
        UNWIND $rows AS row
        MERGE (n:{quote(label)} {_key_map(keys, "row.key", dependent)})
        ON CREATE SET n += row.props, n.first_seen = $now, n:$(row.labels)
        WITH row, n, n.uid = row.props.uid AS created
        RETURN collect([row.ref, CASE WHEN created THEN null ELSE properties(n) END]) AS merged
        """,
        rows=rows,
        now=now,
    )
    row = await result.single(strict=True)
    sent = {r["ref"]: r for r in rows}
    return {
        ref: (props, False) if props is not None else ({**sent[ref]["key"], **sent[ref]["props"]}, True)
        for ref, props in row["merged"]
    }


async def create_nodes(
    tx: AsyncManagedTransaction, rows: list[dict[str, Any]], now: datetime
) -> dict[str, dict[str, Any]]:
    """Create CIs that have no unique identity key to merge on: {ref, labels, props}."""
    await tx.run(
        """
        UNWIND $rows AS row
        CREATE (n:$(row.labels))
        SET n = row.props, n.first_seen = $now
        """,
        rows=rows,
        now=now,
    )
    return {row["ref"]: {**row["props"], "first_seen": now} for row in rows}


async def update_nodes(tx: AsyncManagedTransaction, rows: list[dict[str, Any]], seen: dict[str, Any]) -> None:
    """Set properties (a null removes one) and add labels: {uid, props, labels}; and on all,
    the properties of ``seen`` (when they were last seen)."""
    await tx.run(
        """
        UNWIND $rows AS row
        MATCH (n:CI {uid: row.uid})
        SET n += row.props, n += $seen, n:$(row.labels)
        """,
        rows=rows,
        seen=seen,
    )


async def write_events(
    tx: AsyncManagedTransaction, events: list[dict[str, Any]], at: datetime, observed_at: datetime | None = None
) -> None:
    """History events of one transaction, all at the same time (``at``), of what its source
    saw at ``observed_at``: times go once as parameters (the driver packs each slowly)."""
    if events:
        await tx.run(
            "UNWIND $events AS e CREATE (ev:Event) SET ev = e, ev.at = $at, ev.observed_at = $observed_at",
            events=events,
            at=at,
            observed_at=observed_at,
        )


async def edges_from(tx: AsyncManagedTransaction, starts: dict[str, list[str]]) -> dict[str, list[dict[str, Any]]]:
    """Every edge of a type (ended ones too) that starts at one of the CIs given for that
    type, whichever sources vouch for it: type -> its edges' ends, properties and id.

    A source's edges are found from the CIs they start at (its last report's and this
    one's), not by a property: one edge holds every source's view. One statement, a part per
    type: a host stores its edges grouped by type, so a HAS_INTERFACE look-up does not walk
    its thousand INSTALLED edges. The edges' first and last seen times are not read back:
    the diff does not need them, and decoding a thousand times cost more than the query.
    """
    types = sorted(starts)  # every type asked, even without a start: one statement text, planned once
    if not any(starts.values()):
        return {}
    parts = [
        f"""UNWIND $starts[{json.dumps(name)}] AS uid
            MATCH (a:CI {{uid: uid}})-[r:{quote(name)}]->(b:CI)
            RETURN type(r) AS type, a.uid AS from_uid, b.uid AS to_uid,
                   r {{.*, first_seen: null, last_seen: null}} AS props, elementId(r) AS id"""
        for name in types
    ]
    result = await tx.run("CALL () {\n" + "\nUNION ALL\n".join(parts) + "\n} RETURN *", starts=starts)
    edges: dict[str, list[dict[str, Any]]] = {name: [] for name in starts}
    async for row in result:
        props = {k: v for k, v in row["props"].items() if v is not None}
        edges[row["type"]].append(
            {"from_uid": row["from_uid"], "to_uid": row["to_uid"], "props": props, "id": row["id"]}
        )
    return edges


async def delete_edges(tx: AsyncManagedTransaction, ids: list[str]) -> None:
    """Delete edges by element id (duplicates of one relation, folded into one)."""
    if ids:
        await tx.run("UNWIND $ids AS id MATCH ()-[r]->() WHERE elementId(r) = id DELETE r", ids=ids)


async def claim_identifiers(tx: AsyncManagedTransaction, keys: list[str], now: datetime) -> None:
    """Write-lock one claim node per identifier a report identifies a CI by (made on first use).

    Two reports naming one machine by a shared identifier (a MAC, a machine-id) wait for
    each other here, before either looks the machine up: the second finds the CI the
    first created instead of creating another. Keys are sorted so that reports lock them
    in one order.
    """
    if keys:
        await tx.run(
            "UNWIND $keys AS k MERGE (c:IdentityClaim {key: k}) SET c.at = $now", keys=sorted(set(keys)), now=now
        )


async def identify_candidates(
    tx: AsyncManagedTransaction, label: str, rules: list[Any], rows: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Every CI each identity rule finds for each record: rows of {ref, keys, nics}, ``keys[i]``
    the values of rule i's own keys (or null), ``nics[i]`` the record's interface values for
    rule i (a list, empty when the rule has no interface keys). One statement for all rules.

    Returns {ref, rule, props, labels, matched}: ``matched`` the values the rule matched on.
    """
    parts = []
    for i, rule in enumerate(rules):
        own = " AND ".join(f"n.{quote(k)} = row.keys[{i}][{j}]" for j, k in enumerate(rule.keys))
        if rule.interface_keys:
            key = quote(rule.interface_keys[0])
            parts.append(
                f"""
                UNWIND $rows AS row
                WITH row WHERE size(row.nics[{i}]) > 0 {f"AND row.keys[{i}] IS NOT NULL" if rule.keys else ""}
                UNWIND row.nics[{i}] AS v
                MATCH (x:Interface {{{key}: v}}) WHERE x.physical IS NULL OR x.physical = true
                MATCH (n:CI {{uid: x.{quote("parent_uid")}}}) WHERE n:{quote(label)} {f"AND {own}" if own else ""}
                RETURN row.ref AS ref, {i} AS rule, properties(n) AS props, labels(n) AS labels,
                       collect(DISTINCT v) AS matched
                """
            )
        else:
            key_map = ", ".join(f"{quote(k)}: row.keys[{i}][{j}]" for j, k in enumerate(rule.keys))
            parts.append(
                f"""
                UNWIND $rows AS row
                WITH row WHERE row.keys[{i}] IS NOT NULL
                MATCH (n:{quote(label)} {{{key_map}}})
                RETURN row.ref AS ref, {i} AS rule, properties(n) AS props, labels(n) AS labels,
                       row.keys[{i}] AS matched
                """
            )
    result = await tx.run("CALL () {" + "\nUNION ALL\n".join(parts) + "} RETURN *", rows=rows)
    return [dict(row) async for row in result]


async def create_edges(tx: AsyncManagedTransaction, rel_type: str, rows: list[dict[str, Any]], now: datetime) -> None:
    """Create edges the caller knows to be new, first seen now: rows of {from_uid, to_uid, props}.

    Sent grouped by start and properties (a host's thousand INSTALLED edges are one group):
    the start is looked up once, and the parameters are a list of uids, not a map per edge.
    """
    groups: dict[tuple[str, bytes], dict[str, Any]] = {}
    for row in rows:
        # A new edge's last sighting is now: sent once, not as a datetime per group to pack.
        props = {k: v for k, v in row["props"].items() if k != "last_seen"}
        key = (row["from_uid"], orjson.dumps(props, option=orjson.OPT_SORT_KEYS, default=str))
        group = groups.setdefault(key, {"from_uid": row["from_uid"], "props": props, "to_uids": []})
        group["to_uids"].append(row["to_uid"])
    if groups:
        await tx.run(
            f"""
            UNWIND $groups AS g
            MATCH (a:CI {{uid: g.from_uid}})
            UNWIND g.to_uids AS to_uid
            MATCH (b:CI {{uid: to_uid}})
            CREATE (a)-[r:{quote(rel_type)}]->(b)
            SET r = g.props, r.first_seen = $now, r.last_seen = $now
            """,
            groups=list(groups.values()),
            now=now,
        )


async def set_edge_properties(tx: AsyncManagedTransaction, rows: list[dict[str, Any]]) -> None:
    """Update edges by element id: rows of {id, props} (a null removes a property)."""
    if rows:
        await tx.run(
            "UNWIND $rows AS row MATCH ()-[r]->() WHERE elementId(r) = row.id SET r += row.props",
            rows=rows,
        )


async def resolve_observed_dependencies(
    tx: AsyncManagedTransaction, ip_uids: list[str], now: datetime
) -> list[dict[str, Any]]:
    """Join observed connections to an address with the listening service behind it.

    An agent that sees ``process -> 10.0.0.5:5432`` reports a DEPENDS_ON edge to the
    IPAddress CI with ``port``. Once some host reports that address on an interface and a
    service listening on that port (on the address or on all addresses), the client
    gets a DEPENDS_ON edge to that service, vouched for by the sources of the observation
    (``via`` names the address), so it ends with it. Runs for the addresses a report touched, from either side.

    The address is sought by ``CI.uid`` and the service reached through its host: with
    ``IPAddress {uid}`` or ``ListeningService {parent_uid, port}`` (no index of their own)
    the planner scanned every address and service of the estate, 1.6 s at 500 hosts.
    """
    result = await tx.run(
        """
        UNWIND $ip_uids AS ip_uid
        MATCH (ip:CI {uid: ip_uid}) WHERE ip:IPAddress
        MATCH (client:CI)-[seen:DEPENDS_ON]->(ip)
        WHERE seen.ended_at IS NULL AND seen.port IS NOT NULL
        MATCH (ip)<-[:HAS_IP]-(:Interface)<-[:HAS_INTERFACE]-(server:Host)
        MATCH (service:ListeningService)-[:RUNS_ON]->(server)
        WHERE service.parent_uid = server.uid AND service.port = seen.port
          AND service.address IN [ip.address, '0.0.0.0', '::']
        MERGE (client)-[r:DEPENDS_ON {port: seen.port}]->(service)
        ON CREATE SET r.first_seen = $now, r.sources = []
        WITH client, service, seen, ip, r, r.first_seen = $now OR r.ended_at IS NOT NULL AS started
        WITH client, service, seen, ip, r, started,
             CASE WHEN r.ended_at IS NULL THEN coalesce(r.sources, []) ELSE [] END AS before
        SET r.sources = before + [s IN coalesce(seen.sources, [seen.source]) WHERE s IS NOT NULL AND NOT s IN before],
            r.last_seen = $now, r.ended_at = null, r.via = ip.address
        WITH client, service, r WHERE started
        RETURN client.uid AS from_uid, service.uid AS to_uid, r.port AS port
        """,
        ip_uids=ip_uids,
        now=now,
    )
    return [dict(row) async for row in result]


async def host_interfaces_with_macs(tx: AsyncManagedTransaction, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """For rows of {port_uid, macs} (a switch's access port and the MACs it learnt): the one
    known host interface that has each MAC, as rows of {port_uid, nic_uid}.

    Only a physical interface (or one its source does not call virtual) of a host that is
    not retired counts; a MAC two hosts' interfaces share (cloned VMs) places nobody. The
    look-up is by ``Interface.mac``, indexed for the hosts' ``interface_keys`` identity rule.
    """
    result = await tx.run(
        """
        UNWIND $rows AS row
        UNWIND row.macs AS mac
        MATCH (nic:Interface {mac: mac}) WHERE nic.physical IS NULL OR nic.physical = true
        MATCH (host:CI {uid: nic.parent_uid}) WHERE host:Host AND coalesce(host.status, '') <> $retired
        WITH row.port_uid AS port_uid, mac, collect(DISTINCT nic.uid) AS nics
        WHERE size(nics) = 1 AND nics[0] <> port_uid
        RETURN port_uid, nics[0] AS nic_uid
        """,
        rows=rows,
        retired=CIStatus.RETIRED.value,
    )
    return [dict(row) async for row in result]


async def _bind(tx: AsyncManagedTransaction, token_id: str, binding: str, value: str) -> tuple[str | None, str | None]:
    """Bind an agent token's ``binding`` (a property: its host, its source) to ``value`` on first
    use, unless another active token holds that value; return (what the token is bound to,
    the other token's id)."""
    result = await tx.run(
        f"""
        MATCH (t:ApiToken {{token_id: $token_id}})
        OPTIONAL MATCH (o:ApiToken {{{quote(binding)}: $value}})
            WHERE o.token_id <> $token_id AND o.revoked_at IS NULL
        WITH t, collect(o.token_id)[0] AS holder
        SET t.{quote(binding)} = CASE WHEN holder IS NULL THEN coalesce(t.{quote(binding)}, $value)
                                  ELSE t.{quote(binding)} END
        RETURN t.{quote(binding)} AS bound, holder
        """,
        token_id=token_id,
        value=value,
    )
    row = await result.single(strict=True)
    return row["bound"], row["holder"]


async def bind_agent_token(tx: AsyncManagedTransaction, token_id: str, host_uid: str) -> tuple[str | None, str | None]:
    """The host an agent token reports for (bound at its first report)."""
    return await _bind(tx, token_id, "bound_ci_uid", host_uid)


async def bind_agent_source(tx: AsyncManagedTransaction, token_id: str, source: str) -> tuple[str | None, str | None]:
    """The agent source a token speaks for (bound at its first report)."""
    return await _bind(tx, token_id, "bound_source", source)


async def bind_inventory_source(
    tx: AsyncManagedTransaction, token_id: str, source: str
) -> tuple[str | None, str | None]:
    """The inventory source (``inventory:<DEVICEID>``: a FusionInventory or OCS agent on the
    same host) an agent token speaks for, beside its own agent source (bound at its first
    inventory)."""
    return await _bind(tx, token_id, "bound_inventory_source", source)


async def bound_host_of(tx: AsyncManagedTransaction, token_id: str) -> str | None:
    result = await tx.run("MATCH (t:ApiToken {token_id: $token_id}) RETURN t.bound_ci_uid AS bound", token_id=token_id)
    row = await result.single()
    return row["bound"] if row else None


async def lock_source_state(
    tx: AsyncManagedTransaction, source: str, report_id: str, now: datetime
) -> tuple[dict[str, Any], str | None]:
    """Write-lock a source's state node (made on first use); return what its last complete
    report left there (fingerprint, CIs, time; ``first``: no report of this source came
    before) and the stored summary of ``report_id`` if this source's report of that id was
    applied before (report ids are the sender's: another source may use the same one).
    Concurrent reports of one source wait here for each other.
    """
    result = await tx.run(
        """
        MERGE (s:SourceState {source: $source})
        WITH s, s.received_at IS NULL AS first
        SET s.received_at = $now
        WITH s, first OPTIONAL MATCH (r:IngestedReport {source: $source, report_id: $report_id})
        RETURN s {.*, first: first} AS state, r.summary AS summary, r.events AS events
        """,
        source=source,
        report_id=report_id,
        now=now,
    )
    row = await result.single(strict=True)
    stored = row["summary"]
    if stored is not None and row["events"] is not None:  # an unchanged report counts its events apart
        stored = json.dumps(json.loads(stored) | {"events": row["events"]})
    return dict(row["state"]), stored


async def save_source_state(tx: AsyncManagedTransaction, source: str, state: dict[str, Any]) -> None:
    await tx.run("MERGE (s:SourceState {source: $source}) SET s += $state", source=source, state=state)


async def apply_unchanged(
    tx: AsyncManagedTransaction,
    owned: list[str],
    seen: dict[str, Any],
    volatile: list[dict[str, Any]],
    report: dict[str, Any],
) -> list[str]:
    """An unchanged report in one statement: its volatile values (rows of {uid, props}),
    last_seen on the source's CIs, and its IngestedReport ({report_id, source, collected_at,
    summary}). A CI that had gone stale is active again, as a history event; returns those.

    One statement, not three: at a few hundred unchanged reports a second, each round trip
    through the driver counts.
    """
    result = await tx.run(
        """
        CREATE (r:IngestedReport {report_id: $report.report_id, source: $report.source,
                                  collected_at: $report.collected_at, received_at: $report.received_at,
                                  summary: $report.summary})
        WITH r
        MATCH (s:SourceState {source: $report.source})
        SET s.complete_at = $seen.last_seen
        WITH r
        CALL {
            UNWIND $volatile AS row
            MATCH (n:CI {uid: row.uid})
            SET n += row.props
        }
        CALL {
            UNWIND $owned AS uid
            MATCH (n:CI {uid: uid})
            SET n += $seen
            WITH n WHERE n.status = 'stale'
            SET n.status = 'active'
            CREATE (:Event {ci_uid: n.uid, kind: 'status', field: 'status', old: '"stale"', new: '"active"',
                            source: $report.source, report_id: $report.report_id, at: $report.received_at})
            RETURN collect(n.uid) AS reactivated
        }
        SET r.events = size(reactivated)
        RETURN reactivated
        """,
        owned=owned,
        seen=seen,
        volatile=volatile,
        report=report,
    )
    row = await result.single(strict=True)
    return list(row["reactivated"])
