"""A business service's service level on its CI page: the panel (what is agreed, this month's
availability so far and last month's) and the edit form, read into the API's own
``ServiceLevelUpdate`` so the page and ``PUT /api/v1/services/{uid}/service-level`` go through
the same ``service_levels.put_service_level`` and refuse the same things.

Weekly windows are typed as text, one window a line: ``mon-fri 08:00-18:00``; days are a day,
a range (``mon-fri``, ``sat-sun``) or a comma list of either (``mon,wed,fri``). A person
writes hours that way; the JSON list the API takes would be a form of many repeated rows.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from fastapi import Request

from cmdb_server import service_levels
from cmdb_server.errors import Unprocessable
from cmdb_server.models.service_levels import ServiceLevelPublic, ServiceLevelUpdate
from cmdb_server.models.service_report import ServiceAvailability
from cmdb_server.report_period import month_of, parse_period, previous_month
from cmdb_server.web.common import checked_model
from schema.itsm import IncidentPriority
from schema.service_levels import ServiceHoursError, Weekday, load_service_hours_presets

OWN_WINDOWS = "windows"
"""The ``hours`` choice that means: the windows typed in the ``windows`` box, not a preset."""

WINDOWS_FORMAT = "one window a line: days and times, e.g. mon-fri 08:00-18:00 or sat,sun 10:00-14:00"
_WINDOW = re.compile(r"(?P<days>.+?)\s+(?P<start>\d{1,2}:\d{2})\s*-\s*(?P<end>\d{1,2}:\d{2})")
_DAYS = [day.value for day in Weekday]

FIELD_LABELS = {
    "availability_target_percent": "Availability target",
    "hours": "Service hours",
    OWN_WINDOWS: "Windows",
    "time_zone": "Time zone",
    "holidays": "Holidays",
}


def _day_range(text: str) -> list[str]:
    """``mon`` or ``mon-fri`` (a range may wrap the week end: ``fri-mon``) as the days it names."""
    first, _, last = text.partition("-")
    first, last = first.strip(), (last or first).strip()
    for day in (first, last):
        if day not in _DAYS:
            raise ServiceHoursError(f"{day[:10]!r} is no day: mon tue wed thu fri sat sun", OWN_WINDOWS)
    start, end = _DAYS.index(first), _DAYS.index(last)
    return [_DAYS[(start + n) % 7] for n in range((end - start) % 7 + 1)]


def parse_windows(text: str) -> list[dict[str, Any]]:
    """The windows typed in the form, as the API's ``hours`` list: one entry per line (or per
    ``;``), in the order given, so the API's ``hours.N`` names the N-th line typed. The days
    and the shape are checked here; the clock times, ends after starts and overlaps by the
    same checks as the API's."""
    windows: list[dict[str, Any]] = []
    for line in re.split(r"[\n;]", text.lower()):
        if not line.strip():
            continue
        match = _WINDOW.fullmatch(line.strip())
        if match is None:
            raise ServiceHoursError(f"{line.strip()[:40]!r} is not a window: {WINDOWS_FORMAT}", OWN_WINDOWS)
        days: list[str] = []
        for part in match["days"].split(","):
            days += _day_range(part.replace(" ", ""))
        ordered = [day for day in _DAYS if day in days]  # a day named twice is one day
        windows.append({"days": ordered, "start": match["start"].zfill(5), "end": match["end"].zfill(5)})
    return windows


def windows_text(groups: list[dict[str, Any]]) -> str:
    """The API's windows (``window_groups``) as the form shows them, consecutive days as a range:
    ``mon-fri 08:00-18:00``, one window a line; :func:`parse_windows` reads it back."""
    lines = []
    for group in groups:
        numbers = sorted(_DAYS.index(day) for day in group["days"])
        runs: list[list[int]] = []
        for number in numbers:
            if runs and runs[-1][-1] == number - 1:
                runs[-1].append(number)
            else:
                runs.append([number])
        days = ",".join(_DAYS[run[0]] if len(run) == 1 else f"{_DAYS[run[0]]}-{_DAYS[run[-1]]}" for run in runs)
        lines.append(f"{days} {group['start']}-{group['end']}")
    return "\n".join(lines)


def parse_holidays(text: str) -> list[date]:
    """Holiday dates typed one a line or separated by commas or spaces (YYYY-MM-DD)."""
    holidays = []
    for word in re.split(r"[\s,;]+", text.strip()):
        if not word:
            continue
        try:
            if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", word):
                raise ValueError(word)
            holidays.append(date.fromisoformat(word))
        except ValueError:
            raise ServiceHoursError(f"{word[:20]!r} is not a date: YYYY-MM-DD, e.g. 2026-12-25", "holidays") from None
    return holidays


