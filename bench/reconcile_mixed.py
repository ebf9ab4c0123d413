"""Reconciliation under load: every host reported by the agent, SSH and SNMP at once, in a random order.

    bench/with_server -- .venv/bin/python -m bench.reconcile_mixed --hosts 500 --concurrency 8 [--seed N]

For each host of the synthetic estate (bench/estate.py), three reports: the agent's
(``host_report``), SSH discovery's (``ssh_report``: source ``collector@<address>``, no DMI
serial, vendor or UUID, the SSH host key) and SNMP discovery's (``snmp_report``: a LinuxHost
known by host name and address, its interfaces with the agent's names and MACs, its
address; no packages). All 3 x N reports go, shuffled by a seed (printed; ``--seed``
repeats an order), from concurrent clients, gzipped before the clock starts as in
bench.ingest_impact, with the benchmark's admin token, into a fresh graph (no warm-up:
every report counts for the checks).

Then it asks Neo4j directly (``--neo4j-uri``; bench/with_server gives it) whether the
server made one CI per real thing and one edge per real relation:

- Host CIs: exactly N, each seen by the agent, SSH and SNMP, no machine-id on two CIs;
- no duplicate relationship: two edges with the same start, type, end and key properties
  (``port`` of DEPENDS_ON, the only key property of the schema);
- every INSTALLED edge vouched for by both the agent and SSH (``sources``), none missing;
- no two Interfaces of one host with one name, no two listening services or software
  instances of one host with one identity;
- the agent's os_name held against SNMP's sysDescr (precedence), whichever came first;
- every observed connection to another host joined to the service listening there.

Prints one JSON line per figure (bench/figures.py): reports/s overall and per kind (each
kind's reports over the whole mixed run's wall time), p50/p95/p99 latency per kind, and
each check with its target (0 duplicates), and the transactions the server retried (its
log: deadlocks between reports are retried, not errors). Server errors (4xx/5xx) are printed on stderr
with their status, body, kind, host and position in the order, beside the other reports of
that host. Exits 1 if any report failed or any check did not hold.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import random
import re
import secrets
import sys
import time
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
from neo4j import GraphDatabase

from bench.estate import Host, host_report, make_hosts, snmp_report, ssh_report
from bench.figures import Target, emit
from bench.ingest_impact import percentiles

KINDS = ("agent", "ssh", "snmp")
NONE: Target = ("<=", 0.0)


@dataclass
class Sent:
    """One report of the run: what it was, where in the order, and how the server answered."""

    position: int
    kind: str
    host: int
    body: bytes
    started: float = 0.0
    ended: float = 0.0
    status: int = 0
    answer: str = ""


def prepare(hosts: list[Host], seed: int, now: datetime) -> list[Sent]:
    """Every host's three reports, gzipped, in the seed's order."""
    made: list[tuple[str, int, dict[str, Any]]] = []
    for host in hosts:
        made.append(("agent", host.index, host_report(host, hosts, now=now)))
        made.append(("ssh", host.index, ssh_report(host, hosts, now=now)))
        made.append(("snmp", host.index, snmp_report(host, now=now)))
    random.Random(seed).shuffle(made)
    return [
        Sent(position, kind, index, gzip.compress(json.dumps(report).encode("utf-8"), compresslevel=6))
        for position, (kind, index, report) in enumerate(made)
    ]


def send_all(client: httpx.Client, items: list[Sent], concurrency: int) -> float:
    """Post every report from ``concurrency`` clients, in order; keep each answer. Returns the wall time."""
    headers = {"Content-Type": "application/json", "Content-Encoding": "gzip"}
    origin = time.perf_counter()

    def send(item: Sent) -> None:
        item.started = time.perf_counter() - origin
        try:
            response = client.post("/api/v1/reports", content=item.body, headers=headers)
            item.status, item.answer = response.status_code, response.text
        except httpx.HTTPError as exc:  # no answer at all: say so, as a status 0
            item.status, item.answer = 0, f"{type(exc).__name__}: {exc}"
        item.ended = time.perf_counter() - origin

    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        list(pool.map(send, items))
    return time.perf_counter() - origin


def describe_errors(items: list[Sent], hosts: list[Host]) -> None:
    """Each failed report on stderr, with the host's other reports: when they ran and how they ended."""
    by_host: dict[int, list[Sent]] = defaultdict(list)
    for item in items:
        by_host[item.host].append(item)
    for item in items:
        if 200 <= item.status < 300:
            continue
        print(
            f"reconcile_mixed: ERROR {item.status} {item.kind} report of {hosts[item.host].hostname} "
            f"(position {item.position}, {item.started:.2f}-{item.ended:.2f} s): {item.answer[:2000]}",
            file=sys.stderr,
        )
        for other in sorted(by_host[item.host], key=lambda s: s.position):
            if other is not item:
                print(
                    f"    same host: {other.kind} at position {other.position}, "
                    f"{other.started:.2f}-{other.ended:.2f} s, status {other.status}",
                    file=sys.stderr,
                )


