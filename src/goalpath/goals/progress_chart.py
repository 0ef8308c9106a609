"""A measurable goal's progress chart, drawn on the server as SVG (SPEC 13): the points
joined by a line, the aim line from baseline to target, the trend line and a marker at
the target. The goal page shows it and the family PDF draws the same picture.

Like web/charts.py: no script, no event handlers, nothing from another host, and no
`style` attribute, which the CSP refuses. Colours are SVG presentation attributes (the
CSP does not govern them, and WeasyPrint reads them) beside a class a stylesheet may
override. Each is at least 3:1 on white (WCAG 1.4.11), and each line also differs by its
dash pattern or marker, named in the legend, so colour is never the only difference
(WCAG 1.4.1). The chart is one image to assistive technology (role="img", <title>,
<desc>); `describe` is its <desc>, and `data_table_rows` gives the table the page shows
beside it, so nothing is only in the picture (WCAG 1.1.1).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from markupsafe import Markup, escape

from goalpath.goals.monitoring import (
    Measure,
    Point,
    Trend,
    format_value,
    is_percentage,
    quantity,
    sorted_points,
)

MARGIN_LEFT = 52
MARGIN_RIGHT = 20
MARGIN_TOP = 36  # room for the legend
MARGIN_BOTTOM = 30  # room for the month labels

# Contrast on white: data 9.7:1, aim 8.0:1, trend 6.3:1, target 9.1:1, text 8.0:1. The
# gridlines are decoration, not information, and stay light.
DATA_COLOUR = "#1d3f8f"
AIM_COLOUR = "#4a5160"
TREND_COLOUR = "#9a4a00"
TARGET_COLOUR = "#14532d"
TEXT_COLOUR = "#4a5160"
GRID_COLOUR = "#d5dae1"
AIM_DASHES = "8 5"
TREND_DASHES = "2 4"

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_MAX_DATE_TICKS = 7
_EPSILON = 1e-9


@dataclass(frozen=True)
class DataRow:
    """One row of the table beside the chart."""

    id_progress_event: int
    observed_on: date
    date_text: str
    value_text: str


def long_date(day: date) -> str:
    """8 Sep 2025: unambiguous in any English locale, read well by screen readers."""
    return f"{day.day} {_MONTHS[day.month - 1]} {day.year}"


def data_table_rows(points: Iterable[Point]) -> list[DataRow]:
    """The chart's points as rows, oldest first; the table's header carries the unit."""
    return [
        DataRow(
            id_progress_event=point.id_progress_event,
            observed_on=point.observed_on,
            date_text=long_date(point.observed_on),
            value_text=format_value(point.value),
        )
        for point in sorted_points(points)
    ]


def describe(measure: Measure | None, points: Iterable[Point], trend: Trend | None) -> str:
    """The chart's facts as text: its <desc>, usable as a caption too."""
    ordered = sorted_points(points)
    unit = measure.unit if measure is not None else ""
    sentences = []
    if measure is None:
        sentences.append("No measure is set for this goal.")
    else:
        better = "higher" if measure.direction == "increase" else "lower"
        sentences.append(
            f"Baseline {quantity(measure.baseline_value, unit)} on "
            f"{long_date(measure.baseline_on)}; goal {quantity(measure.target_value, unit)} "
            f"by {long_date(measure.target_on)} ({better} is better)."
        )
    if not ordered:
        sentences.append("No results yet.")
    elif len(ordered) == 1:
        only = ordered[0]
        sentences.append(
            f"1 result: {quantity(only.value, unit)} on {long_date(only.observed_on)}."
        )
    else:
        values = [point.value for point in ordered]
        latest = ordered[-1]
        sentences.append(
            f"{len(ordered)} results from {long_date(ordered[0].observed_on)} to "
            f"{long_date(latest.observed_on)}, between {quantity(min(values), unit)} and "
            f"{quantity(max(values), unit)}; latest {quantity(latest.value, unit)}."
        )
    if measure is not None and trend is not None:
        slope = trend.slope_per_week
        change = quantity(abs(slope), unit, with_unit=False)
        if format_value(abs(slope)) == "0":
            rate = "flat"
        else:
            rate = f"{'up' if slope > 0 else 'down'} {change} a week"
        sentences.append(
            f"Trend: {rate}, about {quantity(trend.projected_at_target, unit)} by "
            f"{long_date(measure.target_on)}."
        )
    return " ".join(sentences)


