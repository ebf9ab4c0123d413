"""How a CI looks on the wire."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from cmdb_server.models.common import HistoryEvent, Open, Page
from cmdb_server.repositories.cis import CIRecord
from schema import CIStatus


class CIPublic(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    uid: str = Field(description="Stable id the CMDB assigned.")
    class_name: str = Field(alias="class", description="Most specific CI class.")
    labels: list[str] = Field(description="The class and its ancestors.")
    name: str | None
    status: CIStatus
    first_seen: datetime | None
    last_seen: datetime | None
    parent_uid: str | None = Field(None, description="The parent CI of a dependent CI (an interface's host).")
    attributes: dict[str, Any]
    locks: dict[str, str] = Field(
        default_factory=dict, description="Attributes locked against discovery, and who locked each."
    )
    drift: dict[str, dict[str, Any]] = Field(
        default_factory=dict,
        description="Locked attributes discovery sees otherwise: {value, source, since} of the latest observation.",
    )
    tags: list[str] = Field(default_factory=list)
    seen_by: dict[str, datetime] = Field(
        default_factory=dict,
        description="When each kind of source (agent, inventory, ssh, snmp, import, manual) last reported it.",
    )
    suspected_clones: list[str] = Field(
        default_factory=list, description="CIs sharing its MAC or name whose strong identifiers differ (clones)."
    )

    @classmethod
    def from_record(cls, record: CIRecord) -> CIPublic:
        return cls(
            uid=record.uid,
            class_name=record.ci_class,
            labels=list(record.labels),
            name=record.name,
            status=record.status,
            first_seen=record.first_seen,
            last_seen=record.last_seen,
            parent_uid=record.parent_uid,
            attributes=record.attributes,
            locks=record.locks,
            drift=record.drift,
            tags=record.tags,
            seen_by=record.seen_by,
            suspected_clones=record.suspected_clones,
        )


class SourceView(BaseModel):
    """One source's view of a relation."""

    source: str = Field(description="The source (kind:name) that reported it.")
    first_seen: datetime | None = Field(description="When this source started reporting it (this time).")
    last_seen: datetime | None = Field(description="This source's last report that included it.")
    ended_at: datetime | None = Field(description="When this source stopped reporting it; null while it does.")


