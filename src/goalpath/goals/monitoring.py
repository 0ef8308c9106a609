"""Progress monitoring of a measurable goal (SPEC section 13), as pure functions: no
database and no HTTP, so the API's view, the goal page, report drafting and the family
export compute the same numbers from the same points.

IDEA (34 CFR 300.320(a)(2)-(3)) asks for measurable annual goals and a statement of how
progress toward them is measured: a goal's `Measure` says what is measured and where it
should be by when; its `Point`s are the progress events that carry a value.

Decisions where SPEC 13 is silent, each stated once here:

- *Order*: points are taken oldest first, by `observed_on` and then by
  `id_progress_event`, whatever order they are given in.
- *Weeks*: the trend's x axis is weeks since the measure's `baseline_on` (days / 7). The
  least-squares line does not depend on where x starts, so neither does the slope nor the
  projection (the line's value on `target_on`); the baseline is simply the origin the
  aim line already uses.
- *One day*: when every point was observed on the same day there is no rate over time
  to fit, so `trend` is None rather than a slope of 0 (which would claim "no growth").
  `status` then still applies the mastery and four-point rules, and answers
  `insufficient_data` where it would have judged the projection.
- *Aim line*: its value on a day is the straight line from (baseline_on,
  baseline_value) to (target_on, target_value), held at the baseline before baseline_on
  and at the target after target_on: past the target date the expectation is the target,
  not more.
- *Ties*: a value at the target counts as reached; a point on the aim line is not on its
  wrong side. Both comparisons allow for floating-point rounding (1e-9), so 2/3 of 90
  is 60.
- *Small mastery*: `mastered` is judged first, as SPEC orders it, so a measure with
  `mastery_points` of 1 or 2 is mastered by that many points at the target even though
  fewer than three points are otherwise `insufficient_data`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Literal

Direction = Literal["increase", "decrease"]
Status = Literal["mastered", "on_track", "off_track", "insufficient_data"]

# Fewer points than this give no trend and no status beyond `insufficient_data`.
MINIMUM_POINTS = 3
# The last this many points all on the wrong side of the aim line mean `off_track`.
OFF_TRACK_POINTS = 4

# The district's codes until an administrator relabels them (SPEC 13), in order.
DEFAULT_PROGRESS_CODES: tuple[tuple[str, str], ...] = (
    ("mastered", "Mastered"),
    ("sufficient", "Making sufficient progress"),
    ("insufficient", "Not making sufficient progress"),
    ("not_introduced", "Not yet introduced"),
    ("not_measurable", "Progress not measurable at this time"),
)

_SUGGESTED_CODES: dict[Status, str] = {
    "mastered": "mastered",
    "on_track": "sufficient",
    "off_track": "insufficient",
    "insufficient_data": "not_measurable",
}

_TOLERANCE = 1e-9

MONTH_NAMES = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


@dataclass(frozen=True)
class Measure:
    """How a goal is measured. Values are floats: convert a database `Decimal` with
    `float()` before building one."""

    unit: str
    direction: Direction
    baseline_value: float
    baseline_on: date
    target_value: float
    target_on: date
    method: str
    mastery_points: int = 3

    def __post_init__(self) -> None:
        if self.direction not in ("increase", "decrease"):
            raise ValueError(f"The direction must be increase or decrease, not {self.direction!r}.")
        if self.mastery_points < 1:
            raise ValueError("Mastery needs at least one data point.")


@dataclass(frozen=True)
class Point:
    """One progress event's data point."""

    id_progress_event: int
    observed_on: date
    value: float


@dataclass(frozen=True)
class AimLine:
    """The line from the baseline to the target; `from_` is JSON's `from`."""

    from_: tuple[date, float]
    to: tuple[date, float]

    def value_on(self, day: date) -> float:
        """The aim on `day`: on the line between the ends, held at each end outside."""
        (start, start_value), (end, end_value) = self.from_, self.to
        if day >= end:
            return end_value
        if day <= start:
            return start_value
        return start_value + (end_value - start_value) * (day - start).days / (end - start).days

    def as_json(self) -> dict[str, dict[str, date | float]]:
        return {
            "from": {"date": self.from_[0], "value": self.from_[1]},
            "to": {"date": self.to[0], "value": self.to[1]},
        }


@dataclass(frozen=True)
class Trend:
    """The least-squares line of value over weeks, given by its slope and its value on
    the measure's `target_on`."""

    slope_per_week: float
    projected_at_target: float

    def value_on(self, day: date, target_on: date) -> float:
        """The line's value on `day`, for drawing it (`target_on` is the measure's)."""
        return self.projected_at_target + self.slope_per_week * (day - target_on).days / 7


@dataclass(frozen=True)
class ProgressView:
    """A goal's monitoring view (`GET /api/v1/goals/{id}/progress`)."""

    measure: Measure | None
    points: tuple[Point, ...]
    aim_line: AimLine | None
    trend: Trend | None
    status: Status


def sorted_points(points: Iterable[Point]) -> list[Point]:
    """Oldest first: by the day observed, then by the event's id."""
    return sorted(points, key=lambda point: (point.observed_on, point.id_progress_event))