def _nice_step(span: float, intervals: int = 4) -> float:
    """A round step (1, 2, 2.5 or 5 times a power of ten) giving about `intervals`."""
    raw = span / intervals
    power = 10.0 ** math.floor(math.log10(raw))
    for factor in (1.0, 2.0, 2.5, 5.0, 10.0):
        if raw <= factor * power:
            return factor * power
    return 10.0 * power


def value_ticks(values: Sequence[float], *, percentage: bool = False) -> list[float]:
    """Gridlines covering `values`: from 0 when nothing is negative, 0-100 for a
    percentage that stays within it, padded when every value is the same."""
    low, high = min(values), max(values)
    if percentage and low >= 0 and high <= 100:
        low, high = 0.0, 100.0
    elif low >= 0:
        low = 0.0
    if high == low:
        pad = max(abs(high) * 0.1, 1.0)
        low, high = (low, high + pad) if low == 0 else (low - pad, high + pad)
    step = _nice_step(high - low)
    first = math.floor(low / step + _EPSILON) * step
    last = math.ceil(high / step - _EPSILON) * step
    count = round((last - first) / step)
    return [round(first + index * step, 10) for index in range(count + 1)]


def date_ticks(start: date, end: date) -> list[tuple[date, str]]:
    """The first of each month within start..end, labelled "Sep", thinned to a few; a
    span inside one month gets its first day, labelled "Sep 3"."""
    firsts = []
    month = date(start.year, start.month, 1)
    if month < start:
        month = _next_month(month)
    while month <= end:
        firsts.append(month)
        month = _next_month(month)
    if not firsts:
        return [(start, f"{_MONTHS[start.month - 1]} {start.day}")]
    every = math.ceil(len(firsts) / _MAX_DATE_TICKS)
    return [(day, _MONTHS[day.month - 1]) for day in firsts[::every]]


