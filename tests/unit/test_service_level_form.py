"""The service level form of a business service's CI page read into the API's request body:
windows typed as text, holidays as a list of dates, the field at fault named."""

from __future__ import annotations

from datetime import date

import pytest

from cmdb_server.errors import Unprocessable
from cmdb_server.service_levels import checked
from cmdb_server.web.service_level_form import error_text, parse_holidays, parse_windows, update_of, windows_text
from schema.service_levels import ServiceHoursError, window_groups


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("mon-fri 08:00-18:00", [{"days": ["mon", "tue", "wed", "thu", "fri"], "start": "08:00", "end": "18:00"}]),
        ("Sat,Sun 9:00 - 12:30", [{"days": ["sat", "sun"], "start": "09:00", "end": "12:30"}]),
        ("fri-mon 00:00-24:00", [{"days": ["mon", "fri", "sat", "sun"], "start": "00:00", "end": "24:00"}]),
        ("mon-wed, fri 08:00-12:00", [{"days": ["mon", "tue", "wed", "fri"], "start": "08:00", "end": "12:00"}]),
        (
            "mon 08:00-12:00\n\n mon 13:00-17:00 ;tue 08:00-17:00",
            [
                {"days": ["mon"], "start": "08:00", "end": "12:00"},
                {"days": ["mon"], "start": "13:00", "end": "17:00"},
                {"days": ["tue"], "start": "08:00", "end": "17:00"},
            ],
        ),
        ("  \n", []),
    ],
)
def test_windows_typed_as_text_become_the_apis_windows(text: str, expected: list[dict[str, object]]) -> None:
    assert parse_windows(text) == expected


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("monday-friday 08:00-18:00", "'monday' is no day"),
        ("mon-fri", "is not a window"),
        ("mon-fri 08:00", "is not a window"),
        ("08:00-18:00", "is not a window"),
        ("mon-fri 8h-18h", "is not a window"),
    ],
)
def test_a_window_not_in_the_format_is_refused_naming_the_windows(text: str, says: str) -> None:
    with pytest.raises(ServiceHoursError) as refused:
        parse_windows(text)
    assert refused.value.field == "windows"
    assert says in refused.value.message


def test_windows_shown_as_text_read_back_the_same() -> None:
    typed = "mon-wed,fri 08:00-18:00\nsat 09:00-12:00\nsun 10:00-11:00\nsun 14:00-16:00"
    groups = window_groups(checked(update_of({"hours": "windows", "windows": typed, "time_zone": "UTC"})).hours.windows)
    shown = windows_text(groups)
    assert shown.splitlines()[0] == "mon-wed,fri 08:00-18:00"
    assert parse_windows(shown) == groups


def test_holidays_one_a_line_or_comma_separated() -> None:
    assert parse_holidays("2026-05-01, 2026-12-25\n2026-12-26") == [
        date(2026, 5, 1),
        date(2026, 12, 25),
        date(2026, 12, 26),
    ]
    assert parse_holidays("") == []
    for bad in ("2026-13-01", "25/12/2026", "20261225"):
        with pytest.raises(ServiceHoursError) as refused:
            parse_holidays(f"2026-05-01\n{bad}")
        assert refused.value.field == "holidays"
        assert repr(bad) in refused.value.message


def form(**fields: str) -> dict[str, str]:
    return {"csrf": "x", "hours": "business_hours", "time_zone": "Europe/Paris", **fields}


def test_the_form_is_the_apis_body() -> None:
    body = update_of(
        form(
            availability_target_percent="99.9",
            holidays="2026-12-25",
            **{
                "incident_targets.critical.response_minutes": "10",
                "incident_targets.critical.resolution_minutes": "90",
            },
        )
    )
    assert body.availability_target_percent == 99.9
    assert body.hours == "business_hours"
    assert body.holidays == [date(2026, 12, 25)]
    assert {p.value: (t.response_minutes, t.resolution_minutes) for p, t in body.incident_targets.items()} == {
        "critical": (10, 90)
    }
    assert update_of(form()).availability_target_percent is None  # empty: none agreed


@pytest.mark.parametrize(
    ("fields", "field", "label"),
    [
        ({"availability_target_percent": "101"}, "availability_target_percent", "Availability target"),
        ({"availability_target_percent": "lots"}, "availability_target_percent", "Availability target"),
        ({"time_zone": ""}, "time_zone", "Time zone"),
        ({"incident_targets.high.response_minutes": "10"}, "incident_targets.high.resolution_minutes", "High"),
        (
            {"incident_targets.low.response_minutes": "x", "incident_targets.low.resolution_minutes": "5"},
            "incident_targets.low.response_minutes",
            "Low response minutes",
        ),
        ({"holidays": "tomorrow"}, "holidays", "Holidays"),
        ({"hours": "windows", "windows": "mon-fri 9-5"}, "windows", "Windows"),
    ],
)
def test_a_refused_form_names_its_field(fields: dict[str, str], field: str, label: str) -> None:
    posted = form(**fields)
    with pytest.raises(Unprocessable) as refused:
        update_of(posted)
    shown_field, message = error_text(refused.value, posted)
    assert shown_field == field
    assert message.startswith(label)


@pytest.mark.parametrize(
    ("fields", "field", "says"),
    [
        ({"time_zone": "Mars/Olympus"}, "time_zone", "Time zone: 'Mars/Olympus' is not an IANA time zone"),
        ({"hours": "weekends"}, "hours", "Service hours: 'weekends' is no preset"),
        ({"hours": "windows", "windows": "mon 08:00-12:00\nmon 18:00-09:00"}, "windows", "Windows: line 2: the end"),
        ({"hours": "windows", "windows": "mon 25:00-26:00"}, "windows", "Windows: line 1: '25:00' is no time"),
        ({"hours": "windows", "windows": ""}, "windows", "Windows: give at least one window"),
        ({"holidays": "2026-12-25, 2026-12-25"}, "holidays.1", "Holidays: 2026-12-25 is given twice"),
    ],
)
def test_what_the_api_refuses_names_the_forms_field(fields: dict[str, str], field: str, says: str) -> None:
    posted = form(**fields)
    with pytest.raises(Unprocessable) as refused:
        checked(update_of(posted))
    shown_field, message = error_text(refused.value, posted)
    assert shown_field == field
    assert message.startswith(says), message