def merges_done(items: list[Sent]) -> int:
    """How many CIs the server merged into another while applying the run (from its answers)."""
    merged = 0
    for item in items:
        if item.status != 200:
            continue
        for explained in json.loads(item.answer).get("identification", {}).values():
            merged += len(explained.get("merged", []))
    return merged


# Each check: (figure, Cypher returning one row with ``value`` and optionally ``detail``).
DUPLICATE_EDGES = """
MATCH (a)-[r]->(b)
WITH a, type(r) AS t, b, r.port AS port, count(*) AS n WHERE n > 1
WITH t, count(*) AS groups, sum(n - 1) AS extra
RETURN sum(extra) AS value, collect({type: t, groups: groups, extra_edges: extra}) AS detail
"""
SHARED_MACHINE_IDS = """
MATCH (c:CI) WHERE c.machine_id IS NOT NULL
WITH c.machine_id AS machine_id, count(*) AS n WHERE n > 1
RETURN count(*) AS value, collect(machine_id)[..10] AS detail
"""
DUPLICATE_INTERFACES = """
MATCH (h:Host)-[:HAS_INTERFACE]->(i:Interface)
WITH h, i.name AS name, count(DISTINCT i) AS n WHERE n > 1
RETURN count(*) AS value, collect({host: h.name, interface: name, copies: n})[..10] AS detail
"""
DUPLICATE_PROGRAMS = """
MATCH (x:CI)-[:RUNS_ON]->(h:Host) WHERE x:ListeningService OR x:SoftwareInstance
WITH h, x.class AS class, [x.protocol, x.address, x.port, x.unit, x.listens] AS identity, count(DISTINCT x) AS n
WHERE n > 1
RETURN count(*) AS value, collect({host: h.name, class: class, identity: identity, copies: n})[..10] AS detail
"""
HOSTS = """
MATCH (h:Host)
RETURN count(h) AS value,
       count(CASE WHEN h._seen_agent IS NULL OR h._seen_ssh IS NULL OR h._seen_snmp IS NULL THEN 1 END) AS partial,
       collect(CASE WHEN h._seen_agent IS NULL OR h._seen_ssh IS NULL OR h._seen_snmp IS NULL
               THEN {name: h.name, agent: h._seen_agent IS NOT NULL, ssh: h._seen_ssh IS NOT NULL,
                     snmp: h._seen_snmp IS NOT NULL} END)[..10] AS detail,
       count(CASE WHEN h.os_name <> $agent_os THEN 1 END) AS other_os,
       collect(CASE WHEN h.os_name <> $agent_os THEN {name: h.name, os_name: h.os_name} END)[..5] AS os_detail
"""
DERIVED = """
MATCH (ch:Host)<-[:RUNS_ON]-(:SoftwareInstance)-[r:DEPENDS_ON]->(:ListeningService)-[:RUNS_ON]->(sh:Host)
WHERE r.ended_at IS NULL
RETURN ch.name AS client, sh.name AS server, r.port AS port,
       any(s IN r.sources WHERE s STARTS WITH 'agent:') AND any(s IN r.sources WHERE s STARTS WITH 'ssh:') AS both
"""
INSTALLED = """
MATCH (:Host)-[r:INSTALLED]->(:SoftwarePackage)
WITH r, any(s IN coalesce(r.sources, []) WHERE s STARTS WITH 'agent:') AS agent,
        any(s IN coalesce(r.sources, []) WHERE s STARTS WITH 'ssh:') AS ssh
RETURN count(r) AS value, count(CASE WHEN agent AND ssh THEN 1 END) AS both,
       count(CASE WHEN r.ended_at IS NOT NULL THEN 1 END) AS ended
"""


