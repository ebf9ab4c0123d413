"""Hand edits of a CI: attributes, locks, tags, retire/delete. The API's curation and tag
routes and the CI page's forms both call these, so a person gets the same checks either way."""

from __future__ import annotations

import re
from typing import Any

from neo4j import AsyncDriver

from cmdb_server.auth import Principal
from cmdb_server.errors import Conflict, Forbidden, NotFound, Unprocessable
from cmdb_server.models.ci import CIPublic
from cmdb_server.repositories import cis, curation
from schema import AttributeValueError, CIStatus, Role, Schema, check_attributes
from schema.values import quoted

TAG = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:/-]{0,63}")


def manual_source(principal: Principal) -> str:
    return f"manual:{principal.name}"


async def existing(driver: AsyncDriver, database: str, schema: Schema, uid: str) -> cis.CIRecord:
    record = await cis.get_ci(driver, database, schema, uid)
    if record is None:
        raise NotFound(f"no CI with uid {quoted(uid)}", field="uid", location="path")
    return record


async def current(driver: AsyncDriver, database: str, schema: Schema, uid: str) -> CIPublic:
    return CIPublic.from_record(await existing(driver, database, schema, uid))  # 404 if deleted meanwhile


async def edit_attributes(
    driver: AsyncDriver, database: str, schema: Schema, uid: str, values: dict[str, Any], principal: Principal
) -> CIPublic:
    """Values set by hand hold against discovery and imports for the stale window after the
    edit (source precedence); a lockable attribute is locked. The keys of a unique identity
    rule (a machine-id, a serial and vendor, an application's name) cannot change: 422. Other
    values that help identify a CI (a host name, an FQDN) can, like any attribute."""
    record = await existing(driver, database, schema, uid)
    ci_class = schema.classes[record.ci_class]
    try:
        attributes = check_attributes(ci_class, values)
    except AttributeValueError as exc:
        raise Unprocessable(exc.message, field=f"attributes.{exc.field}") from None
    keys = {k for rule in ci_class.identity for k in rule.keys if rule.unique}
    for key in sorted(keys & set(attributes)):
        if attributes[key] != record.attributes.get(key):
            raise Unprocessable(
                f"{key} identifies this {ci_class.name} and cannot be edited", field=f"attributes.{key}"
            )
    await curation.update_attributes(
        driver, database, ci_class, uid, record.properties, attributes, manual_source(principal), principal.name
    )
    return await current(driver, database, schema, uid)


async def _lockable(driver: AsyncDriver, database: str, schema: Schema, uid: str, attribute: str) -> cis.CIRecord:
    record = await existing(driver, database, schema, uid)
    ci_class = schema.classes[record.ci_class]
    if attribute not in ci_class.manual_locks:
        lockable = ", ".join(ci_class.manual_locks) or "none"
        raise Unprocessable(
            f"{quoted(attribute)} is not a lockable attribute of {ci_class.name} (lockable: {lockable})",
            field="attribute",
            location="path",
        )
    return record


async def lock(
    driver: AsyncDriver, database: str, schema: Schema, uid: str, attribute: str, principal: Principal
) -> CIPublic:
    """Keep the current value whatever discovery reports; what it reports otherwise shows as drift."""
    record = await _lockable(driver, database, schema, uid, attribute)
    if attribute in record.locks:
        raise Conflict(f"{attribute} is locked already (by {record.locks[attribute]})", field="attribute")
    await curation.lock_attribute(
        driver, database, uid, record.properties, attribute, manual_source(principal), principal.name
    )
    return await current(driver, database, schema, uid)


async def unlock(
    driver: AsyncDriver, database: str, schema: Schema, uid: str, attribute: str, principal: Principal
) -> CIPublic:
    """Discovery owns the attribute again; the value it saw while locked (the drift) is taken now."""
    record = await _lockable(driver, database, schema, uid, attribute)
    if attribute not in record.locks:
        raise NotFound(f"{attribute} is not locked", field="attribute", location="path")
    await curation.unlock_attribute(driver, database, uid, record.properties, attribute, manual_source(principal))
    return await current(driver, database, schema, uid)


async def retire_or_delete(
    driver: AsyncDriver, database: str, schema: Schema, uid: str, reason: str, hard: bool, principal: Principal
) -> dict[str, Any]:
    """A delete retires: the CI stays in the record with status retired. ``hard`` removes it (admins)."""
    if hard and principal.role is not Role.ADMIN:
        raise Forbidden("only an admin may delete a CI; retire it instead (without hard=true)", field="hard")
    if not reason.strip() or len(reason) > 1000:
        raise Unprocessable("say why, in at most 1000 characters (kept in the history)", field="reason")
    record = await existing(driver, database, schema, uid)
    source = manual_source(principal)
    if hard:
        removed = await curation.delete_ci(driver, database, schema, uid, reason, source)
        return {"uid": uid, "deleted": True, "cis_removed": removed["cis"], "edges_removed": removed["edges"]}
    if record.status is CIStatus.RETIRED:
        raise Conflict(f"CI {uid} is retired already", field="uid")
    await curation.retire_ci(driver, database, uid, record.status.value, reason, source)
    return {"uid": uid, "deleted": False, "status": CIStatus.RETIRED.value}


def checked_tag(tag: str, location: str = "path") -> str:
    if not TAG.fullmatch(tag):
        raise Unprocessable(
            "a tag is 1-64 letters, digits and . _ : / - (starting with a letter or digit)",
            field="tag",
            location=location,
        )
    return tag


async def set_tag(
    driver: AsyncDriver, database: str, uid: str, tag: str, present: bool, principal: Principal, location: str = "path"
) -> bool:
    """Add or remove a tag; whether that changed anything (404 for no such CI)."""
    changed = await curation.set_tag(
        driver, database, uid, checked_tag(tag, location), present, manual_source(principal)
    )
    if changed is None:
        raise NotFound(f"no CI with uid {quoted(uid)}", field="uid", location="path")
    return changed
