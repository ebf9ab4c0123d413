"""CIs and relationships declared by hand: services, applications, and how they hang together."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from neo4j.exceptions import ConstraintError

from cmdb_server import ci_curation
from cmdb_server.api.deps import CIUid, DriverDep, SchemaDep, SettingsDep
from cmdb_server.auth import Curator
from cmdb_server.ci_curation import manual_source
from cmdb_server.errors import Conflict, NotFound, Unprocessable
from cmdb_server.models.ci import (
    CICreate,
    CIDeleted,
    CIPublic,
    CIUpdate,
    RelationshipCreate,
    RelationshipCreated,
    RelationshipEnded,
)
from cmdb_server.repositories import cis
from schema import AttributeValueError, check_attributes
from schema.values import check_value, quoted

router = APIRouter(tags=["curation"])


@router.patch("/cis/{uid}", response_model=CIPublic, summary="Edit a CI's attributes by hand")
async def update_ci(
    uid: CIUid,
    body: CIUpdate,
    principal: Curator,
    driver: DriverDep,
    settings: SettingsDep,
    schema: SchemaDep,
) -> CIPublic:
    """Values set by hand hold against discovery and imports for the stale window after the
    edit; a lockable attribute is locked; unique identity keys cannot change (422)."""
    return await ci_curation.edit_attributes(driver, settings.neo4j_database, schema, uid, body.attributes, principal)


@router.put("/cis/{uid}/locks/{attribute}", response_model=CIPublic, summary="Lock an attribute against discovery")
async def lock_attribute(
    uid: CIUid,
    attribute: Annotated[str, Path(min_length=1, max_length=100)],
    principal: Curator,
    driver: DriverDep,
    settings: SettingsDep,
    schema: SchemaDep,
) -> CIPublic:
    """Keep the current value whatever discovery reports; what it reports otherwise shows as drift."""
    return await ci_curation.lock(driver, settings.neo4j_database, schema, uid, attribute, principal)


@router.delete("/cis/{uid}/locks/{attribute}", response_model=CIPublic, summary="Unlock an attribute")
async def unlock_attribute(
    uid: CIUid,
    attribute: Annotated[str, Path(min_length=1, max_length=100)],
    principal: Curator,
    driver: DriverDep,
    settings: SettingsDep,
    schema: SchemaDep,
) -> CIPublic:
    """Discovery owns the attribute again; the value it saw while locked (the drift) is taken now."""
    return await ci_curation.unlock(driver, settings.neo4j_database, schema, uid, attribute, principal)


@router.delete(
    "/cis/{uid}",
    summary="Retire a CI (or, for an admin, delete it)",
    response_model=CIDeleted,
    response_model_exclude_none=True,
)
async def delete_ci(
    uid: CIUid,
    principal: Curator,
    driver: DriverDep,
    settings: SettingsDep,
    schema: SchemaDep,
    reason: Annotated[str, Query(min_length=1, max_length=1000, description="Why; kept in the history.")],
    hard: Annotated[bool, Query(description="Remove the node and its edges (admin only); the history stays.")] = False,
) -> dict[str, Any]:
    """A delete retires: the CI stays in the record with status retired. ``hard=true`` removes it."""
    return await ci_curation.retire_or_delete(driver, settings.neo4j_database, schema, uid, reason, hard, principal)


@router.post("/cis", status_code=201, response_model=CIPublic, summary="Declare a CI by hand")
async def create_ci(
    body: CICreate, principal: Curator, driver: DriverDep, settings: SettingsDep, schema: SchemaDep
) -> CIPublic:
    ci_class = schema.classes.get(body.class_name)
    if ci_class is None or ci_class.abstract:
        known = ", ".join(sorted(c.name for c in schema.concrete_classes()))
        raise Unprocessable(f"{quoted(body.class_name)} is not a CI class; use one of {known}", field="class")
    try:
        attributes = check_attributes(ci_class, body.attributes)
    except AttributeValueError as exc:
        raise Unprocessable(exc.message, field=f"attributes.{exc.field}") from None
    if not any(all(attributes.get(k) is not None for k in rule.keys) for rule in ci_class.record_rules):
        rules = " or ".join("[" + ", ".join(rule.keys) + "]" for rule in ci_class.record_rules)
        raise Unprocessable(f"missing identity keys: a {ci_class.name} needs {rules}", field="attributes")
    if ci_class.dependent and body.parent_uid is None:
        raise Unprocessable(f"a {ci_class.name} needs parent_uid", field="parent_uid")
    if not ci_class.dependent and body.parent_uid is not None:
        raise Unprocessable(f"a {ci_class.name} takes no parent", field="parent_uid")
    try:
        record = await cis.create_ci(
            driver,
            settings.neo4j_database,
            schema,
            ci_class,
            attributes,
            parent_uid=body.parent_uid,
            source=manual_source(principal),
        )
    except cis.ParentNotFoundError as exc:
        raise NotFound(str(exc), field="parent_uid") from None
    except ConstraintError:
        raise Conflict(
            f"a {ci_class.name} with these identity keys exists already; find it with GET /api/v1/cis",
            field="attributes",
        ) from None
    return CIPublic.from_record(record)


async def _checked_ends(
    body: RelationshipCreate, driver: DriverDep, database: str, schema: SchemaDep
) -> tuple[Any, dict[str, Any]]:
    rel_type = schema.relationships.get(body.type)
    if rel_type is None:
        known = ", ".join(sorted(schema.relationships))
        raise Unprocessable(f"{quoted(body.type)} is not a relationship type; use one of {known}", field="type")
    for field, uid, allowed in (
        ("from_uid", body.from_uid, rel_type.from_classes),
        ("to_uid", body.to_uid, rel_type.to_classes),
    ):
        record = await cis.get_ci(driver, database, schema, uid)
        if record is None:
            raise NotFound(f"no CI with uid {quoted(uid)}", field=field)
        ci_class = schema.classes.get(record.ci_class)
        if ci_class is None or not any(ci_class.is_a(name) for name in allowed):
            raise Unprocessable(
                f"{rel_type.name} does not take a {record.ci_class} at this end ({', '.join(allowed)})",
                field=field,
            )
    properties: dict[str, Any] = {}
    for name, value in body.properties.items():
        declared = rel_type.properties.get(name)
        if declared is None:
            raise Unprocessable(f"not a property of {rel_type.name}", field=f"properties.{name}")
        try:
            properties[name] = check_value(declared, value)
        except AttributeValueError as exc:
            raise Unprocessable(exc.message, field=f"properties.{name}") from None
    return rel_type, properties


@router.post(
    "/relationships", status_code=201, summary="Declare a relationship by hand", response_model=RelationshipCreated
)
async def create_relationship(
    body: RelationshipCreate, principal: Curator, driver: DriverDep, settings: SettingsDep, schema: SchemaDep
) -> dict[str, Any]:
    db = settings.neo4j_database
    body = body.model_copy(
        update={
            "from_uid": await cis.resolve_uid(driver, db, body.from_uid),
            "to_uid": await cis.resolve_uid(driver, db, body.to_uid),
        }
    )
    rel_type, properties = await _checked_ends(body, driver, db, schema)
    started = await cis.create_relationship(
        driver, db, rel_type, body.from_uid, body.to_uid, properties, manual_source(principal)
    )
    return {"type": rel_type.name, "from_uid": body.from_uid, "to_uid": body.to_uid, "created": started}


@router.delete("/relationships", summary="End a relationship declared by hand", response_model=RelationshipEnded)
async def end_relationship(
    principal: Curator,
    driver: DriverDep,
    settings: SettingsDep,
    schema: SchemaDep,
    rel_type: Annotated[str, Query(alias="type", min_length=1, max_length=100)],
    from_uid: Annotated[str, Query(min_length=1, max_length=100)],
    to_uid: Annotated[str, Query(min_length=1, max_length=100)],
) -> dict[str, Any]:
    """What people declared is withdrawn; the relation ends unless discovery still reports it
    (``still_reported_by`` then names the sources: discovery keeps the record true)."""
    if rel_type not in schema.relationships:
        raise Unprocessable(f"{quoted(rel_type)} is not a relationship type", field="type", location="query")
    db = settings.neo4j_database
    from_uid, to_uid = await cis.resolve_uid(driver, db, from_uid), await cis.resolve_uid(driver, db, to_uid)
    answer = await cis.end_relationship(
        driver, db, schema.relationships[rel_type], from_uid, to_uid, manual_source(principal)
    )
    if answer is None:
        raise NotFound("no active relationship of this type declared by hand", field="type", location="query")
    return answer
