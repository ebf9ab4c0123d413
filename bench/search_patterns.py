"""How long Neo4j takes to decide a ``where=name=*a*a*...*b`` search against a near miss (issue 14).

Against one CI named ``'a' * 60 + 'c'``, each star written as ``.*`` (as the server did
before) costs about x8 per star; the expression of cmdb_server.repositories.cis.wildcard_regex
stays flat. Usage: python -m bench.search_patterns [--uri bolt://...] [--stars 3 5 7]
(defaults: CMDB_BENCH_NEO4J_URI, as bench/with_server sets it).
"""

from __future__ import annotations

import argparse
import os
import re
import time

from neo4j import GraphDatabase

from bench.figures import emit
from cmdb_server.repositories.cis import wildcard_regex

NAME = "a" * 60 + "c"


def naive_regex(pattern: str) -> str:
    """The translation the server used before issue 14: one ``.*`` per star."""
    return "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--uri", default=os.environ.get("CMDB_BENCH_NEO4J_URI", "bolt://127.0.0.1:7687"))
    parser.add_argument("--stars", type=int, nargs="+", default=[3, 5, 7])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with GraphDatabase.driver(args.uri) as driver:
        driver.execute_query("CREATE (:BenchPattern {name: $name})", name=NAME)
        try:
            for stars in args.stars:
                pattern = "*a" * (stars - 1) + "*b"
                for label, regex in (("as .* per star", naive_regex(pattern)), ("linear", wildcard_regex(pattern))):
                    times = []
                    for _ in range(args.runs):
                        started = time.perf_counter()
                        records, _, _ = driver.execute_query(
                            "MATCH (n:BenchPattern) WHERE n.name =~ $regex RETURN count(n) AS n", regex=regex
                        )
                        times.append(time.perf_counter() - started)
                        assert records[0]["n"] == 0
                    emit(f"search where=name={pattern} against a 61-character near miss, {label}", min(times), "s")
        finally:
            driver.execute_query("MATCH (n:BenchPattern) DELETE n")


if __name__ == "__main__":
    main()