def points_until(points: Iterable[Point], day: date) -> list[Point]:
    """The points a report sees: observed on or before `day`, the last day of its period
    (SPEC 13), oldest first."""
    return [point for point in sorted_points(points) if point.observed_on <= day]


def aim_line(measure: Measure) -> AimLine:
    return AimLine(
        from_=(measure.baseline_on, measure.baseline_value),
        to=(measure.target_on, measure.target_value),
    )


def _weeks_since(day: date, origin: date) -> float:
    return (day - origin).days / 7


def trend(points: Iterable[Point], measure: Measure) -> Trend | None:
    """Ordinary least squares of value over weeks since the baseline; None under three
    points, or when every point was observed on the same day (no rate to fit)."""
    ordered = sorted_points(points)
    if len(ordered) < MINIMUM_POINTS:
        return None
    weeks = [_weeks_since(point.observed_on, measure.baseline_on) for point in ordered]
    values = [point.value for point in ordered]
    mean_week = sum(weeks) / len(weeks)
    mean_value = sum(values) / len(values)
    spread = sum((week - mean_week) ** 2 for week in weeks)
    if spread == 0:
        return None
    covariance = sum(
        (week - mean_week) * (value - mean_value) for week, value in zip(weeks, values, strict=True)
    )
    slope = covariance / spread
    target_week = _weeks_since(measure.target_on, measure.baseline_on)
    return Trend(
        slope_per_week=slope,
        projected_at_target=mean_value + slope * (target_week - mean_week),
    )


def _close(first: float, second: float) -> bool:
    return math.isclose(first, second, rel_tol=_TOLERANCE, abs_tol=_TOLERANCE)


def at_or_beyond(value: float, goal: float, direction: Direction) -> bool:
    """Whether `value` has reached `goal`: at or above it for an increase, at or below it
    for a decrease."""
    if _close(value, goal):
        return True
    return value > goal if direction == "increase" else value < goal


def _wrong_side(value: float, aim: float, direction: Direction) -> bool:
    """Short of the aim line: below it for an increase, above it for a decrease. A point
    on the line is not."""
    return not at_or_beyond(value, aim, direction)


def is_mastered(measure: Measure, points: Iterable[Point]) -> bool:
    """The last `mastery_points` points all at or beyond the target."""
    ordered = sorted_points(points)
    if len(ordered) < measure.mastery_points:
        return False
    return all(
        at_or_beyond(point.value, measure.target_value, measure.direction)
        for point in ordered[-measure.mastery_points :]
    )


def off_aim_line(measure: Measure, points: Iterable[Point]) -> bool:
    """The last four points all on the wrong side of the aim line, each judged against
    the line's value on the day it was observed."""
    ordered = sorted_points(points)
    if len(ordered) < OFF_TRACK_POINTS:
        return False
    line = aim_line(measure)
    return all(
        _wrong_side(point.value, line.value_on(point.observed_on), measure.direction)
        for point in ordered[-OFF_TRACK_POINTS:]
    )


def status(measure: Measure | None, points: Iterable[Point]) -> Status:
    """SPEC 13's status, its rules tried in the SPEC's order; see the module's docstring
    for a trend that cannot be fitted."""
    ordered = sorted_points(points)
    if measure is not None and is_mastered(measure, ordered):
        return "mastered"
    if measure is None or len(ordered) < MINIMUM_POINTS:
        return "insufficient_data"
    if off_aim_line(measure, ordered):
        return "off_track"
    fitted = trend(ordered, measure)
    if fitted is None:
        return "insufficient_data"
    if at_or_beyond(fitted.projected_at_target, measure.target_value, measure.direction):
        return "on_track"
    return "off_track"


def progress_view(measure: Measure | None, points: Iterable[Point]) -> ProgressView:
    """Everything the monitoring view shows, from the points the reader may see (for a
    report, pass `points_until(points, period_end)`)."""
    ordered = tuple(sorted_points(points))
    return ProgressView(
        measure=measure,
        points=ordered,
        aim_line=aim_line(measure) if measure is not None else None,
        trend=trend(ordered, measure) if measure is not None else None,
        status=status(measure, ordered),
    )


def suggested_code(status: Status) -> str:
    """The progress code a draft suggests for a status (SPEC 13); staff confirm it."""
    return _SUGGESTED_CODES[status]


def value_from_trials(correct: int, total: int) -> float:
    """Trial data as the percentage stored in `value` (not rounded: the counts are kept
    beside it and displays round)."""
    if total < 1:
        raise ValueError("The number of trials must be at least 1.")
    if not 0 <= correct <= total:
        raise ValueError(
            f"The number of correct trials must be between 0 and the number of trials ({total})."
        )
    return correct * 100 / total


# --- Plain words -------------------------------------------------------------------


