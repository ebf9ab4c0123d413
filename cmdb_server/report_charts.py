"""The service report's charts as SVG text: pure functions of the report's figures, no I/O.

Drawn by our own code rather than a plotting library so that the page, the HTML document
and its PDF show the same picture from the same text (inline SVG, no script, no font or
image to fetch), and so that a test can read a chart back as XML. Every chart has a
title, axes with ticks and units, and a legend; every text it shows is escaped.

Elements carry classes a reader (and the tests) can find them by: ``axis x`` / ``axis y``
(``axis y2`` on the right), ``tick``, ``axis-label``, ``bar`` (``data-value``), ``target``
(``data-value``), ``series`` lines, ``legend``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from html import escape

from cmdb_server.models.service_report import (
    AccuracyPoint,
    ChangeFigures,
    IncidentTrendPoint,
    ServiceAvailability,
    SlaVerdict,
)
from schema.itsm import IncidentPriority

WIDTH = 680
HEIGHT = 330
FONT = "DejaVu Sans, Helvetica, Arial, sans-serif"
TEXT = "#222"
GRID = "#e3e3e3"
AXIS = "#444"

VERDICT_COLOURS = {SlaVerdict.MET: "#2e7d32", SlaVerdict.BREACHED: "#c62828", SlaVerdict.NO_TARGET: "#78909c"}
VERDICT_WORDS = {
    SlaVerdict.MET: "target met",
    SlaVerdict.BREACHED: "target breached",
    SlaVerdict.NO_TARGET: "no target",
}
TARGET_COLOUR = "#111"
PRIORITY_COLOURS = {
    IncidentPriority.CRITICAL: "#b71c1c",
    IncidentPriority.HIGH: "#ef6c00",
    IncidentPriority.MEDIUM: "#f9a825",
    IncidentPriority.LOW: "#90a4ae",
}
CHANGE_COLOURS = {"successful": "#2e7d32", "failed": "#c62828", "emergency": "#ef6c00"}
ACCURATE_COLOUR = "#1565c0"
FINDING_SERIES = (
    ("not_verified", "not verified", "#8e24aa"),
    ("single_source", "single source", "#00897b"),
    ("suspected_duplicates", "suspected duplicates", "#6d4c41"),
    ("unauthorised_changes", "unauthorised changes", "#c62828"),
)


def number(value: float) -> str:
    """A figure as a person reads it: no trailing zeros, at most two decimals."""
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def tick_step(span: float, count: int = 5, whole: bool = False) -> float:
    """A round step (1, 2, 2.5 or 5 times a power of ten) giving about ``count`` ticks over
    ``span``; at least 1 for counts (``whole``), which have no half incidents."""
    if span <= 0:
        return 1.0
    raw = span / count
    power = 10 ** math.floor(math.log10(raw))
    step: float = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)
    return max(step, 1.0) if whole else step


def ticks(low: float, high: float, step: float) -> list[float]:
    """The multiples of ``step`` from ``low`` to ``high`` (both on the axis)."""
    first = math.ceil(low / step - 1e-9)
    last = math.floor(high / step + 1e-9)
    return [round(i * step, 6) for i in range(first, last + 1)]


def count_axis(highest: float) -> tuple[float, float]:
    """(top, step) of an axis of counts from 0: a whole step, the top a multiple of it, and
    at least 0, 1, 2 on an empty chart so it still reads as a scale."""
    highest = max(highest, 2)
    step = tick_step(highest, whole=True)
    return math.ceil(highest / step) * step, step


def percent_floor(values: Sequence[float], floor: float) -> float:
    """The lower end of a percentage axis: ``floor`` (95 for availability), or lower to show
    the lowest value with a point to spare, at a round figure, never below 0. 99.9 and 99.5
    differ visibly on a 95-100 axis, where on 0-100 they would be one height."""
    lowest = min(values, default=100.0)
    low = min(floor, lowest - 1)
    step = tick_step(100 - low)
    return max(0.0, math.floor(low / step) * step)


@dataclass(frozen=True)
class Frame:
    """The plot area in pixels and the values its y axis spans."""

    left: float
    top: float
    right: float
    bottom: float
    low: float
    high: float

    def y(self, value: float) -> float:
        share = (min(max(value, self.low), self.high) - self.low) / (self.high - self.low)
        return self.bottom - share * (self.bottom - self.top)

    def slot(self, index: int, slots: int) -> tuple[float, float]:
        """(left edge, width) of the index-th of ``slots`` equal columns."""
        width = (self.right - self.left) / max(slots, 1)
        return self.left + index * width, width


def _text(x: float, y: float, content: str, *, size: float = 11, anchor: str = "middle", extra: str = "") -> str:
    fill = "" if " fill=" in extra else f' fill="{TEXT}"'
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" text-anchor="{anchor}"{fill}{extra}>{escape(content)}</text>'
    )


def _svg(title: str, description: str, body: list[str], css_class: str) -> str:
    return "\n".join(
        [
            f'<svg xmlns="http://www.w3.org/2000/svg" class="chart {css_class}" role="img" '
            f'viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" height="{HEIGHT}" font-family="{FONT}">',
            f"<title>{escape(title)}</title>",
            f"<desc>{escape(description)}</desc>",
            f'<rect x="0" y="0" width="{WIDTH}" height="{HEIGHT}" fill="#fff"/>',
            _text(WIDTH / 2, 20, title, size=14, extra=' class="chart-title" font-weight="bold"'),
            *body,
            "</svg>",
        ]
    )


def _frame(low: float, high: float, right_axis: bool = False) -> Frame:
    return Frame(left=70, top=64, right=WIDTH - (70 if right_axis else 24), bottom=HEIGHT - 64, low=low, high=high)


def _y_axis(frame: Frame, values: list[float], label: str, unit: str, *, side: str = "left", grid: bool = True) -> str:
    """Ticks with their figures and unit, grid lines, and the rotated axis label."""
    x = frame.left if side == "left" else frame.right
    sign = -1 if side == "left" else 1
    parts = [f'<g class="axis {"y" if side == "left" else "y2"}">']
    parts.append(f'<line x1="{x}" y1="{frame.top}" x2="{x}" y2="{frame.bottom}" stroke="{AXIS}" stroke-width="1"/>')
    for value in values:
        y = frame.y(value)
        parts.append(f'<g class="tick" data-value="{number(value)}">')
        if grid:
            parts.append(
                f'<line class="grid" x1="{frame.left}" y1="{y:.1f}" x2="{frame.right}" y2="{y:.1f}" stroke="{GRID}"/>'
            )
        parts.append(f'<line x1="{x}" y1="{y:.1f}" x2="{x + sign * 5}" y2="{y:.1f}" stroke="{AXIS}"/>')
        parts.append(
            _text(x + sign * 8, y + 4, f"{number(value)}{unit}", size=10, anchor="end" if side == "left" else "start")
        )
        parts.append("</g>")
    centre = (frame.top + frame.bottom) / 2
    label_x = 16 if side == "left" else WIDTH - 12
    parts.append(
        _text(label_x, centre, label, extra=f' class="axis-label" transform="rotate(-90 {label_x} {centre:.1f})"')
    )
    parts.append("</g>")
    return "\n".join(parts)


def _x_axis(frame: Frame, labels: list[tuple[float, str]], label: str) -> str:
    parts = ['<g class="axis x">']
    parts.append(
        f'<line x1="{frame.left}" y1="{frame.bottom}" x2="{frame.right}" y2="{frame.bottom}" stroke="{AXIS}"/>'
    )
    for x, text in labels:
        parts.append('<g class="tick">')
        parts.append(f'<line x1="{x:.1f}" y1="{frame.bottom}" x2="{x:.1f}" y2="{frame.bottom + 5}" stroke="{AXIS}"/>')
        parts.append(_text(x, frame.bottom + 18, text, size=10))
        parts.append("</g>")
    parts.append(_text((frame.left + frame.right) / 2, HEIGHT - 18, label, extra=' class="axis-label"'))
    parts.append("</g>")
    return "\n".join(parts)


def _legend(items: list[tuple[str, str, str]]) -> str:
    """One row under the title: (colour, text, 'box' | 'line' | 'dash') each."""
    parts = ['<g class="legend">']
    widths = [30 + 5.6 * len(text) for _, text, _ in items]
    x = max(8.0, (WIDTH - sum(widths)) / 2)
    y = 40
    for (colour, text, kind), width in zip(items, widths, strict=True):
        parts.append('<g class="legend-item">')
        if kind == "box":
            parts.append(f'<rect x="{x:.1f}" y="{y - 9}" width="12" height="12" fill="{colour}"/>')
        else:
            dash = ' stroke-dasharray="5 3"' if kind == "dash" else ""
            parts.append(
                f'<line x1="{x:.1f}" y1="{y - 3}" x2="{x + 16:.1f}" y2="{y - 3}" stroke="{colour}" '
                f'stroke-width="2.5"{dash}/>'
            )
        parts.append(_text(x + 20, y + 2, text, size=10, anchor="start"))
        parts.append("</g>")
        x += width
    parts.append("</g>")
    return "\n".join(parts)


def _shortened(text: str, room: float) -> str:
    """A label cut to the room it has (about 6 px a character at 10 px), with an ellipsis."""
    most = max(3, int(room / 6.2))
    return text if len(text) <= most else text[: most - 1] + "…"


def _no_data(frame: Frame, what: str) -> str:
    return _text((frame.left + frame.right) / 2, (frame.top + frame.bottom) / 2, what, size=12, extra=' class="empty"')


def availability_chart(services: Sequence[ServiceAvailability], period_label: str) -> str:
    """Each service's availability as a bar over a percentage axis, its own agreed target
    marked across its bar: green met, red breached, grey without a target."""
    shown = [s.availability_percent for s in services if s.availability_percent is not None]
    targets = [s.target_percent for s in services if s.target_percent is not None]
    low = percent_floor([*shown, *targets], 95.0)
    frame = _frame(low, 100.0)
    step = tick_step(100 - low)
    body = [
        _legend(
            [
                (VERDICT_COLOURS[SlaVerdict.MET], "availability, target met", "box"),
                (VERDICT_COLOURS[SlaVerdict.BREACHED], "target breached", "box"),
                (VERDICT_COLOURS[SlaVerdict.NO_TARGET], "no target", "box"),
                (TARGET_COLOUR, "the service's target", "dash"),
            ]
        ),
        _y_axis(frame, ticks(low, 100.0, step), "availability (%)", " %"),
    ]
    labels: list[tuple[float, str]] = []
    for index, service in enumerate(services):
        left, width = frame.slot(index, len(services))
        centre = left + width / 2
        bar = min(width * 0.55, 70)
        labels.append((centre, _shortened(service.service_name, width - 4)))
        value = service.availability_percent
        if value is None:
            body.append(_text(centre, frame.bottom - 8, "no service hours", size=9))
        else:
            top = frame.y(value)
            body.append(
                f'<rect class="bar" data-service="{escape(service.service_uid)}" data-value="{value}" '
                f'x="{centre - bar / 2:.1f}" y="{top:.2f}" width="{bar:.1f}" height="{frame.bottom - top:.2f}" '
                f'fill="{VERDICT_COLOURS[service.verdict]}"><title>{escape(service.service_name)}: '
                f"{number(value)} % ({VERDICT_WORDS[service.verdict]})</title></rect>"
            )
            # Inside the bar's top, in white, where the target line drawn across it stays clear of it.
            inside = frame.bottom - top > 22
            body.append(
                _text(
                    centre,
                    top + 14 if inside else top - 4,
                    f"{value:.2f} %",
                    size=9,
                    extra=' class="value"' + (' fill="#fff" font-weight="bold"' if inside else ""),
                )
            )
        if service.target_percent is not None:
            y = frame.y(service.target_percent)
            half = min(width * 0.42, 48)
            body.append(
                f'<line class="target" data-service="{escape(service.service_uid)}" '
                f'data-value="{service.target_percent}" x1="{centre - half:.1f}" y1="{y:.2f}" x2="{centre + half:.1f}" '
                f'y2="{y:.2f}" stroke="{TARGET_COLOUR}" stroke-width="2" stroke-dasharray="5 3">'
                f"<title>target {number(service.target_percent)} %</title></line>"
            )
    if not services:
        body.append(_no_data(frame, "No business service in the record"))
    body.append(_x_axis(frame, labels, f"business service ({period_label})"))
    return _svg(
        "Availability per service against target",
        f"Availability in {period_label} within service hours, per business service, with each service's target.",
        body,
        "availability",
    )


def _day_labels(frame: Frame, days: Sequence[date]) -> list[tuple[float, str]]:
    """Every few days' day of the month under its column: about eight labels a month."""
    every = max(1, math.ceil(len(days) / 8))
    labels = []
    for index, day in enumerate(days):
        if index % every == 0:
            left, width = frame.slot(index, len(days))
            labels.append((left + width / 2, str(day.day)))
    return labels


