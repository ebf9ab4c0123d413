"""Cypher of the accuracy series: one ``AccuracyPoint`` node per day, replaced when recorded again."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from neo4j import AsyncDriver

from cmdb_server.db import read_query
from cmdb_server.reconcile import native
from schema.constraints import ACCURACY_LABEL


async def store_point(driver: AsyncDriver, database: str, point: dict[str, Any], recorded_at: datetime) -> None:
    """Keep the day's point, replacing one recorded earlier that day (the latest count wins)."""
    await driver.execute_query(
        f"MERGE (p:{ACCURACY_LABEL} {{day: $point.day}}) SET p = $point, p.recorded_at = $recorded_at",
        point=point,
        recorded_at=recorded_at,
        database_=database,
    )


async def points_between(driver: AsyncDriver, database: str, start: date, end: date) -> list[dict[str, Any]]:
    """The recorded points of the days from ``start`` to ``end`` (both included), oldest first."""
    records, _, _ = await driver.execute_query(
        read_query(
            f"MATCH (p:{ACCURACY_LABEL}) WHERE p.day >= $start AND p.day <= $end "
            "RETURN properties(p) AS p ORDER BY p.day"
        ),
        start=start,
        end=end,
        database_=database,
        routing_="r",
    )
    return [{k: native(v) for k, v in r["p"].items()} for r in records]


async def has_point(driver: AsyncDriver, database: str, day: date) -> bool:
    records, _, _ = await driver.execute_query(
        read_query(f"MATCH (p:{ACCURACY_LABEL} {{day: $day}}) RETURN count(p) > 0 AS found"),
        day=day,
        database_=database,
        routing_="r",
    )
    return bool(records[0]["found"])
