"""The smallest question the database can answer: is it there and serving ours?"""

from __future__ import annotations

from neo4j import READ_ACCESS, AsyncDriver


async def ping(driver: AsyncDriver, database: str) -> None:
    """Run ``RETURN 1`` once, in an auto-commit query: unlike ``execute_query`` the driver
    does not retry it, so an absent database is known at once (the caller bounds the wait)."""
    async with driver.session(database=database, default_access_mode=READ_ACCESS) as session:
        result = await session.run("RETURN 1 AS ok")
        await result.consume()
