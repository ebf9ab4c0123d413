"""The audit evidence reports on the wire."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from cmdb_server.models.common import Open
from cmdb_server.models.service_report import AccuracyPoint


class CIRef(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    uid: str
    name: str | None
    class_name: str | None = Field(alias="class")


class UnauthorisedChange(BaseModel):
    ci: CIRef
    at: datetime
    kind: str
    field: str | None
    old: Any
    new: Any
    source: str | None
    report_id: str | None


class UnauthorisedChanges(BaseModel):
    since: datetime
    total: int
    items: list[UnauthorisedChange]


class SourcesStopped(BaseModel):
    relations: list[dict[str, Any]]
    cis: list[dict[str, Any]]


class Coverage(BaseModel):
    by_class: dict[str, dict[str, int]] = Field(description="CIs per class and kind of source.")
    by_source: dict[str, int]


class ConfigurationAudit(Open):
    generated_at: datetime
    interval_hours: float
    not_verified: list[dict[str, Any]]
    single_source: list[dict[str, Any]]
    suspected_duplicates: list[dict[str, Any]]
    suspected_clones: list[dict[str, Any]]
    sources_stopped: SourcesStopped
    coverage: Coverage


class AccuracySeries(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    since: date = Field(alias="from", description="The first day asked for.")
    until: date = Field(alias="to", description="The last day asked for (included).")
    items: list[AccuracyPoint] = Field(description="One point per day recorded, oldest first; a day missing was not.")
