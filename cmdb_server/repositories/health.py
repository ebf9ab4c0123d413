"""The smallest question the database can answer: is it there and serving ours?"""

from __future__ import annotations

from neo4j import READ_ACCESS, AsyncDriver

from cmdb_server.db import read_query
from schema import CIStatus


async def ping(driver: AsyncDriver, database: str) -> None:
    """Run ``RETURN 1`` once, in an auto-commit query: unlike ``execute_query`` the driver
    does not retry it, so an absent database is known at once (the caller bounds the wait)."""
    async with driver.session(database=database, default_access_mode=READ_ACCESS) as session:
        result = await session.run("RETURN 1 AS ok")
        await result.consume()


async def stale_by_class(driver: AsyncDriver, database: str) -> dict[str, int]:
    """How many CIs are stale, by class (the status index: cheap enough for every scrape)."""
    records, _, _ = await driver.execute_query(
        read_query("MATCH (n:CI) WHERE n.status = $stale RETURN n.class AS class, count(n) AS n"),
        stale=CIStatus.STALE.value,
        database_=database,
        routing_="r",
    )
    return {r["class"]: r["n"] for r in records}
