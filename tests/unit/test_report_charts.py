"""The service report's charts read back as SVG: titles, axes with ticks and units, the
target line of each service, legends, bar heights in proportion, and escaped text."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import date

import pytest

from cmdb_server import report_charts
from cmdb_server.models.service_report import ChangeFigures, IncidentTrendPoint, SlaVerdict
from schema.itsm import IncidentPriority
from tests.service_report_sample import sample_report

NS = {"svg": "http://www.w3.org/2000/svg"}


def _parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)  # noqa: S314 - our own output


def _with_class(root: ET.Element, name: str) -> list[ET.Element]:
    return [e for e in root.iter() if name in (e.get("class") or "").split()]


def _texts(element: ET.Element) -> list[str]:
    return ["".join(t.itertext()) for t in element.iter(f"{{{NS['svg']}}}text")]


def _height(rect: ET.Element) -> float:
    return float(rect.get("height", "0"))


def _check_frame(root: ET.Element, title: str, y_label: str, unit: str = "") -> list[str]:
    """Title, an x and a y axis each with a label, ticks with figures (and the unit), a
    legend; returns the y ticks' texts."""
    assert root.findtext("svg:title", namespaces=NS) == title
    assert title in _texts(root)
    (y_axis,) = [a for a in _with_class(root, "axis") if "y" in a.get("class", "").split()]
    (x_axis,) = [a for a in _with_class(root, "axis") if "x" in a.get("class", "").split()]
    assert y_label in ["".join(t.itertext()) for t in _with_class(y_axis, "axis-label")]
    assert _with_class(x_axis, "axis-label"), "the x axis says what it counts"
    tick_texts = [_texts(t)[0] for t in _with_class(y_axis, "tick")]
    assert len(tick_texts) >= 3
    assert all(t.endswith(unit) for t in tick_texts)
    legend = _with_class(root, "legend")
    assert legend
    assert _texts(legend[0])
    return tick_texts


def test_availability_bars_stand_on_a_percent_axis_with_each_services_target() -> None:
    report = sample_report()
    root = _parse(report_charts.availability_chart(report.services, "2026-11"))
    ticks = _check_frame(root, "Availability per service against target", "availability (%)", " %")
    assert ticks[0] == "95 %"
    assert ticks[-1] == "100 %"
    targets = {t.get("data-service"): float(t.get("data-value", "nan")) for t in _with_class(root, "target")}
    assert targets == {s.service_uid: s.target_percent for s in report.services if s.target_percent is not None}
    bars = {b.get("data-service"): b for b in _with_class(root, "bar")}
    assert set(bars) == {s.service_uid for s in report.services}
    breached = next(s for s in report.services if s.verdict is SlaVerdict.BREACHED)
    met = next(s for s in report.services if s.verdict is SlaVerdict.MET)
    assert bars[breached.service_uid].get("fill") != bars[met.service_uid].get("fill")
    # Heights are in proportion to the value above the axis' floor (95 %).
    floor = 95.0
    ratios = [_height(bars[s.service_uid]) / ((s.availability_percent or 0) - floor) for s in report.services]
    assert max(ratios) == pytest.approx(min(ratios), rel=1e-3)
    # The breached service's bar ends below its target line (SVG's y grows downwards).
    target_line = next(t for t in _with_class(root, "target") if t.get("data-service") == breached.service_uid)
    assert float(bars[breached.service_uid].get("y", "0")) > float(target_line.get("y1", "0"))


def test_a_low_availability_lowers_the_axis_to_show_it() -> None:
    report = sample_report()
    report.services[1].availability_percent = 91.3
    root = _parse(report_charts.availability_chart(report.services, "2026-11"))
    values = [float(t.get("data-value", "nan")) for t in _with_class(root, "tick") if t.get("data-value")]
    assert min(values) <= 90.3
    assert max(values) == 100


def test_names_are_escaped_and_a_service_without_hours_has_no_bar() -> None:
    report = sample_report()
    report.services[3].availability_percent = None
    report.services[3].service_name = '</text><script>alert("x")</script>'
    svg = report_charts.availability_chart(report.services, "2026-11")
    assert "<script>" not in svg
    root = _parse(svg)
    assert report.services[3].service_uid not in {b.get("data-service") for b in _with_class(root, "bar")}
    assert "no service hours" in _texts(root)
    assert "Payments <EU> & cards" in _texts(root)


def test_incident_trend_stacks_each_days_priorities_in_proportion() -> None:
    report = sample_report()
    root = _parse(report_charts.incident_trend_chart(report.incident_trend, "2026-11"))
    _check_frame(root, "Incidents opened per day", "incidents per day")
    bars = _with_class(root, "bar")
    expected = sum(n for p in report.incident_trend for n in p.opened.values() if n)
    assert sum(int(b.get("data-value", "0")) for b in bars) == expected
    per_unit = [_height(b) / int(b.get("data-value", "1")) for b in bars]
    assert max(per_unit) == pytest.approx(min(per_unit), rel=1e-3)
    assert {b.get("data-priority") for b in bars} == {p.value for p in IncidentPriority}
    priorities = [p.value for p in IncidentPriority]
    assert [t for t in _texts(root) if t in priorities] == priorities