class RelatedCI(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    uid: str | None
    class_name: str | None = Field(alias="class")
    name: str | None


class RelationshipPublic(BaseModel):
    """One relation: one edge, whichever sources report it."""

    type: str
    direction: Literal["out", "in"] = Field(description="out: this CI is the edge's source; in: its target.")
    other: RelatedCI
    sources: list[SourceView] = Field(description="Every source that reported it, current ones with ended_at null.")
    first_seen: datetime | None = Field(description="When the relation (last) started.")
    last_seen: datetime | None = Field(description="The latest sighting by any source.")
    ended_at: datetime | None = Field(description="When no source reported it any more; null while one does.")
    properties: dict[str, Any]


class RelationshipList(BaseModel):
    uid: str
    items: list[RelationshipPublic]


class NeighbourNode(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    uid: str
    class_name: str = Field(alias="class")
    name: str | None
    status: CIStatus | None
    depth: int = Field(description="Hops from the CI asked for (0: that CI).")
    layer: int | None = Field(description="The row of a layered drawing its class takes (schema: layer), 0 on top.")


class NeighbourEdge(BaseModel):
    type: str
    source: str = Field(description="uid of the edge's source CI.")
    target: str = Field(description="uid of the edge's target CI.")


class Neighbourhood(BaseModel):
    """The CIs near one, and the current edges among them (one per type and pair of CIs)."""

    uid: str
    depth: int
    limit: int = Field(description="The most CIs answered.")
    left_out: int = Field(description="How many more CIs within the depth the limit left out.")
    nodes: list[NeighbourNode]
    edges: list[NeighbourEdge]


class CIList(BaseModel):
    items: list[CIPublic]
    total: int = Field(description="How many CIs match the filters, across all pages.")
    limit: int
    offset: int
    next_offset: int | None = Field(description="Offset of the next page; null on the last page.")


class CICreate(BaseModel):
    """A CI declared by hand (a business service, an application...)."""

    model_config = ConfigDict(populate_by_name=True, extra="forbid")

    class_name: str = Field(alias="class", description="A concrete CI class of schema/.")
    attributes: dict[str, Any] = Field(description="Attribute values; the identity keys of one rule at least.")
    parent_uid: str | None = Field(None, description="The parent CI of a dependent class (an interface's host).")


class CIUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    attributes: dict[str, Any] = Field(min_length=1, description="Attributes to set; null clears one.")


class RelationshipCreate(BaseModel):
    model_config = ConfigDict(populate_by_name=True, extra="forbid")

    type: str = Field(description="A relationship type of schema/.")
    from_uid: str = Field(min_length=1, max_length=100)
    to_uid: str = Field(min_length=1, max_length=100)
    properties: dict[str, Any] = Field(default_factory=dict)


class Retirement(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=1000, description="Why the CI is taken out of service (or deleted).")


class MergeRequest(BaseModel):
    """Two CIs that are one real thing: the other is merged into the CI of the path."""

    model_config = ConfigDict(extra="forbid")

    other: str = Field(min_length=1, max_length=100, description="uid of the CI to merge into this one.")
    reason: str = Field(min_length=1, max_length=1000, description="Why they are one thing (kept as evidence).")
    force: bool = Field(
        False, description="Merge even though their strong identifiers differ (two machine-ids, two serials)."
    )


class MergeResult(BaseModel):
    uid: str = Field(description="The CI that remains.")
    merged: str = Field(description="The uid merged into it; it resolves to the remaining CI from now on.")
    edges: int = Field(description="Relationships moved or joined to the remaining CI.")
    children: int = Field(description="Dependent CIs (interfaces, services...) moved or merged into its own.")


class SplitRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    merged: str = Field(min_length=1, max_length=100, description="uid of a CI that was merged into this one.")
    reason: str = Field(min_length=1, max_length=1000, description="Why the merge was wrong.")


class SplitResult(BaseModel):
    uid: str = Field(description="The CI the other was merged into.")
    restored: str = Field(description="The CI brought back, with its uid.")
    edges: int = Field(description="Relationships put back on it.")
    children: int = Field(description="Dependent CIs put back under it.")


class CICounts(BaseModel):
    total: int = Field(description="How many CIs match the search.")
    classes: dict[str, int] = Field(description="How many of each (most specific) class.")


class FieldChange(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    field: str = Field(description="class, status or an attribute.")
    old: Any = Field(alias="from")
    new: Any = Field(alias="to")


class Existed(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    at_from: bool = Field(alias="from")
    at_to: bool = Field(alias="to")


class CIDiff(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    uid: str
    since: str = Field(alias="from", description="The earlier time, as asked (ISO 8601).")
    until: str | None = Field(alias="to", description="The later time; null: now.")
    existed: Existed = Field(description="Whether the CI existed at each end.")
    changes: list[FieldChange]


class CIHistory(Page):
    uid: str
    items: list[HistoryEvent]


class CIDeleted(BaseModel):
    uid: str
    deleted: bool = Field(description="true: removed (hard); false: retired.")
    status: CIStatus | None = Field(None, description="The new status of a retired CI.")
    cis_removed: int | None = Field(None, description="A hard delete: the CI and its dependent CIs.")
    edges_removed: int | None = None


class RelationshipCreated(BaseModel):
    type: str
    from_uid: str
    to_uid: str
    created: bool = Field(description="false: the relation was declared already.")


class RelationshipEnded(Open):
    ended: int = Field(description="1 when the relation ended, 0 when a source still reports it.")
    withdrawn: list[str] = Field(description="The manual sources withdrawn.")
    still_reported_by: list[str] = Field(description="Sources that keep the relation alive.")


class TagChange(BaseModel):
    uid: str
    tag: str
    added: bool | None = Field(None, description="PUT: false when the CI had the tag already.")
    removed: bool | None = Field(None, description="DELETE: true.")


class TagCount(BaseModel):
    tag: str
    cis: int = Field(description="How many CIs carry it.")


class TagList(BaseModel):
    items: list[TagCount]


class StaleMarked(BaseModel):
    marked_stale: int
    older_than_hours: float