def incident_trend_chart(points: Sequence[IncidentTrendPoint], period_label: str) -> str:
    """Incidents opened each day, stacked by priority (critical at the bottom, where it is
    read first)."""
    totals = [sum(p.opened.values()) for p in points]
    top, step = count_axis(max(totals, default=0))
    frame = _frame(0, top)
    body = [
        _legend([(PRIORITY_COLOURS[p], p.value, "box") for p in IncidentPriority]),
        _y_axis(frame, ticks(0, top, step), "incidents per day", ""),
    ]
    for index, point in enumerate(points):
        left, width = frame.slot(index, len(points))
        bar = max(width * 0.7, 1)
        base = 0
        for priority in IncidentPriority:
            count = point.opened.get(priority, 0)
            if count <= 0:
                continue
            y_top, y_base = frame.y(base + count), frame.y(base)
            body.append(
                f'<rect class="bar" data-day="{point.day.isoformat()}" data-priority="{priority.value}" '
                f'data-value="{count}" x="{left + (width - bar) / 2:.1f}" y="{y_top:.2f}" width="{bar:.1f}" '
                f'height="{y_base - y_top:.2f}" fill="{PRIORITY_COLOURS[priority]}">'
                f"<title>{point.day.isoformat()}: {count} {priority.value}</title></rect>"
            )
            base += count
    if not points:
        body.append(_no_data(frame, "No day in the period"))
    body.append(_x_axis(frame, _day_labels(frame, [p.day for p in points]), f"day of {period_label}"))
    return _svg(
        "Incidents opened per day",
        f"Incidents opened each day of {period_label}, by priority.",
        body,
        "incident-trend",
    )