def _next_month(first: date) -> date:
    return date(first.year + first.month // 12, first.month % 12 + 1, 1)


@dataclass(frozen=True)
class _Frame:
    """Where dates and values land in the drawing."""

    start: date
    days: int
    low: float
    high: float
    left: float
    top: float
    plot_width: float
    plot_height: float

    def x(self, day: date | float) -> float:
        offset = day if isinstance(day, float) else float((day - self.start).days)
        return self.left + offset / self.days * self.plot_width

    def y(self, value: float) -> float:
        return self.top + (self.high - value) / (self.high - self.low) * self.plot_height


def _clip(
    first: tuple[float, float], last: tuple[float, float], low: float, high: float
) -> tuple[tuple[float, float], tuple[float, float]] | None:
    """The part of the segment first..last ((day offset, value) ends) whose values are
    within low..high: a steep trend leaves the plot rather than squashing it."""
    (day0, value0), (day1, value1) = first, last
    if value0 == value1:
        return (first, last) if low <= value0 <= high else None
    at_low = (low - value0) / (value1 - value0)
    at_high = (high - value0) / (value1 - value0)
    enter, leave = max(0.0, min(at_low, at_high)), min(1.0, max(at_low, at_high))
    if enter > leave:
        return None

    def at(share: float) -> tuple[float, float]:
        return (day0 + (day1 - day0) * share, value0 + (value1 - value0) * share)

    return at(enter), at(leave)


def _number(value: float) -> str:
    return f"{value:.1f}"


def tick_label(tick: float) -> str:
    """A gridline's value with the decimals its step needs (0.25, not 0.2)."""
    text = f"{tick:.2f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def _legend(left: float, *, aim: bool, trend: bool) -> list[str]:
    """A key for what is drawn: each line's name beside a sample of its dash pattern."""
    items = [("Results", "chart-data-key", DATA_COLOUR, "2", "")]
    if aim:
        items.append(("Aim line", "chart-aim-key", AIM_COLOUR, "2", AIM_DASHES))
    if trend:
        items.append(("Trend", "chart-trend-key", TREND_COLOUR, "2.5", TREND_DASHES))
    parts = []
    x = left
    for label, css_class, colour, stroke_width, dashes in items:
        dash = f' stroke-dasharray="{dashes}"' if dashes else ""
        parts.append(
            f'<line class="{css_class}" x1="{_number(x)}" x2="{_number(x + 24)}" y1="14" '
            f'y2="14" stroke="{colour}" stroke-width="{stroke_width}"{dash}/>'
        )
        parts.append(_text(x + 30, 18, label))
        x += 30 + 7 * len(label) + 20
    if aim:
        parts.append(_diamond(x + 6, 14, "chart-target-key"))
        parts.append(_text(x + 18, 18, "Goal"))
    return parts


def _diamond(x: float, y: float, css_class: str) -> str:
    size = 6
    return (
        f'<path class="{css_class}" d="M{_number(x)} {_number(y - size)} '
        f"L{_number(x + size)} {_number(y)} L{_number(x)} {_number(y + size)} "
        f'L{_number(x - size)} {_number(y)} Z" fill="{TARGET_COLOUR}" '
        f'stroke="{TARGET_COLOUR}"/>'
    )


def _text(x: float, y: float, text: str, *, anchor: str = "start") -> str:
    return (
        f'<text class="chart-label" x="{_number(x)}" y="{_number(y)}" '
        f'text-anchor="{anchor}" fill="{TEXT_COLOUR}" font-size="12">{escape(text)}</text>'
    )


def progress_svg(
    measure: Measure | None,
    points: Iterable[Point],
    trend: Trend | None,
    *,
    title: str,
    width: int = 640,
    height: int = 280,
    ident: str = "progress-chart",
) -> Markup:
    """The chart as a self-contained SVG document fragment (a `Markup`, so a template
    inserts it as it is). `ident` prefixes the ids its <title> and <desc> carry: give
    each chart on a page its own. Every text in it is escaped; every number is one this
    code computed."""
    ordered = sorted_points(points)
    unit = measure.unit if measure is not None else ""
    title_id, desc_id = f"{ident}-title", f"{ident}-desc"
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart progress-chart" '
        f'viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img" '
        f'aria-labelledby="{escape(title_id)} {escape(desc_id)}">',
        f'<title id="{escape(title_id)}">{escape(title)}</title>',
        f'<desc id="{escape(desc_id)}">{escape(describe(measure, ordered, trend))}</desc>',
    ]
    plot_width = width - MARGIN_LEFT - MARGIN_RIGHT
    plot_height = height - MARGIN_TOP - MARGIN_BOTTOM
    days = [point.observed_on for point in ordered]
    values = [point.value for point in ordered]
    if measure is not None:
        days += [measure.baseline_on, measure.target_on]
        values += [measure.baseline_value, measure.target_value]
    if not days:
        parts.append(_text(width / 2, height / 2, "No results yet", anchor="middle"))
        parts.append("</svg>")
        # The title and the description above are escaped.
        return Markup("".join(parts))  # noqa: S704

    start, end = min(days), max(days)
    if start == end:
        start, end = start - timedelta(days=7), end + timedelta(days=7)
    ticks = value_ticks(values, percentage=is_percentage(unit))
    frame = _Frame(
        start=start,
        days=(end - start).days,
        low=ticks[0],
        high=ticks[-1],
        left=MARGIN_LEFT,
        top=MARGIN_TOP,
        plot_width=plot_width,
        plot_height=plot_height,
    )
    right, bottom = MARGIN_LEFT + plot_width, MARGIN_TOP + plot_height

    draws_trend = measure is not None and trend is not None and bool(ordered)
    parts.extend(_legend(MARGIN_LEFT, aim=measure is not None, trend=draws_trend))
    for tick in ticks:
        y = frame.y(tick)
        parts.append(
            f'<line class="chart-grid" x1="{MARGIN_LEFT}" x2="{_number(right)}" '
            f'y1="{_number(y)}" y2="{_number(y)}" stroke="{GRID_COLOUR}" stroke-width="1"/>'
        )
        parts.append(_text(MARGIN_LEFT - 6, y + 4, tick_label(tick), anchor="end"))
    for day, label in date_ticks(start, end):
        x = frame.x(day)
        parts.append(
            f'<line class="chart-axis" x1="{_number(x)}" x2="{_number(x)}" '
            f'y1="{_number(bottom)}" y2="{_number(bottom + 5)}" stroke="{AIM_COLOUR}"/>'
        )
        parts.append(_text(x, bottom + 18, label, anchor="middle"))
    parts.append(
        f'<path class="chart-axis" d="M{MARGIN_LEFT} {MARGIN_TOP} V{_number(bottom)} '
        f'H{_number(right)}" fill="none" stroke="{AIM_COLOUR}" stroke-width="1.5"/>'
    )

    if measure is not None:
        parts.append(
            f'<line class="chart-aim" x1="{_number(frame.x(measure.baseline_on))}" '
            f'y1="{_number(frame.y(measure.baseline_value))}" '
            f'x2="{_number(frame.x(measure.target_on))}" '
            f'y2="{_number(frame.y(measure.target_value))}" stroke="{AIM_COLOUR}" '
            f'stroke-width="2" stroke-dasharray="{AIM_DASHES}"/>'
        )
        if draws_trend and trend is not None:
            parts.extend(_trend_line(frame, measure, ordered, trend))
        target_x, target_y = frame.x(measure.target_on), frame.y(measure.target_value)
        parts.append(_diamond(target_x, target_y, "chart-target"))
        # Above the marker, or below it when the target is at the top of the plot.
        label_y = target_y - 10 if target_y - 10 >= MARGIN_TOP + 4 else target_y + 20
        parts.append(
            _text(
                target_x - 10,
                label_y,
                f"Goal {quantity(measure.target_value, unit, with_unit=False)}",
                anchor="end",
            )
        )

    if len(ordered) > 1:
        joined = " ".join(
            f"{_number(frame.x(point.observed_on))},{_number(frame.y(point.value))}"
            for point in ordered
        )
        parts.append(
            f'<polyline class="chart-data" points="{joined}" fill="none" '
            f'stroke="{DATA_COLOUR}" stroke-width="2"/>'
        )
    for point in ordered:
        parts.append(
            f'<circle class="chart-point" cx="{_number(frame.x(point.observed_on))}" '
            f'cy="{_number(frame.y(point.value))}" r="4" fill="{DATA_COLOUR}" '
            f'stroke="#ffffff" stroke-width="1"><title>'
            f"{escape(long_date(point.observed_on))}: {escape(quantity(point.value, unit))}"
            "</title></circle>"
        )
    if not ordered:
        parts.append(
            _text(
                MARGIN_LEFT + plot_width / 2,
                MARGIN_TOP + plot_height / 2,
                "No results yet",
                anchor="middle",
            )
        )
    parts.append("</svg>")
    # Every interpolated text above is escaped or a number the code computed.
    return Markup("".join(parts))  # noqa: S704


def _trend_line(
    frame: _Frame, measure: Measure, ordered: Sequence[Point], trend: Trend
) -> list[str]:
    """The trend from the first point to the target date (or the last point, if later),
    clipped to the plot."""
    first_day = ordered[0].observed_on
    last_day = max(measure.target_on, ordered[-1].observed_on)
    segment = _clip(
        (float((first_day - frame.start).days), trend.value_on(first_day, measure.target_on)),
        (float((last_day - frame.start).days), trend.value_on(last_day, measure.target_on)),
        frame.low,
        frame.high,
    )
    if segment is None:
        return []
    (day0, value0), (day1, value1) = segment
    return [
        f'<line class="chart-trend" x1="{_number(frame.x(day0))}" y1="{_number(frame.y(value0))}" '
        f'x2="{_number(frame.x(day1))}" y2="{_number(frame.y(value1))}" '
        f'stroke="{TREND_COLOUR}" stroke-width="2.5" stroke-dasharray="{TREND_DASHES}" '
        'stroke-linecap="round"/>'
    ]