def test_a_quiet_month_still_has_an_axis_of_whole_incidents() -> None:
    quiet = [IncidentTrendPoint(day=date(2026, 2, d), opened={}) for d in range(1, 29)]
    root = _parse(report_charts.incident_trend_chart(quiet, "2026-02"))
    ticks = _check_frame(root, "Incidents opened per day", "incidents per day")
    assert all(float(t) == int(float(t)) for t in ticks)
    assert not _with_class(root, "bar")


def test_change_outcomes_are_three_bars_in_proportion() -> None:
    changes = ChangeFigures(
        closed=26, successful=24, failed=2, success_rate_percent=92.3, emergency=3,
        emergency_share_percent=11.5, caused_incidents=[],
    )  # fmt: skip
    root = _parse(report_charts.change_outcomes_chart(changes, "2026-11"))
    _check_frame(root, "Change outcomes", "changes")
    bars = {b.get("data-outcome"): _height(b) for b in _with_class(root, "bar")}
    assert set(bars) == {"successful", "failed", "emergency"}
    assert bars["successful"] / bars["failed"] == pytest.approx(12, rel=1e-3)
    assert bars["emergency"] / bars["failed"] == pytest.approx(1.5, rel=1e-3)


def test_accuracy_is_a_line_of_percent_with_the_findings_on_a_second_axis() -> None:
    report = sample_report()
    root = _parse(report_charts.accuracy_chart(report.accuracy, "2026-11"))
    _check_frame(root, "Accuracy of the record", "accurate CIs (%)", " %")
    (right,) = [a for a in _with_class(root, "axis") if "y2" in a.get("class", "").split()]
    assert ["".join(t.itertext()) for t in _with_class(right, "axis-label")] == ["CIs with the finding"]
    series = {s.get("data-series") for s in _with_class(root, "series")}
    assert series == {
        "accurate_percent", "not_verified", "single_source", "suspected_duplicates", "unauthorised_changes",
    }  # fmt: skip
    # Day 8 has no figure: the accuracy line breaks there instead of dropping to zero.
    accurate = [s for s in _with_class(root, "series") if s.get("data-series") == "accurate_percent"]
    assert len(accurate) == 2
    assert sum(len(s.get("points", "").split()) for s in accurate) == len(report.accuracy) - 1


def test_a_day_without_a_recorded_point_is_a_gap_over_the_periods_days() -> None:
    report = sample_report()
    kept = [p for p in report.accuracy if p.day.day not in (14, 15)]
    days = [p.day for p in report.accuracy]
    root = _parse(report_charts.accuracy_chart(kept, "2026-11", days))
    accurate = [s for s in _with_class(root, "series") if s.get("data-series") == "accurate_percent"]
    assert len(accurate) == 3  # broken at day 8 (no figure) and at days 14-15 (no point)
    first_x = float(accurate[0].get("points", "").split()[0].split(",")[0])
    last_x = float(accurate[-1].get("points", "").split()[-1].split(",")[0])
    step = (last_x - first_x) / (len(days) - 1)
    xs = [float(p.split(",")[0]) for p in accurate[-1].get("points", "").split()]
    assert xs[0] == pytest.approx(first_x + 15 * step, abs=0.2)  # day 16 stays in its own column


def test_ticks_are_round_and_cover_the_axis() -> None:
    assert report_charts.ticks(95, 100, report_charts.tick_step(5)) == [95, 96, 97, 98, 99, 100]
    assert report_charts.count_axis(0) == (2, 1)
    assert report_charts.count_axis(117) == (125, 25)
    assert report_charts.percent_floor([99.9, 99.5], 95) == 95
    assert report_charts.percent_floor([97.0], 99) == 96
    assert report_charts.percent_floor([91.3], 95) == 90
    assert report_charts.percent_floor([0.5], 95) == 0


def test_the_months_first_day_alone_is_a_dot_on_the_accuracy_chart() -> None:
    """One recorded day (the first of a month, or one between gaps) is no line: it shows as a dot."""
    report = sample_report()
    first = report.accuracy[0]
    days = [p.day for p in report.accuracy]
    root = _parse(report_charts.accuracy_chart([first], "2026-11", days))
    dots = [c for c in _with_class(root, "point") if c.get("data-series") == "accurate_percent"]
    assert len(dots) == 1
    line = [s for s in _with_class(root, "series") if s.get("data-series") == "accurate_percent"]
    assert [s.get("points") for s in line] == [f"{dots[0].get('cx')},{dots[0].get('cy')}"]
