"""Configuration items: list with filters and pagination, and one by uid."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Mapping
from typing import Annotated, Any, Literal, TypeVar

from fastapi import APIRouter, Depends, Query
from neo4j.exceptions import ClientError

from cmdb_server import ci_history, neighbourhood
from cmdb_server.api.deps import CIUid, DriverDep, SchemaDep, SettingsDep
from cmdb_server.api.params import MAX_PAGE_SIZE, Instant, Offset
from cmdb_server.api.routes.impact import check_filters
from cmdb_server.auth import Reader
from cmdb_server.db import QUERY_TIMEOUT, timed_out
from cmdb_server.errors import Unprocessable
from cmdb_server.models.ci import CICounts, CIDiff, CIHistory, CIList, CIPublic, Neighbourhood, RelationshipList
from cmdb_server.reconcile import decode_event
from cmdb_server.repositories import cis
from cmdb_server.search_terms import full_text_query
from schema import AttributeType, CIStatus
from schema.constraints import fulltext_spec
from schema.model import Attribute
from schema.values import AttributeValueError, quoted, value_from_text

T = TypeVar("T")

router = APIRouter(prefix="/cis", tags=["configuration items"])


_FULLTEXT_FIELDS: dict[str, frozenset[str]] = {}


def _fulltext_fields(schema: SchemaDep) -> frozenset[str]:
    """The full-text index's properties, worked out once per vocabulary (its digest), not per search."""
    fields = _FULLTEXT_FIELDS.get(schema.digest) if schema.digest else None
    if fields is None:
        fields = _FULLTEXT_FIELDS[schema.digest] = frozenset(fulltext_spec(schema).properties)
    return fields


def search_query(
    schema: SchemaDep,
    class_name: Annotated[
        str | None, Query(alias="class", description="A CI class; its subclasses are included.")
    ] = None,
    status: Annotated[CIStatus | None, Query(description="Only CIs with this status.")] = None,
    name: Annotated[
        str | None, Query(min_length=1, max_length=200, description="Case-insensitive substring of the name.")
    ] = None,
    q: Annotated[
        str | None,
        Query(
            min_length=1,
            max_length=500,
            description="Full-text search on names, descriptions and identifying values (host name, FQDN, serial, "
            "MAC, IP address, package...): Lucene syntax, and a pasted MAC or address as it is.",
        ),
    ] = None,
    tag: Annotated[list[str], Query(description="Only CIs with this tag (repeat: all of them).")] = [],  # noqa: B006
    where: Annotated[
        list[str],
        Query(description="attribute=value (repeat: all of them); * and ? are wildcards; value* is a prefix."),
    ] = [],  # noqa: B006
    sort: Annotated[str, Query(description="name, class, status, first_seen, last_seen or uid; -x descends.")] = "name",
) -> cis.CIQuery:
    """The search filters of a query string, checked: the list, the counts and the export share them."""
    if class_name is not None and class_name not in schema.classes:
        known = ", ".join(sorted(schema.classes))
        raise Unprocessable(
            f"unknown CI class {quoted(class_name)}; known classes: {known}", field="class", location="query"
        )
    if sort.removeprefix("-") not in cis.SORTABLE:
        raise Unprocessable(
            f"cannot sort by {quoted(sort)}; use one of {', '.join(cis.SORTABLE)}", field="sort", location="query"
        )
    declared = schema.classes[class_name].attributes if class_name else schema.all_attributes()
    filters = tuple(attribute_filter(item, declared) for item in where)
    return cis.CIQuery(
        class_name=class_name,
        status=status,
        name_contains=name,
        text=None if q is None else full_text_query(q, _fulltext_fields(schema)),
        tags=tuple(tag),
        attributes=filters,
        sort=sort,
    )


