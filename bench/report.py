"""Turn the benchmarks' JSON lines into docs/benchmarks.md, with the machine's description."""

from __future__ import annotations

import json
import os
import platform
import sys
from datetime import UTC, datetime
from pathlib import Path


def machine() -> str:
    cpu = "unknown CPU"
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            cpu = next(line.split(":", 1)[1].strip() for line in handle if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{os.cpu_count()} CPUs ({cpu}), {memory:.0f} GiB, {platform.system()} {platform.release()}"


def print_scaling(path: Path) -> None:
    """Each ingest and impact figure across the estate sizes of bench/scaling, one column per size."""
    lines = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.startswith("{")]
    commands = [line["command"].strip() for line in lines if "command" in line] or ["bench/scaling"]
    rows = [line for line in lines if "figure" in line]
    sizes = sorted({row["hosts"] for row in rows})
    figures = list(dict.fromkeys(row["figure"] for row in rows))
    cells = {(row["figure"], row["hosts"]): f"{row['value']:.3g} {row['unit']}" for row in rows}
    print("\n## Scaling curve\n")
    print("Produced by " + ", then ".join(f"`{c}`" for c in commands) + " (a fresh Neo4j per size).\n")
    print("| figure | " + " | ".join(f"{n:,} hosts" for n in sizes) + " |")
    print("|---|" + "---|" * len(sizes))
    for name in figures:
        print(f"| {name} | " + " | ".join(cells.get((name, n), "") for n in sizes) + " |")


def main() -> None:
    path, command = sys.argv[1], sys.argv[2]
    with open(path, encoding="utf-8") as handle:
        rows = [json.loads(line) for line in handle if line.startswith("{")]
    print("# Benchmarks\n")
    print(f"Produced by `{command}` on {datetime.now(UTC):%Y-%m-%d %H:%M} UTC.\n")
    print(f"Machine: {machine()}. Neo4j 5.26 Community (deploy/neo4j/start, 4 GiB heap and page")
    print("cache), cmdb-server with the workers the command names, clients on the same machine.\n")
    print("| figure | value | target | met |")
    print("|---|---|---|---|")
    for row in rows:
        target = tuple(row["target"]) if "target" in row else None  # bench.figures.emit puts it there
        met = ""
        if target:
            op, limit = target
            met = "yes" if (row["value"] >= limit if op == ">=" else row["value"] <= limit) else "**no**"
        detail = ", ".join(f"{k} {v:.1f}" for k, v in row.items() if k in ("p50", "p99"))
        value = f"{row['value']:.3g} {row['unit']}" + (f" ({detail})" if detail else "")
        scale = f" ({row['hosts']} hosts)" if "hosts" in row else ""
        goal = f"{target[0]} {target[1]:.3g}" if target else ""
        print(f"| {row['figure']}{scale} | {value} | {goal} | {met} |")

    if len(sys.argv) > 3 and Path(sys.argv[3]).exists():
        print_scaling(Path(sys.argv[3]))

    # The analysis, then the figures of the benchmarks run by hand (kept as written).
    for name in ("analysis.md", "measured.md"):
        written = Path(__file__).with_name(name)
        if written.exists():
            print()
            print(written.read_text(encoding="utf-8"), end="")


if __name__ == "__main__":
    main()
