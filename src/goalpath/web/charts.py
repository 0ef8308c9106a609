"""Charts drawn on the server as SVG: no script, nothing from another host, and the
same picture for every browser (SPEC section 9).

A chart is an image to assistive technology (role="img" with a <title> and a <desc>);
its numbers are also given as text by the page that shows it, so nothing is only in
the picture (WCAG 1.1.1, 1.4.1). Colours come from app.css classes, not inline styles,
which the CSP refuses.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from html import escape

from markupsafe import Markup

_WIDTH = 720
_HEIGHT = 260
_LEFT = 44
_RIGHT = 12
_TOP = 16
_BOTTOM = 44
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


@dataclass(frozen=True)
class WeekCount:
    start: date  # the Monday that begins the week
    count: int

    @property
    def end(self) -> date:
        return self.start + timedelta(days=6)


@dataclass(frozen=True)
class WeeklyChart:
    first_day: date
    last_day: date
    weeks: list[WeekCount]

    @property
    def total(self) -> int:
        return sum(week.count for week in self.weeks)

    @property
    def busiest(self) -> WeekCount | None:
        best: WeekCount | None = None
        for week in self.weeks:
            if week.count and (best is None or week.count > best.count):
                best = week
        return best

    @property
    def active_weeks(self) -> int:
        return sum(1 for week in self.weeks if week.count)


def weekly_counts(stamps: Iterable[datetime], first_day: date, last_day: date) -> WeeklyChart:
    """Counts per Monday-to-Sunday week covering first_day..last_day (UTC dates); a time
    outside the range is left out."""
    first_monday = first_day - timedelta(days=first_day.weekday())
    weeks = (last_day - first_monday).days // 7 + 1
    counts = [0] * weeks
    for stamp in stamps:
        day = stamp.date()
        if first_day <= day <= last_day:
            counts[(day - first_monday).days // 7] += 1
    return WeeklyChart(
        first_day=first_day,
        last_day=last_day,
        weeks=[
            WeekCount(first_monday + timedelta(weeks=index), count)
            for index, count in enumerate(counts)
        ],
    )


def _ticks(highest: int) -> list[int]:
    """Up to five whole-number gridlines from 0 to a round value at or above `highest`."""
    if highest <= 4:
        return list(range(max(highest, 1) + 1))
    step = 1
    while highest / step > 4:
        for factor in (2, 5, 10):
            if highest / (step * factor) <= 4:
                step *= factor
                break
        else:
            step *= 10
    top = -(-highest // step) * step
    return list(range(0, top + 1, step))


def weekly_bar_chart(chart: WeeklyChart, *, title: str, description: str, ident: str) -> Markup:
    """The chart as inline SVG markup: one bar per week, gridlines, month labels."""
    plot_width = _WIDTH - _LEFT - _RIGHT
    plot_height = _HEIGHT - _TOP - _BOTTOM
    ticks = _ticks(max((week.count for week in chart.weeks), default=0))
    scale = plot_height / ticks[-1]
    slot = plot_width / max(len(chart.weeks), 1)
    bar = max(slot * 0.7, 1.0)
    baseline = _TOP + plot_height
    title_id, desc_id = f"{ident}-title", f"{ident}-desc"
    parts = [
        f'<svg class="chart" viewBox="0 0 {_WIDTH} {_HEIGHT}" role="img" '
        f'aria-labelledby="{title_id} {desc_id}" xmlns="http://www.w3.org/2000/svg">',
        f'<title id="{title_id}">{escape(title)}</title>',
        f'<desc id="{desc_id}">{escape(description)}</desc>',
    ]
    for tick in ticks:
        y = baseline - tick * scale
        parts.append(
            f'<line class="chart-grid" x1="{_LEFT}" x2="{_WIDTH - _RIGHT}" '
            f'y1="{y:.1f}" y2="{y:.1f}"/>'
        )
        parts.append(
            f'<text class="chart-label" x="{_LEFT - 6}" y="{y + 4:.1f}" '
            f'text-anchor="end">{tick}</text>'
        )
    for index, week in enumerate(chart.weeks):
        x = _LEFT + index * slot + (slot - bar) / 2
        if week.count:
            height = week.count * scale
            noun = "note" if week.count == 1 else "notes"
            parts.append(
                f'<rect class="chart-bar" x="{x:.1f}" y="{baseline - height:.1f}" '
                f'width="{bar:.1f}" height="{height:.1f}">'
                f"<title>Week of {week.start.isoformat()}: {week.count} {noun}</title></rect>"
            )
        # A week whose Sunday is within the first seven days of a month holds that
        # month's first day: the month's label goes under it.
        if week.end.day <= 7 and week.end.replace(day=1) <= chart.last_day:
            parts.append(
                f'<text class="chart-label" x="{_LEFT + index * slot:.1f}" '
                f'y="{baseline + 18}">{_MONTHS[week.end.month - 1]}</text>'
            )
    parts.append(
        f'<line class="chart-axis" x1="{_LEFT}" x2="{_WIDTH - _RIGHT}" '
        f'y1="{baseline}" y2="{baseline}"/>'
    )
    parts.append(
        f'<text class="chart-label" x="{_LEFT + plot_width / 2:.1f}" y="{_HEIGHT - 6}" '
        'text-anchor="middle">Weeks of the school year</text>'
    )
    parts.append("</svg>")
    # Every interpolated text above is escaped or a number the code computed.
    return Markup("".join(parts))  # noqa: S704
