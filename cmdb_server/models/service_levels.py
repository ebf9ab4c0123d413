"""A business service's service level as the API takes and answers it."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict, Field

from cmdb_server.models.service_report import PriorityTarget
from schema.itsm import IncidentPriority

YEAR_MINUTES = 525_600


class WeeklyWindow(BaseModel):
    """Service on these days from ``start`` to ``end`` (local clock of the service's time zone)."""

    model_config = ConfigDict(extra="forbid")

    days: list[str] = Field(min_length=1, max_length=7, description="mon tue wed thu fri sat sun", examples=[["mon"]])
    start: str = Field(min_length=1, max_length=5, description="HH:MM, 00:00 to 23:59.", examples=["08:00"])
    end: str = Field(min_length=1, max_length=5, description="HH:MM after the start; 24:00 for midnight.")


class AgreedIncidentTarget(BaseModel):
    model_config = ConfigDict(extra="forbid")

    response_minutes: float = Field(gt=0, le=YEAR_MINUTES, description="First taken in progress within.")
    resolution_minutes: float = Field(gt=0, le=YEAR_MINUTES, description="Resolved within.")


class ServiceLevelUpdate(BaseModel):
    """The whole service level (PUT replaces it)."""

    model_config = ConfigDict(extra="forbid")

    availability_target_percent: float | None = Field(
        None, ge=0, le=100, description="Agreed availability over each period (a month); null: none agreed."
    )
    hours: str | list[WeeklyWindow] = Field(
        description="A preset of schema/service_levels.toml (24x7, business_hours) or the weekly windows.",
        examples=["business_hours"],
    )
    time_zone: str = Field(min_length=1, max_length=64, description="IANA time zone of the hours and holidays.")
    holidays: list[date] = Field(
        default_factory=list, max_length=1000, description="Local dates with no service hours."
    )
    incident_targets: dict[IncidentPriority, AgreedIncidentTarget] = Field(
        default_factory=dict,
        description="Targets agreed by priority; a priority left out keeps the service desk's default "
        "(schema/service_desk.toml [incident_targets]).",
    )


class ServiceIncidentTarget(PriorityTarget):
    agreed: bool = Field(description="false: the service desk's default target.")


class ServiceLevelPublic(BaseModel):
    service_uid: str
    service_name: str
    declared: bool = Field(description="false: none agreed yet; what is shown is what it is measured against.")
    availability_target_percent: float | None
    hours: str | None = Field(description="The preset its windows were copied from; null: its own windows.")
    windows: list[WeeklyWindow]
    time_zone: str
    holidays: list[date]
    service_hours: str = Field(description="In words: '24x7', 'Mon-Fri 08:00-18:00 Europe/Paris, 2 holidays'.")
    incident_targets: list[ServiceIncidentTarget] = Field(description="Every priority: agreed or the default.")
