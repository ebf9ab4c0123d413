"""One figure of a benchmark: a JSON line that bench.report turns into a row of docs/benchmarks.md."""

from __future__ import annotations

import json
from typing import Any

Target = tuple[str, float]  # (">=" or "<=", limit)


def emit(name: str, value: float, unit: str, target: Target | None = None, **extra: Any) -> None:
    """Print a figure; ``target`` is what the issue asks of it, ``extra`` any detail (p50, hosts...)."""
    row: dict[str, Any] = {"figure": name, "value": round(value, 3), "unit": unit, **extra}
    if target is not None:
        row["target"] = list(target)
    print(json.dumps(row), flush=True)
