"""Service hours declared as data (schema/service_levels.py): presets and the checks on a week."""

from __future__ import annotations

from datetime import date

import pytest

from schema.service_levels import (
    DailyWindow,
    ServiceHoursError,
    build_presets,
    check_holidays,
    check_time_zone,
    load_service_hours_presets,
    weekly_windows,
    window_groups,
)


def test_the_presets_are_24x7_and_business_hours() -> None:
    presets = load_service_hours_presets()
    assert sorted(presets) == ["24x7", "business_hours"]
    assert presets["24x7"].windows == tuple(DailyWindow(d, 0, 1440) for d in range(7))
    assert presets["business_hours"].windows == tuple(DailyWindow(d, 480, 1080) for d in range(5))


def test_windows_come_back_grouped_as_declared() -> None:
    declared = [
        {"days": ["sat", "mon"], "start": "09:00", "end": "12:00"},
        {"days": ["mon"], "start": "13:00", "end": "24:00"},
    ]
    windows = weekly_windows(declared)
    assert windows == (DailyWindow(0, 540, 720), DailyWindow(0, 780, 1440), DailyWindow(5, 540, 720))
    assert window_groups(windows) == [
        {"days": ["mon", "sat"], "start": "09:00", "end": "12:00"},
        {"days": ["mon"], "start": "13:00", "end": "24:00"},
    ]


@pytest.mark.parametrize(
    ("window", "field"),
    [
        ({"days": ["mon"], "start": "25:00", "end": "26:00"}, "hours.0.start"),
        ({"days": ["mon"], "start": "24:00", "end": "24:00"}, "hours.0.start"),
        ({"days": ["mon"], "start": "8:00", "end": "18:00"}, "hours.0.start"),
        ({"days": ["mon"], "start": "08:00", "end": "08:00"}, "hours.0.end"),
        ({"days": ["mon"], "start": "08:60", "end": "09:00"}, "hours.0.start"),
        ({"days": [], "start": "08:00", "end": "09:00"}, "hours.0.days"),
        ({"days": ["mon", "mon"], "start": "08:00", "end": "09:00"}, "hours.0.days"),
        ({"days": ["Mon"], "start": "08:00", "end": "09:00"}, "hours.0.days"),
    ],
)
def test_a_bad_window_names_its_field(window: dict[str, object], field: str) -> None:
    with pytest.raises(ServiceHoursError) as raised:
        weekly_windows([window])
    assert raised.value.field == field


def test_holidays_and_time_zones() -> None:
    assert check_holidays([date(2026, 12, 25), date(2026, 1, 1)]) == (date(2026, 1, 1), date(2026, 12, 25))
    with pytest.raises(ServiceHoursError, match="given twice"):
        check_holidays([date(2026, 1, 1), date(2026, 1, 1)])
    assert str(check_time_zone("Europe/Paris")) == "Europe/Paris"
    for name in ("America", "Mars/Olympus", "", "../etc/passwd"):
        with pytest.raises(ServiceHoursError):
            check_time_zone(name)


def test_a_broken_preset_file_says_where() -> None:
    with pytest.raises(ServiceHoursError, match=r"\[hours.night\] windows.0.end"):
        build_presets({"hours": {"night": {"windows": [{"days": ["mon"], "start": "22:00", "end": "06:00"}]}}})
    with pytest.raises(ServiceHoursError, match="no windows"):
        build_presets({"hours": {"none": {"windows": []}}})
