"""Merging two CIs an engineer knows to be one thing, and splitting a wrong merge."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter
from neo4j import AsyncManagedTransaction

from cmdb_server.api.deps import CIUid, DriverDep, SchemaDep, SettingsDep
from cmdb_server.auth import Curator
from cmdb_server.ci_curation import manual_source
from cmdb_server.errors import Conflict, NotFound
from cmdb_server.identification import conflicting_keys
from cmdb_server.ingest import identity_label
from cmdb_server.models.ci import MergeRequest, MergeResult, SplitRequest, SplitResult
from cmdb_server.repositories import cis, merge
from schema.values import quoted

router = APIRouter(prefix="/cis", tags=["curation"])


@router.post("/{uid}/merge", response_model=MergeResult, summary="Merge another CI into this one")
async def merge_ci(
    uid: CIUid, body: MergeRequest, principal: Curator, driver: DriverDep, settings: SettingsDep, schema: SchemaDep
) -> MergeResult:
    """The other CI's relationships, dependent CIs and history come to this one; its uid
    resolves to this one from now on. Both must be of one class family (hosts, network
    devices...), and strong identifiers that differ (two machine-ids) are refused unless
    ``force``: identification would never have merged them."""
    db = settings.neo4j_database
    other = await cis.resolve_uid(driver, db, body.other)
    if other == uid:
        raise Conflict(f"{quoted(body.other)} is this CI already", field="other")
    found = await cis.get_many(driver, db, [uid, other])
    if uid not in found:
        raise NotFound(f"no CI with uid {quoted(uid)}", field="uid", location="path")
    if other not in found:
        raise NotFound(f"no CI with uid {quoted(body.other)}", field="other")
    (keep_class, keep), (other_class, theirs) = found[uid], found[other]
    mine, its = schema.classes[keep_class], schema.classes[other_class]
    if identity_label(mine, schema) != identity_label(its, schema):
        raise Conflict(
            f"{quoted(body.other)} is a {other_class}: it cannot be merged into {keep_class} {quoted(uid)}",
            field="other",
        )
    if keep.get("parent_uid") != theirs.get("parent_uid"):
        raise Conflict("dependent CIs merge only under one parent (merge their parents instead)", field="other")
    clash = conflicting_keys(mine, keep, theirs)
    if clash and not body.force:
        raise Conflict(
            f"they hold different values of {' + '.join(clash)}, a strong identifier: two things "
            "(set force to merge anyway)",
            field="other",
        )
    evidence = {"by_hand": principal.name, "reason": body.reason, "forced": bool(clash)}
    now = datetime.now(UTC)

    async def work(tx: AsyncManagedTransaction) -> merge.Merged:
        return await merge.merge_into(tx, schema, uid, other, now, manual_source(principal), evidence)

    async with driver.session(database=db) as session:
        merged = await session.execute_write(work)
    return MergeResult(uid=uid, merged=other, edges=merged.edges, children=merged.children)


@router.post("/{uid}/split", response_model=SplitResult, summary="Split a CI merged into this one back out")
async def split_ci(
    uid: CIUid, body: SplitRequest, principal: Curator, driver: DriverDep, settings: SettingsDep, schema: SchemaDep
) -> SplitResult:
    """The merged CI comes back with its uid, its attributes as they were at the merge, and
    the relationships and dependent CIs it brought; the two are marked distinct, so that
    identification never merges them again."""
    now = datetime.now(UTC)

    async def work(tx: AsyncManagedTransaction) -> dict[str, Any]:
        return await merge.split(tx, schema, uid, body.merged, now, manual_source(principal), body.reason)

    async with driver.session(database=settings.neo4j_database) as session:
        try:
            restored = await session.execute_write(work)
        except merge.MergeError as exc:
            raise Conflict(str(exc), field="merged") from None
    return SplitResult(uid=uid, restored=body.merged, edges=restored["edges"], children=restored["children"])