def check(uri: str, hosts: list[Host], size: dict[str, Any]) -> bool:
    """Ask Neo4j whether each real thing is one CI and each real relation one edge; emit the figures."""
    expected_installed = sum(len(h.packages) for h in hosts)
    held = True

    def figure(name: str, value: float, unit: str, target: Target | None = None, **extra: Any) -> None:
        nonlocal held
        emit(name, value, unit, target, **size, **extra)
        if target is not None and not (value >= target[1] if target[0] == ">=" else value <= target[1]):
            held = False
            print(f"reconcile_mixed: CHECK FAILED: {name}: {value} {unit} {extra}", file=sys.stderr)

    # A check's property may exist on no edge yet (ended_at): no notification for that.
    with GraphDatabase.driver(uri, auth=None, notifications_min_severity="OFF") as driver:

        def one(query: str, **params: Any) -> dict[str, Any]:
            records, _, _ = driver.execute_query(query, params)
            return dict(records[0])

        row = one(HOSTS, agent_os="Debian GNU/Linux")
        count = row["value"]
        figure("reconcile, mixed: Host CIs", count, "CIs", expected=len(hosts))
        figure("reconcile, mixed: Host CIs beyond or short of one per host", abs(count - len(hosts)), "CIs", NONE)
        figure(
            "reconcile, mixed: Host CIs not seen by all of agent, SSH and SNMP",
            row["partial"],
            "CIs",
            NONE,
            detail=row["detail"],
        )
        figure(
            "reconcile, mixed: Host CIs whose os_name is not the agent's (precedence)",
            row["other_os"],
            "CIs",
            NONE,
            detail=row["os_detail"],
        )
        # Each of these must find nothing: one real thing is one CI, one relation one edge.
        for name, query, unit in (
            ("machine-ids held by more than one CI", SHARED_MACHINE_IDS, "ids"),
            ("duplicate relationships (same start, type, end, port)", DUPLICATE_EDGES, "edges"),
            ("duplicate Interfaces (same host and name)", DUPLICATE_INTERFACES, "groups"),
            ("duplicate ListeningService/SoftwareInstance (same host and identity)", DUPLICATE_PROGRAMS, "groups"),
        ):
            row = one(query)
            figure(f"reconcile, mixed: {name}", row["value"], unit, NONE, detail=row["detail"])
        row = one(INSTALLED)
        figure(
            "reconcile, mixed: INSTALLED edges with both an agent and an SSH source",
            row["both"],
            "edges",
            expected=expected_installed,
            total=row["value"],
            ended=row["ended"],
        )
        figure(
            "reconcile, mixed: INSTALLED edges missing the agent or SSH source, or not one per package",
            (row["value"] - row["both"]) + abs(expected_installed - row["value"]),
            "edges",
            NONE,
        )
        # A connection to another host's address becomes an edge to the service listening there,
        # from whichever side's report comes last: the order of the run must not lose one.
        expected = {(h.hostname, hosts[other].hostname, port) for h in hosts for other, port in h.peers}
        records, _, _ = driver.execute_query(DERIVED)
        found = {(r["client"], r["server"], r["port"]) for r in records}
        missing = sorted(expected - found)
        figure(
            "reconcile, mixed: observed connections not joined to the listening service (or joined wrongly)",
            len(missing) + len(found - expected),
            "edges",
            NONE,
            expected=len(expected),
            missing=missing[:10],
            unexpected=sorted(found - expected)[:10],
        )
        figure(
            "reconcile, mixed: joined connections not vouched for by both the agent and SSH",
            sum(1 for r in records if not r["both"]),
            "edges",
            NONE,
        )
    return held


