"""CIs and relationships declared by hand: services, applications, and how they hang together."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from neo4j.exceptions import ConstraintError

from cmdb_server.api.deps import DriverDep, SchemaDep, SettingsDep
from cmdb_server.auth import Curator, Principal
from cmdb_server.errors import Conflict, NotFound, Unprocessable
from cmdb_server.models.ci import CICreate, CIPublic, CIUpdate, RelationshipCreate
from cmdb_server.repositories import cis
from schema import AttributeValueError, check_attributes
from schema.values import check_value

router = APIRouter(tags=["curation"])


def manual_source(principal: Principal) -> str:
    return f"manual:{principal.name}"


@router.patch("/cis/{uid}", response_model=CIPublic, summary="Edit a CI's attributes by hand")
async def update_ci(
    uid: Annotated[str, Path(min_length=1, max_length=100)],
    body: CIUpdate,
    principal: Curator,
    driver: DriverDep,
    settings: SettingsDep,
    schema: SchemaDep,
) -> CIPublic:
    """Manual values outrank discovery's (see source precedence); identity keys cannot change here."""
    record = await cis.get_ci(driver, settings.neo4j_database, schema, uid)
    if record is None:
        raise NotFound(f"no CI with uid {uid!r}", field="uid", location="path")
    ci_class = schema.classes[record.ci_class]
    try:
        attributes = check_attributes(ci_class, body.attributes)
    except AttributeValueError as exc:
        raise Unprocessable(exc.message, field=f"attributes.{exc.field}") from None
    keys = {k for rule in ci_class.identity for k in rule.keys if rule.unique}
    for key in sorted(keys & set(attributes)):
        if attributes[key] != record.attributes.get(key):
            raise Unprocessable(
                f"{key} identifies this {ci_class.name} and cannot be edited", field=f"attributes.{key}"
            )
    await cis.update_attributes(
        driver, settings.neo4j_database, uid, record.attributes, attributes, manual_source(principal)
    )
    updated = await cis.get_ci(driver, settings.neo4j_database, schema, uid)
    assert updated is not None
    return CIPublic.from_record(updated)


@router.post("/cis", status_code=201, response_model=CIPublic, summary="Declare a CI by hand")
async def create_ci(
    body: CICreate, principal: Curator, driver: DriverDep, settings: SettingsDep, schema: SchemaDep
) -> CIPublic:
    ci_class = schema.classes.get(body.class_name)
    if ci_class is None or ci_class.abstract:
        known = ", ".join(sorted(c.name for c in schema.concrete_classes()))
        raise Unprocessable(f"{body.class_name!r} is not a CI class; use one of {known}", field="class")
    try:
        attributes = check_attributes(ci_class, body.attributes)
    except AttributeValueError as exc:
        raise Unprocessable(exc.message, field=f"attributes.{exc.field}") from None
    if not any(all(attributes.get(k) is not None for k in rule.keys) for rule in ci_class.identity):
        rules = " or ".join("[" + ", ".join(rule.keys) + "]" for rule in ci_class.identity)
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
        raise Unprocessable(f"{body.type!r} is not a relationship type; use one of {known}", field="type")
    for field, uid, allowed in (
        ("from_uid", body.from_uid, rel_type.from_classes),
        ("to_uid", body.to_uid, rel_type.to_classes),
    ):
        record = await cis.get_ci(driver, database, schema, uid)
        if record is None:
            raise NotFound(f"no CI with uid {uid!r}", field=field)
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


@router.post("/relationships", status_code=201, summary="Declare a relationship by hand")
async def create_relationship(
    body: RelationshipCreate, principal: Curator, driver: DriverDep, settings: SettingsDep, schema: SchemaDep
) -> dict[str, Any]:
    rel_type, properties = await _checked_ends(body, driver, settings.neo4j_database, schema)
    started = await cis.create_relationship(
        driver,
        settings.neo4j_database,
        rel_type.name,
        rel_type.key_properties,
        body.from_uid,
        body.to_uid,
        properties,
        manual_source(principal),
    )
    return {"type": rel_type.name, "from_uid": body.from_uid, "to_uid": body.to_uid, "created": started}


@router.delete("/relationships", summary="End a relationship declared by hand")
async def end_relationship(
    principal: Curator,
    driver: DriverDep,
    settings: SettingsDep,
    schema: SchemaDep,
    rel_type: Annotated[str, Query(alias="type")],
    from_uid: Annotated[str, Query(min_length=1)],
    to_uid: Annotated[str, Query(min_length=1)],
) -> dict[str, Any]:
    if rel_type not in schema.relationships:
        raise Unprocessable(f"{rel_type!r} is not a relationship type", field="type", location="query")
    ended = await cis.end_relationship(
        driver, settings.neo4j_database, rel_type, from_uid, to_uid, manual_source(principal)
    )
    if not ended:
        raise NotFound("no such relationship declared by you is active", field="type", location="query")
    return {"ended": ended}
