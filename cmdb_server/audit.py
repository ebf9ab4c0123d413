"""Changes discovery recorded that no authorised change covers (ISO/IEC 20000 evidence),
for the API's report and the web UI's home alike."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from neo4j import AsyncDriver

from cmdb_server.itsm import authorised_by, is_discovered_change
from cmdb_server.reconcile import decode_event
from cmdb_server.repositories import records
from schema.itsm import CHANGE_AUTHORISED


async def unauthorised_changes(driver: AsyncDriver, database: str, since: datetime) -> list[dict[str, Any]]:
    """A change to a CI is authorised when an approved (or implementing, implemented,
    closed) change targets the CI or its parent and its planned window covers the time."""
    authorising = await records.authorising_changes(driver, database, sorted(CHANGE_AUTHORISED))
    items = []
    for row in await records.discovered_changes(driver, database, since):
        event = decode_event(row["event"])
        if not is_discovered_change(event):
            continue  # a source learning what another knew, or taking over an attribute by precedence
        scope = {row["uid"], row["parent_uid"]} - {None}
        if authorised_by(event["at"], scope, authorising):
            continue
        items.append(
            {
                "ci": {"uid": row["uid"], "name": row["name"], "class": row["class"]},
                "at": event["at"],
                "kind": event["kind"],
                "field": event.get("field"),
                "old": event["old"],
                "new": event["new"],
                "source": event["source"],
                "report_id": event.get("report_id"),
            }
        )
    return items
