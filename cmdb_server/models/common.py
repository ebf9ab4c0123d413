"""What several resources' answers share: history events, the CIs a record links, deletions."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class Open(BaseModel):
    """An answer whose declared fields are always there, and which may carry more (a record's
    optional fields, an event's kind-specific ones): they are passed on, never dropped."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)


class HistoryEvent(Open):
    """One event of a CI's or a record's history (more fields by kind: report_id, observed_at, change...)."""

    kind: str = Field(description="created, attribute, field, status, class, relation_started, relation_ended...")
    at: datetime
    source: str | None = Field(None, description="Who or what caused it (kind:name, user:name).")
    ci_uid: str = Field(description="The CI's uid or the record's id.")
    field: str | None = None
    old: Any = None
    new: Any = None


class Page(BaseModel):
    total: int = Field(description="How many items there are across all pages.")
    limit: int
    offset: int
    next_offset: int | None = Field(description="Offset of the next page; null on the last page.")


def inline_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The model's JSON schema with its definitions written in place, for an OpenAPI ``responses``
    entry of a streamed answer (where a ``$ref`` to the model's own ``$defs`` resolves nowhere)."""
    schema = model.model_json_schema()
    definitions = schema.pop("$defs", {})

    def resolve(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/$defs/"):
                return resolve(definitions[ref.removeprefix("#/$defs/")])
            return {k: resolve(v) for k, v in node.items()}
        if isinstance(node, list):
            return [resolve(item) for item in node]
        return node

    resolved: dict[str, Any] = resolve(schema)
    return resolved
