"""Service hours as data: the presets of ``service_levels.toml`` and the checks every
declared week of service hours passes (a preset here, a service level sent to the API).

A week is a list of windows (days, start, end) in a time zone, minus holiday dates; the
availability figures (cmdb_server/availability.py) are a share of the minutes it covers.
"""

from __future__ import annotations

import itertools
import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from functools import cache
from importlib import resources
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DAY_MINUTES = 24 * 60
CLOCK = re.compile(r"([01]\d|2[0-4]):([0-5]\d)")


class Weekday(StrEnum):
    """Days as service hours name them, in ISO order (Monday is 0, as ``date.weekday()``)."""

    MON = "mon"
    TUE = "tue"
    WED = "wed"
    THU = "thu"
    FRI = "fri"
    SAT = "sat"
    SUN = "sun"

    @property
    def number(self) -> int:
        return list(Weekday).index(self)


class ServiceHoursError(ValueError):
    """A week of service hours that cannot be counted; ``field`` names the part at fault."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


@dataclass(frozen=True, order=True)
class DailyWindow:
    """Service on one weekday from ``start`` to ``end``, minutes after local midnight (end up to 1440)."""

    day: int
    start: int
    end: int


@dataclass(frozen=True)
class Preset:
    name: str
    description: str
    windows: tuple[DailyWindow, ...]


def clock_minutes(text: str, field: str, *, end: bool = False) -> int:
    """Minutes after midnight of an ``HH:MM`` clock time; 24:00 only as an end."""
    match = CLOCK.fullmatch(text) if isinstance(text, str) else None
    minutes = int(match[1]) * 60 + int(match[2]) if match else -1
    if match is None or minutes > DAY_MINUTES or (minutes == DAY_MINUTES and not end):
        last = "24:00" if end else "23:59"
        raise ServiceHoursError(f"{text!r} is no time of day: HH:MM from 00:00 to {last}", field)
    return minutes


def clock_text(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def check_time_zone(name: str, field: str = "time_zone") -> ZoneInfo:
    """The IANA time zone of that name (Europe/Paris, UTC); a ServiceHoursError otherwise."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a folder of the database (America)
        raise ServiceHoursError(f"{name!r} is not an IANA time zone (such as Europe/Paris or UTC)", field) from None


def weekly_windows(declared: Iterable[Mapping[str, Any]], field: str = "hours") -> tuple[DailyWindow, ...]:
    """Windows ``{"days": [...], "start": "08:00", "end": "18:00"}`` as one window per day,
    sorted; the end after the start, and no two windows of a day overlapping (their time
    would count twice)."""
    windows: list[DailyWindow] = []
    for number, window in enumerate(declared):
        where = f"{field}.{number}"
        days = window.get("days")
        if not isinstance(days, list) or not days:
            raise ServiceHoursError("name at least one day: mon tue wed thu fri sat sun", f"{where}.days")
        try:
            named = [Weekday(day) for day in days]
        except ValueError:
            raise ServiceHoursError("days are mon tue wed thu fri sat sun", f"{where}.days") from None
        if len(set(named)) != len(named):
            raise ServiceHoursError("a day is named twice", f"{where}.days")
        start = clock_minutes(window.get("start", ""), f"{where}.start")
        end = clock_minutes(window.get("end", ""), f"{where}.end", end=True)
        if end <= start:
            raise ServiceHoursError(
                f"the end ({clock_text(end)}) must be after the start ({clock_text(start)}); "
                "a window over midnight is two windows, one ending 24:00",
                f"{where}.end",
            )
        windows += [DailyWindow(day.number, start, end) for day in named]
    windows.sort()
    for before, after in itertools.pairwise(windows):
        if before.day == after.day and after.start < before.end:
            day = list(Weekday)[before.day].value
            raise ServiceHoursError(f"two windows overlap on {day}: its minutes would count twice", field)
    return tuple(windows)


def window_groups(windows: Iterable[DailyWindow]) -> list[dict[str, Any]]:
    """Windows back as declared: one entry per (start, end) with its days, in day order."""
    days: dict[tuple[int, int], list[str]] = {}
    for window in sorted(windows):
        days.setdefault((window.start, window.end), []).append(list(Weekday)[window.day].value)
    return [
        {"days": named, "start": clock_text(start), "end": clock_text(end)}
        for (start, end), named in sorted(days.items(), key=lambda item: (Weekday(item[1][0]).number, item[0]))
    ]


def check_holidays(holidays: Iterable[date], field: str = "holidays") -> tuple[date, ...]:
    """Holiday dates, sorted; a date given twice is a mistake worth naming."""
    seen: set[date] = set()
    for number, day in enumerate(holidays):
        if day in seen:
            raise ServiceHoursError(f"{day.isoformat()} is given twice", f"{field}.{number}")
        seen.add(day)
    return tuple(sorted(seen))


def build_presets(raw: dict[str, Any]) -> dict[str, Preset]:
    presets = {}
    for name, declared in raw.get("hours", {}).items():
        try:
            windows = weekly_windows(declared.get("windows", []), f"[hours.{name}] windows")
        except ServiceHoursError as exc:
            raise ServiceHoursError(f"service_levels.toml {exc.field}: {exc.message}", exc.field) from None
        if not windows:
            raise ServiceHoursError(f"service_levels.toml [hours.{name}]: no windows", f"hours.{name}")
        presets[name] = Preset(name, str(declared.get("description", "")), windows)
    return presets


@cache
def load_service_hours_presets() -> dict[str, Preset]:
    text = resources.files("schema").joinpath("service_levels.toml").read_text(encoding="utf-8")
    return build_presets(tomllib.loads(text))


@dataclass(frozen=True)
class ServiceHours:
    """When a service is due: weekly windows in a time zone, minus holidays (local dates).

    ``preset``: the name of the preset the windows came from, if any (for the reader only).
    """

    time_zone: str
    windows: tuple[DailyWindow, ...]
    holidays: tuple[date, ...] = ()
    preset: str | None = None

    @property
    def always(self) -> bool:
        """Every minute of every day (before holidays)."""
        return {(w.day, w.start, w.end) for w in self.windows} == {(d, 0, DAY_MINUTES) for d in range(7)}


def preset_hours(name: str, time_zone: str = "UTC", holidays: tuple[date, ...] = ()) -> ServiceHours:
    """The hours of a preset of service_levels.toml (a KeyError for an unknown name)."""
    return ServiceHours(time_zone, load_service_hours_presets()[name].windows, holidays, name)