def format_value(value: float) -> str:
    """A value as people write it: whole numbers without ".0", others to one decimal,
    halves rounded up as taught in school (14.25 is "14.3", not float formatting's
    "14.2")."""
    rounded = Decimal(repr(value)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
    text = f"{rounded:f}"
    if text.endswith(".0"):
        text = text[:-2]
    return "0" if text == "-0" else text


def is_percentage(unit: str) -> bool:
    return unit.strip().startswith("%")


def quantity(value: float, unit: str, *, with_unit: bool = True) -> str:
    """A value with its unit: "12 words correct per minute", "40% of trials". A
    percentage keeps its sign without the unit ("65%"); other values are bare."""
    number = format_value(value)
    unit = unit.strip()
    if is_percentage(unit):
        return f"{number}{unit}" if with_unit else f"{number}%"
    return f"{number} {unit}" if with_unit and unit else number


def english_month(day: date) -> str:
    return MONTH_NAMES[day.month - 1]


def _sentence_start(text: str) -> str:
    return text[:1].upper() + text[1:]


def _label_clause(code_label: str | None) -> str:
    """ ": making sufficient progress" from the code's label; a label that opens with an
    acronym ("IEP ...") keeps its capitals."""
    label = (code_label or "").strip().rstrip(".")
    if not label:
        return ""
    if not label[1:2].isupper():
        label = label[:1].lower() + label[1:]
    return f": {label}"


def _shown_projection(measure: Measure, points: Sequence[Point], projected: float) -> float:
    """The projection as a parent should read it: a straight line can run past what the
    unit allows, so a percentage stays within 0-100 and a measure that was never negative
    is not projected below 0."""
    if is_percentage(measure.unit):
        return min(max(projected, 0.0), 100.0)
    observed = [measure.baseline_value, measure.target_value, *(p.value for p in points)]
    if min(observed) >= 0:
        return max(projected, 0.0)
    return projected


def plain_summary(
    first_name: str,
    measure: Measure | None,
    points: Iterable[Point],
    trend: Trend | None,
    status: Status,
    code_label: str | None,
    month_name: Callable[[date], str] = english_month,
    *,
    subject: str | None = None,
) -> str:
    """The sentence a parent reads: baseline, latest value, target and trend in plain
    words with the unit (SPEC 13), closed by the progress code's label.

    For example: "Reading fluency went from 12 words correct per minute in September to 31
    in November; the goal is 45 by May. At this rate Maya will reach about 47 by May:
    making sufficient progress."

    - `first_name` names the student in the trend's sentence; nothing else about the
      student is used.
    - `subject` opens the first sentence: a short noun phrase for what is measured (a
      goal's short title such as "Reading fluency"). A title that is a whole sentence
      ("Maya will read ...") does not read well there: pass None and the student's first
      name opens it ("Maya went from 12 words correct per minute ...").
    - `points` are the points the reader may see (a draft never passes sensitive ones),
      `trend` and `status` computed from the same points; `code_label` is the label of
      the report's code, or None to leave it out.
    - `month_name` names a date after "in" and "by": a month ("September"), by default in
      English; a formatter for another language or one that adds the year fits too.
    """
    name = first_name.strip() or "the student"
    label = _label_clause(code_label)
    if measure is None:
        return f"This goal has no measure yet{label}."
    ordered = sorted_points(points)
    opening = _sentence_start((subject or "").strip() or name)
    unit = measure.unit
    start = quantity(measure.baseline_value, unit)
    goal = (
        f"the goal is {quantity(measure.target_value, unit, with_unit=False)} "
        f"by {month_name(measure.target_on)}"
    )
    if not ordered:
        return (
            f"{opening} had a baseline of {start} in {month_name(measure.baseline_on)}; "
            f"{goal}. There are no results yet{label}."
        )

    latest = ordered[-1]
    began, reached = month_name(measure.baseline_on), month_name(latest.observed_on)
    if format_value(latest.value) == format_value(measure.baseline_value):
        history = (
            f"{opening} stayed at {start} in {reached}"
            if began == reached
            else f"{opening} stayed at {start} from {began} to {reached}"
        )
    else:
        verb = "went down from" if latest.value < measure.baseline_value else "went from"
        end = quantity(latest.value, unit, with_unit=False)
        history = (
            f"{opening} {verb} {start} to {end} in {reached}"
            if began == reached
            else f"{opening} {verb} {start} in {began} to {end} in {reached}"
        )

    side = "below" if measure.direction == "increase" else "above"
    short_of_line = f"the last {OFF_TRACK_POINTS} results were {side} the line of expected progress"
    if status == "mastered":
        streak = measure.mastery_points
        results = "the last result" if streak == 1 else f"each of the last {streak} results"
        outlook = f"{_sentence_start(name)} met the goal in {results}"
    elif trend is not None:
        projected = _shown_projection(measure, ordered, trend.projected_at_target)
        outlook = (
            f"At this rate {name} will reach about "
            f"{quantity(projected, unit, with_unit=False)} by {month_name(measure.target_on)}"
        )
        if off_aim_line(measure, ordered):
            outlook += f", but {short_of_line}"
    elif off_aim_line(measure, ordered):
        outlook = _sentence_start(short_of_line)
    else:
        outlook = "There are not yet enough results to show a trend"
    return f"{history}; {goal}. {outlook}{label}."
