"""What the API says about sources: their state, and an admin's reset of it."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class SourcePublic(BaseModel):
    source: str = Field(description="kind:name, as reports name it.")
    received_at: datetime | None = Field(None, description="When the server last received a report of it.")
    collected_at: datetime | None = Field(
        None, description="When it collected its last applied complete report (older complete reports are 409)."
    )
    complete_at: datetime | None = Field(None, description="When it last saw everything it vouches for.")
    cis: int = Field(0, description="CIs its last complete report named (shared ones, packages, aside).")
    agent_token_id: str | None = Field(None, description="The agent token that speaks for it, if any.")
    refused_at: datetime | None = Field(None, description="When a report of it was last refused (4xx).")
    refused_status: int | None = Field(None, description="The HTTP status of that refusal.")
    refused_reason: str | None = Field(None, description="Why it was refused (the error's message, shortened).")
    refused_count: int = Field(0, description="How many of its reports were refused so far.")


class SourceList(BaseModel):
    sources: list[SourcePublic]


class SourceReset(BaseModel):
    model_config = ConfigDict(extra="forbid")

    source: str = Field(min_length=3, max_length=300, description="kind:name of the source to reset.")
    unbind: bool = Field(
        False, description="Also free the agent token that speaks for it (the host's agent was reinstalled)."
    )


class SourceResetResult(BaseModel):
    source: str
    unbound_tokens: list[str] = Field(description="Ids of the agent tokens freed from the source.")
