"""Import results, exported files and ingest summaries on the wire."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from cmdb_server.errors import ErrorDetail
from cmdb_server.models.common import Open


class ImportRow(Open):
    row: int = Field(description="1-based: the CSV line without its header, the position in a JSON list.")
    kind: str = Field(description="ci or relationship.")
    ref: str | None = None
    outcome: str = Field(description="created, updated, unchanged, accepted (a relationship) or rejected.")
    uid: str | None = None
    errors: list[str] | None = Field(None, description="Why a row was rejected.")


class ImportResult(BaseModel):
    dry_run: bool
    source: str
    counts: dict[str, int] = Field(description="Rows per outcome.")
    relations: dict[str, dict[str, int]] = Field(description="Per relationship type: started, ended...")
    events: int
    rows: list[ImportRow]


class ExportedCI(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    uid: str
    ref: str
    class_name: str = Field(alias="class")
    status: str
    parent: str | None = Field(description="uid:<uid> of its parent, for a dependent CI.")
    tags: list[str]
    attributes: dict[str, Any]


class ExportDocument(BaseModel):
    """The JSON export; ``error`` only when the export failed midway (the response is then unfinished too)."""

    cis: list[ExportedCI]
    error: ErrorDetail | None = None


class GraphLine(Open):
    """One line of the graph export: a node, a relationship, or (a failure midway) an error."""

    kind: str = Field(description="node, relationship or error.")


class IngestSummary(Open):
    report_id: str
    source: str
    replayed: bool = Field(description="The report was applied before: this is the first answer.")
    classes: dict[str, dict[str, int]] = Field(description="Per CI class: created, updated, unchanged.")
    relations: dict[str, dict[str, int]] = Field(description="Per relationship type: started, ended...")
    events: int
    cis: dict[str, str] = Field(description="Each record's ref and the uid of its CI.")
    fingerprint: str | None
    identification: dict[str, dict[str, Any]]
