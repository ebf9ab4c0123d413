"""Bounded types for what the API reads: every time, count and duration has limits.

A value a client may send without limit reaches Neo4j or Python's arithmetic and fails
there, as a 500 after the fact (``offset=2^63`` overflows a 64-bit SKIP, ``+21:15`` is an
offset Neo4j refuses, ``1.7e308`` hours overflow a timedelta). These types refuse such
values when the request is read: a 422 naming the field, and an OpenAPI that says the
bounds, so clients and the fuzzer know them. Times use the limits of ``schema/limits.toml``.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from annotated_types import Ge, Gt, Le
from fastapi import Query
from pydantic import AfterValidator, AllowInfNan, WithJsonSchema

from schema.values import LIMITS, AttributeValueError, check_time

MAX_OFFSET = 1_000_000_000
MAX_PAGE_SIZE = 500
"""The most items one page of a list answers."""
"""The deepest page offset: far beyond any estate, far below the 64-bit SKIP of Cypher."""

MAX_HOURS = 24 * 365 * 100
"""The longest look-back in hours (a century): ``now - hours`` stays a time Neo4j and Python hold."""

TIME_DESCRIPTION = (
    f"ISO 8601 with a time zone (Z or ±hh:mm, at most ±{LIMITS.max_offset_minutes // 60:02d}:00), "
    f"between {LIMITS.earliest.isoformat()} and {LIMITS.latest.isoformat()}."
)


def _bounded_time(value: datetime) -> datetime:
    try:
        return check_time("time", value)
    except AttributeValueError as exc:
        raise ValueError(exc.message) from None  # pydantic names the field


Instant = Annotated[
    datetime,
    AfterValidator(_bounded_time),
    WithJsonSchema(
        {
            "type": "string",
            "format": "date-time",
            "description": TIME_DESCRIPTION,
            "x-earliest": LIMITS.earliest.isoformat(),
            "x-latest": LIMITS.latest.isoformat(),
        }
    ),
]
"""A time with a time zone, within the limits of ``schema/limits.toml``."""


def _bounded_day(value: date) -> date:
    if not LIMITS.earliest.date() <= value <= LIMITS.latest.date():
        raise ValueError(f"a day between {LIMITS.earliest.date()} and {LIMITS.latest.date()}")
    return value


Day = Annotated[date, AfterValidator(_bounded_day)]
"""A calendar day (YYYY-MM-DD) within the limits of ``schema/limits.toml``."""

Offset = Annotated[int, Ge(0), Le(MAX_OFFSET)]
"""How many items of a list to skip."""

Hours = Annotated[float, Gt(0), Le(MAX_HOURS), AllowInfNan(False)]
"""A positive duration in hours, at most a century."""


PageLimit = Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE, description="Items per page.")]
PageOffset = Annotated[Offset, Query(description="Items to skip: the next_offset of the previous page.")]
LinkedTo = Annotated[
    str | None, Query(min_length=1, max_length=100, description="Only records linked to this CI (its uid).")
]
"""The list parameters every ITSM record list takes alike."""