def change_outcomes_chart(changes: ChangeFigures, period_label: str) -> str:
    """Changes that ended in the period: successful and failed, and how many were emergencies."""
    bars = [("successful", changes.successful), ("failed", changes.failed), ("emergency", changes.emergency)]
    top, step = count_axis(max(v for _, v in bars))
    frame = _frame(0, top)
    body = [
        _legend([(CHANGE_COLOURS[name], name, "box") for name, _ in bars]),
        _y_axis(frame, ticks(0, top, step), "changes", ""),
    ]
    labels = []
    for index, (name, value) in enumerate(bars):
        left, width = frame.slot(index, len(bars))
        centre, bar = left + width / 2, min(width * 0.5, 90)
        labels.append((centre, name))
        y = frame.y(value)
        body.append(
            f'<rect class="bar" data-outcome="{name}" data-value="{value}" x="{centre - bar / 2:.1f}" y="{y:.2f}" '
            f'width="{bar:.1f}" height="{frame.bottom - y:.2f}" fill="{CHANGE_COLOURS[name]}">'
            f"<title>{name}: {value}</title></rect>"
        )
        body.append(_text(centre, y - 4, str(value), size=10, extra=' class="value"'))
    rate = "" if changes.success_rate_percent is None else f", success rate {number(changes.success_rate_percent)} %"
    body.append(_x_axis(frame, labels, f"changes ended in {period_label} ({changes.closed} in all{rate})"))
    return _svg(
        "Change outcomes",
        f"Changes that ended in {period_label}: successful, failed and emergency changes.",
        body,
        "change-outcomes",
    )