def attribute_filter(item: str, declared: Mapping[str, Attribute]) -> cis.AttributeFilter:
    """``attribute=value`` as a filter: equality, or a ``*``/``?`` pattern (see cis.AttributeFilter.pattern)."""
    name, sep, raw = item.partition("=")
    if not sep or not name:
        raise Unprocessable(f"{quoted(item)}: use attribute=value", field="where", location="query")
    attr = declared.get(name)
    if attr is None:
        raise Unprocessable(f"{quoted(name)} is not an attribute of the CIs searched", field="where", location="query")
    if attr.type in (AttributeType.STRING, AttributeType.ENUM) and any(c in raw for c in cis.WILDCARDS):
        return cis.AttributeFilter.pattern(name, raw)
    try:
        return cis.AttributeFilter(name, cis.FilterOp.EQ, value_from_text(attr, raw))
    except AttributeValueError as exc:
        raise Unprocessable(f"{name}: {exc.message}", field="where", location="query") from None


SearchDep = Annotated[cis.CIQuery, Depends(search_query)]


@router.get("", summary="Search CIs", response_model=CIList)
async def list_cis(
    _: Reader,
    driver: DriverDep,
    settings: SettingsDep,
    schema: SchemaDep,
    query: SearchDep,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE, description="Page size.")] = 50,
    offset: Annotated[Offset, Query(description="How many CIs to skip.")] = 0,
) -> CIList:
    page = await full_text_errors(
        cis.list_cis(driver, settings.neo4j_database, schema, query, limit=limit, offset=offset)
    )
    next_offset = offset + limit if offset + limit < page.total else None
    return CIList(
        items=[CIPublic.from_record(r) for r in page.items],
        total=page.total,
        limit=limit,
        offset=offset,
        next_offset=next_offset,
    )


@router.get("/counts", summary="How many CIs of each class match a search", response_model=CICounts)
async def count_cis(
    _: Reader, driver: DriverDep, settings: SettingsDep, schema: SchemaDep, query: SearchDep
) -> dict[str, Any]:
    counts = await full_text_errors(cis.count_by_class(driver, settings.neo4j_database, query, schema))
    return {"total": sum(counts.values()), "classes": counts}


def lucene_complaint(message: str) -> str:
    """A short message for a full-text query Lucene cannot parse (its own is a page of Java)."""
    match = re.search(r'Cannot parse \'(.*?)\': (?:Encountered "?(.*?)"? at line \d+, column (\d+))?', message)
    token = "end of the query" if match and match.group(2) == "<EOF>" else match.group(2) if match else ""
    where = f": unexpected {token} at column {match.group(3)}" if match and match.group(3) else ""
    return (
        f"full-text query not understood{where}. q is Lucene syntax: put a phrase in double quotes, "
        'escape ( ) [ ] { } : " \\ ~ ^ + - ! / with a backslash, write AND, OR, NOT between words; '
        "or search a field with where=name=..."
    )


async def full_text_errors(pending: Awaitable[T]) -> T:
    """A full-text query Lucene cannot parse is the caller's mistake: 422 naming ``q``; a search
    that outran the read time limit can be narrowed: 422 too, saying so."""
    try:
        return await pending
    except ClientError as exc:
        if exc.code == "Neo.ClientError.Procedure.ProcedureCallFailed" and "parse" in (exc.message or "").lower():
            raise Unprocessable(lucene_complaint(exc.message or ""), field="q", location="query") from None
        if timed_out(exc):
            raise Unprocessable(
                f"the search took longer than {QUERY_TIMEOUT.get():g} s and was stopped; narrow it "
                "(a class, a status, a longer prefix or fewer wildcards)"
            ) from None
        raise


@router.get("/{uid}", summary="One CI by uid", response_model=CIPublic)
async def get_ci(
    _: Reader,
    driver: DriverDep,
    settings: SettingsDep,
    schema: SchemaDep,
    uid: CIUid,
    at: Annotated[
        Instant | None,
        Query(description="The CI as it was at this time (ISO 8601), rebuilt from its history."),
    ] = None,
) -> CIPublic:
    return await ci_history.ci_at(driver, settings.neo4j_database, schema, uid, at)


@router.get("/{uid}/diff", summary="What changed on a CI between two times", response_model=CIDiff)
async def get_diff(
    _: Reader,
    driver: DriverDep,
    settings: SettingsDep,
    schema: SchemaDep,
    uid: CIUid,
    since: Annotated[Instant, Query(alias="from", description="The earlier time (ISO 8601).")],
    until: Annotated[Instant | None, Query(alias="to", description="The later time; now if absent.")] = None,
) -> dict[str, Any]:
    """Field-level changes (class, status, attributes) from ``from`` to ``to``, from the history."""
    return await ci_history.ci_diff(driver, settings.neo4j_database, schema, uid, since, until)