def _target_field(priority: IncidentPriority, kind: str) -> str:
    return f"incident_targets.{priority.value}.{kind}_minutes"


def update_of(fields: Mapping[str, str]) -> ServiceLevelUpdate:
    """The posted form as the API's request body; 422 naming the form's field at fault. A
    priority with neither time keeps the service desk's default."""
    try:
        choice = fields.get("hours", "").strip()
        hours: str | list[dict[str, Any]] = (
            parse_windows(fields.get(OWN_WINDOWS, "")) if choice == OWN_WINDOWS else choice
        )
        holidays = parse_holidays(fields.get("holidays", ""))
    except ServiceHoursError as exc:
        raise Unprocessable(exc.message, field=exc.field) from None
    targets: dict[str, dict[str, str]] = {}
    for priority in IncidentPriority:
        response = fields.get(_target_field(priority, "response"), "").strip()
        resolution = fields.get(_target_field(priority, "resolution"), "").strip()
        if response and resolution:
            targets[priority.value] = {"response_minutes": response, "resolution_minutes": resolution}
        elif response or resolution:
            missing = _target_field(priority, "resolution" if response else "response")
            raise Unprocessable(
                f"give both the response and the resolution minutes of {priority.value}, or neither "
                "(the service desk's default)",
                field=missing,
            )
    target = fields.get("availability_target_percent", "").strip()
    body = {
        "availability_target_percent": target or None,
        "hours": hours,
        "time_zone": fields.get("time_zone", "").strip(),
        "holidays": holidays,
        "incident_targets": targets,
    }
    return checked_model(ServiceLevelUpdate, body)


def form_field(api_field: str | None, chose_windows: bool) -> str:
    """The form's field an error of ``service_levels.checked`` is about: ``hours.2.end`` is a
    line of the windows box."""
    if api_field is not None and api_field.startswith("hours") and chose_windows:
        return OWN_WINDOWS
    return api_field or "form"


def error_text(exc: Unprocessable, fields: Mapping[str, str]) -> tuple[str, str]:
    """(field, message) of a refused form as the page shows it: the field's label first."""
    chose_windows = fields.get("hours") == OWN_WINDOWS
    field = form_field(exc.field, chose_windows)
    message = exc.message
    line = re.match(r"hours\.(\d+)", exc.field or "")
    if chose_windows and line:
        message = f"line {int(line[1]) + 1}: {message}"
    label = FIELD_LABELS.get(field.split(".")[0] if field.startswith("holidays") else field)
    if label is None and field.startswith("incident_targets."):
        _, priority, kind = field.split(".")
        label = f"{priority.capitalize()} {kind.replace('_', ' ')}"
    return field, f"{label or field}: {message}"


def form_values(level: ServiceLevelPublic) -> dict[str, str]:
    """The form filled with the level as agreed (a default incident target left empty)."""
    values = {
        "availability_target_percent": ""
        if level.availability_target_percent is None
        else f"{level.availability_target_percent:g}",
        "hours": level.hours or OWN_WINDOWS,
        OWN_WINDOWS: windows_text([w.model_dump() for w in level.windows]),
        "time_zone": level.time_zone,
        "holidays": "\n".join(day.isoformat() for day in level.holidays),
    }
    for target in level.incident_targets:
        if target.agreed:
            values[_target_field(target.priority, "response")] = f"{target.response_minutes:g}"
            values[_target_field(target.priority, "resolution")] = f"{target.resolution_minutes:g}"
    return values


@dataclass(frozen=True)
class MonthShown:
    label: str  # YYYY-MM
    so_far: bool  # the current month, measured until now
    availability: ServiceAvailability


async def panel(request: Request, uid: str) -> dict[str, Any]:
    """What the CI page of a business service shows of its service level: the level, this
    month so far and last month (counted in CMDB_REPORT_TIME_ZONE, as the service report)."""
    state = request.app.state
    driver, db, zone = state.driver, state.settings.neo4j_database, state.settings.report_time_zone
    level = await service_levels.get_service_level(driver, db, uid)
    now = datetime.now(UTC)
    months = []
    for label, so_far in ((month_of(now, zone), True), (previous_month(now, zone), False)):
        period = parse_period(label, zone, now)
        measured = await service_levels.service_availability(driver, db, state.schema, uid, period)
        months.append(MonthShown(label, so_far, measured))
    presets = {name: preset.description for name, preset in sorted(load_service_hours_presets().items())}
    return {
        "level": level,
        "months": months,
        "presets": presets,
        "priorities": [p.value for p in IncidentPriority],
        "report_zone": zone,
        "windows_format": WINDOWS_FORMAT,
    }
