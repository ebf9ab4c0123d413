"""What the API answers about a business service's weak points."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from cmdb_server.models.impact import PathStep


class SinglePointOfFailure(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    uid: str
    name: str | None
    class_name: str = Field(alias="class")
    depth: int = Field(description="Relationships between it and the service.")
    path: list[PathStep] = Field(description="From this CI up to the service: why its failure takes it down.")


class SinglePointsOfFailure(BaseModel):
    service: PathStep
    depth: int = Field(description="How many relationships were followed from the service.")
    checked: int = Field(description="CIs whose failure reaches the service, each tried on its own.")
    total: int
    items: list[SinglePointOfFailure]