@router.get("/{uid}/relationships", summary="Relationships of a CI, both directions", response_model=RelationshipList)
async def get_relationships(
    _: Reader,
    driver: DriverDep,
    settings: SettingsDep,
    schema: SchemaDep,
    uid: CIUid,
    rel_type: Annotated[str | None, Query(alias="type", description="Only this relationship type.")] = None,
    direction: Annotated[Literal["out", "in", "both"], Query(description="Edges from, to, or both.")] = "both",
    include_ended: Annotated[bool, Query(description="Also the relations sources stopped reporting.")] = False,
) -> RelationshipList:
    if rel_type is not None and rel_type not in schema.relationships:
        known = ", ".join(sorted(schema.relationships))
        raise Unprocessable(
            f"unknown relationship type {quoted(rel_type)}; known: {known}", field="type", location="query"
        )
    await _existing(driver, settings.neo4j_database, schema, uid)
    items = await cis.relationships_of(
        driver,
        settings.neo4j_database,
        uid,
        rel_type=rel_type,
        direction=direction,
        include_ended=include_ended,
    )
    return RelationshipList.model_validate({"uid": uid, "items": items})


@router.get(
    "/{uid}/neighbourhood",
    summary="The CIs near a CI and the edges among them, for a drawing",
    response_model=Neighbourhood,
)
async def get_neighbourhood(
    _: Reader,
    driver: DriverDep,
    settings: SettingsDep,
    schema: SchemaDep,
    uid: CIUid,
    depth: Annotated[
        int, Query(ge=1, le=neighbourhood.MAX_DEPTH, description="Hops from the CI, along current edges either way.")
    ] = neighbourhood.DEFAULT_DEPTH,
    types: Annotated[
        list[str] | None, Query(max_length=50, description="Follow only these relationship types.")
    ] = None,
    classes: Annotated[
        list[str] | None, Query(max_length=50, description="Only CIs of these classes (subclasses included).")
    ] = None,
    limit: Annotated[
        int, Query(ge=1, le=neighbourhood.MAX_NODES, description="The most CIs answered; left_out counts the rest.")
    ] = neighbourhood.DEFAULT_NODES,
) -> dict[str, Any]:
    """Nearer CIs first; at one hop, shared CIs (package versions) after the others."""
    check_filters(schema, types, classes, "query")
    return await neighbourhood.neighbourhood_of(
        uid, depth, driver, settings.neo4j_database, schema, types, classes, limit
    )


@router.get("/{uid}/history", summary="History of a CI, newest first", response_model=CIHistory)
async def get_history(
    _: Reader,
    driver: DriverDep,
    settings: SettingsDep,
    schema: SchemaDep,
    uid: CIUid,
    since: Annotated[Instant | None, Query(description="Events at or after this time (ISO 8601).")] = None,
    until: Annotated[Instant | None, Query(description="Events before this time (ISO 8601).")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = 50,
    offset: Annotated[Offset, Query()] = 0,
) -> dict[str, Any]:
    if await cis.get_ci(driver, settings.neo4j_database, schema, uid) is None:
        await ci_history.find_deletion(driver, settings.neo4j_database, uid)  # a deleted CI's history stays
    events, total = await cis.history_of(
        driver, settings.neo4j_database, uid, since=since, until=until, limit=limit, offset=offset
    )
    events = [decode_event(e) for e in events]
    next_offset = offset + limit if offset + limit < total else None
    return {
        "uid": uid,
        "items": events,
        "total": total,
        "limit": limit,
        "offset": offset,
        "next_offset": next_offset,
    }


async def _existing(driver: DriverDep, database: str, schema: SchemaDep, uid: str) -> None:
    if await cis.get_ci(driver, database, schema, uid) is None:
        raise ci_history.deleted_error(uid, await ci_history.find_deletion(driver, database, uid))
