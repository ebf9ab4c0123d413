"""Leases on background jobs, so that several server processes on one graph run each job
once, not once each: ``(:JobLease {name, holder, expires_at})``.

Times are the database's (``datetime()``), so the replicas' clocks need not agree.
"""

from __future__ import annotations

from neo4j import AsyncDriver


async def acquire(driver: AsyncDriver, database: str, name: str, holder: str, ttl_seconds: float) -> bool:
    """Take or renew the lease ``name`` for ``ttl_seconds``; True when ``holder`` has it.

    It is taken only when free, expired or already ``holder``'s. The write lock is taken
    before the holder is read (setting ``_lock``; the lock lasts until commit), so two
    processes asking at once do not both win; the uniqueness constraint on ``name`` makes
    the first ``MERGE`` create one node.
    """
    records, _, _ = await driver.execute_query(
        """
        MERGE (l:JobLease {name: $name})
        SET l._lock = true
        REMOVE l._lock
        WITH l, datetime() AS now
        WITH l, now WHERE l.holder IS NULL OR l.holder = $holder OR l.expires_at < now
        SET l.holder = $holder, l.expires_at = now + duration({milliseconds: $ttl_ms})
        RETURN count(l) AS taken
        """,
        name=name,
        holder=holder,
        ttl_ms=round(ttl_seconds * 1000),
        database_=database,
    )
    return bool(records and records[0]["taken"])


async def release(driver: AsyncDriver, database: str, name: str, holder: str) -> None:
    """Give the lease up if ``holder`` has it (a process stopping), so another takes the job
    at its next turn rather than when the lease expires."""
    await driver.execute_query(
        "MATCH (l:JobLease {name: $name, holder: $holder}) SET l.expires_at = datetime() - duration('PT1S')",
        name=name,
        holder=holder,
        database_=database,
    )


async def holders(driver: AsyncDriver, database: str) -> dict[str, str]:
    """Who holds which lease (expired or not), for tests and operators."""
    records, _, _ = await driver.execute_query(
        "MATCH (l:JobLease) RETURN l.name AS name, l.holder AS holder", database_=database, routing_="r"
    )
    return {r["name"]: r["holder"] for r in records}