def retried_transactions(log: str | None) -> dict[str, int]:
    """Transactions the server's Neo4j driver retried (deadlocks...), by Neo4j code, from the server's log."""
    if not log or not os.path.exists(log):
        return {}
    codes: Counter[str] = Counter()
    with open(log, encoding="utf-8", errors="replace") as handle:
        for line in handle:
            if line.startswith("Transaction failed and will be retried"):
                match = re.search(r"neo4j_code: ([\w.]+)", line)
                codes[match.group(1) if match else "unknown"] += 1
    return dict(codes)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--url", default=os.environ.get("CMDB_BENCH_URL"), help="default: $CMDB_BENCH_URL")
    parser.add_argument("--token", default=os.environ.get("CMDB_BENCH_TOKEN"), help="default: $CMDB_BENCH_TOKEN")
    parser.add_argument(
        "--neo4j-uri", default=os.environ.get("CMDB_BENCH_NEO4J_URI"), help="default: $CMDB_BENCH_NEO4J_URI"
    )
    parser.add_argument(
        "--server-log", default=os.environ.get("CMDB_BENCH_SERVER_LOG"), help="default: $CMDB_BENCH_SERVER_LOG"
    )
    parser.add_argument("--hosts", type=int, default=500)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--seed", type=int, default=None, help="order of the reports (default: a new one, printed)")
    parser.add_argument("--dump", help="write each report's kind, host, position, times and status here (JSON lines)")
    args = parser.parse_args()
    for name in ("url", "token", "neo4j_uri"):
        if not getattr(args, name):
            parser.error(f"--{name.replace('_', '-')} is needed (run under bench/with_server, which sets it)")
    seed = args.seed if args.seed is not None else secrets.randbelow(2**31)
    print(f"reconcile_mixed: {args.hosts} hosts x {len(KINDS)} reports, order seed {seed}", file=sys.stderr)
    size = {"hosts": args.hosts, "concurrency": args.concurrency, "seed": seed}

    hosts = make_hosts(args.hosts)
    items = prepare(hosts, seed, datetime.now(UTC))
    first = ", ".join(f"{s.kind}:{hosts[s.host].hostname}" for s in items[:6])
    print(f"reconcile_mixed: order begins {first}, ...", file=sys.stderr)
    client = httpx.Client(
        base_url=args.url,
        headers={"Authorization": f"Bearer {args.token}"},
        timeout=600,
        limits=httpx.Limits(max_connections=args.concurrency * 2),
    )
    with client:
        elapsed = send_all(client, items, args.concurrency)

    if args.dump:
        with open(args.dump, "w", encoding="utf-8") as out:
            for s in items:
                row = {k: getattr(s, k) for k in ("position", "kind", "host", "started", "ended", "status")}
                out.write(json.dumps(row | {"answer": s.answer if s.status != 200 else None}) + "\n")
    statuses = Counter((s.kind, s.status) for s in items)
    failed = [s for s in items if not 200 <= s.status < 300]
    emit("reconcile, mixed: all reports (agent, SSH, SNMP shuffled)", len(items) / elapsed, "reports/s", **size)
    for kind in KINDS:
        mine = [s for s in items if s.kind == kind]
        emit(f"reconcile, mixed: {kind} reports (share of the mixed run)", len(mine) / elapsed, "reports/s", **size)
        stats = percentiles([s.ended - s.started for s in mine])
        emit(f"reconcile, mixed: {kind} report latency", stats["p95"], "ms p95", None, **size, **stats)
    emit(
        "reconcile, mixed: reports answered 4xx/5xx",
        len(failed),
        "reports",
        NONE,
        **size,
        statuses={f"{kind} {status}": n for (kind, status), n in sorted(statuses.items())},
    )
    emit("reconcile, mixed: CIs merged into another during the run", merges_done(items), "merges", **size)
    retried = retried_transactions(args.server_log)
    if args.server_log:
        emit(
            "reconcile, mixed: transactions the server retried", sum(retried.values()), "retries", **size, codes=retried
        )
    if failed:
        describe_errors(items, hosts)
    held = check(args.neo4j_uri, hosts, size)
    if failed or not held:
        print(
            f"reconcile_mixed: FAILED ({len(failed)} reports refused, checks {'held' if held else 'failed'}); "
            f"repeat this order with --seed {seed}",
            file=sys.stderr,
        )
        sys.exit(1)


if __name__ == "__main__":
    main()