def _polyline(frame: Frame, xs: list[float], values: Sequence[float | None], colour: str, name: str, width: float,
              dashed: bool) -> list[str]:  # fmt: skip
    """One series as polylines broken where a value is missing, each point also a dot."""
    runs: list[list[tuple[float, float]]] = [[]]
    for x, value in zip(xs, values, strict=True):
        if value is None:
            if runs[-1]:
                runs.append([])
            continue
        runs[-1].append((x, frame.y(value)))
    dash = ' stroke-dasharray="5 3"' if dashed else ""
    parts = []
    for run in (r for r in runs if r):
        points = " ".join(f"{x:.1f},{y:.2f}" for x, y in run)
        parts.append(
            f'<polyline class="series" data-series="{name}" points="{points}" fill="none" stroke="{colour}" '
            f'stroke-width="{width}"{dash}/>'
        )
        # A dot on each point: a day alone between gaps (or the month's first day) is no line.
        parts.extend(
            f'<circle class="point" data-series="{name}" cx="{x:.1f}" cy="{y:.2f}" r="{width + 1:g}" fill="{colour}"/>'
            for x, y in run
        )
    return parts


def accuracy_chart(points: Sequence[AccuracyPoint], period_label: str, days: Sequence[date] | None = None) -> str:
    """The share of active CIs with no finding each day (left axis, %), and how many CIs
    each kind of finding concerns (right axis, CIs). Over ``days`` (the period's) when given:
    a day without a recorded point is a gap in the lines, not a day skipped."""
    days = list(days) if days else [p.day for p in points]
    index = {day: i for i, day in enumerate(days)}
    points = [p for p in points if p.day in index]
    shares = [p.accurate_percent for p in points]
    low = percent_floor([s for s in shares if s is not None], 90.0)
    frame = _frame(low, 100.0, right_axis=True)
    counts_top, counts_step = count_axis(max((getattr(p, k) for p in points for k, _, _ in FINDING_SERIES), default=0))
    counts = Frame(frame.left, frame.top, frame.right, frame.bottom, 0, counts_top)
    body = [
        _legend(
            [(ACCURATE_COLOUR, "accurate CIs (%)", "line")]
            + [(colour, label, "dash") for _, label, colour in FINDING_SERIES]
        ),
        _y_axis(frame, ticks(low, 100.0, tick_step(100 - low)), "accurate CIs (%)", " %"),
        _y_axis(counts, ticks(0, counts_top, counts_step), "CIs with the finding", "", side="right", grid=False),
    ]
    by_day = {p.day: p for p in points}

    def series(key: str) -> list[float | None]:
        return [getattr(by_day[day], key) if day in by_day else None for day in days]

    xs = [frame.slot(i, len(days))[0] + frame.slot(i, len(days))[1] / 2 for i in range(len(days))]
    for key, _, colour in FINDING_SERIES:
        body.extend(_polyline(counts, xs, series(key), colour, key, 1.5, True))
    body.extend(_polyline(frame, xs, series("accurate_percent"), ACCURATE_COLOUR, "accurate_percent", 3, False))
    if not points:
        body.append(_no_data(frame, "No accuracy recorded in the period"))
    body.append(_x_axis(frame, _day_labels(frame, days), f"day of {period_label}"))
    return _svg(
        "Accuracy of the record",
        f"Each day of {period_label}: the share of active CIs with no audit finding, and the CIs per finding.",
        body,
        "accuracy",
    )
