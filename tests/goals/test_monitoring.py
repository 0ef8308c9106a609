"""Progress monitoring's pure rules (SPEC 13): aim line, trend, status, the report's
view, suggested codes, trial data and the plain-words summary. Every expected number is
worked out by hand in the comment beside it."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from goalpath.goals.monitoring import (
    DEFAULT_PROGRESS_CODES,
    AimLine,
    Measure,
    Point,
    Trend,
    aim_line,
    format_value,
    off_aim_line,
    plain_summary,
    points_until,
    progress_view,
    quantity,
    sorted_points,
    status,
    suggested_code,
    trend,
    value_from_trials,
)

BASELINE_ON = date(2025, 9, 1)  # a Monday


def week(number: float) -> date:
    return BASELINE_ON + timedelta(days=round(number * 7))


def rising(**changes: object) -> Measure:
    """10 -> 70 over 30 weeks: the aim line climbs exactly 2 a week."""
    values: dict[str, object] = {
        "unit": "words correct per minute",
        "direction": "increase",
        "baseline_value": 10.0,
        "baseline_on": BASELINE_ON,
        "target_value": 70.0,
        "target_on": week(30),
        "method": "probe",
    }
    values.update(changes)
    return Measure(**values)  # type: ignore[arg-type]


def falling(**changes: object) -> Measure:
    """20 -> 5 over 30 weeks: the aim line falls exactly 0.5 a week."""
    values: dict[str, object] = {
        "unit": "times a day",
        "direction": "decrease",
        "baseline_value": 20.0,
        "baseline_on": BASELINE_ON,
        "target_value": 5.0,
        "target_on": week(30),
        "method": "observation",
    }
    values.update(changes)
    return Measure(**values)  # type: ignore[arg-type]


def series(*pairs: tuple[float, float]) -> list[Point]:
    """Points from (week, value) pairs, ids in the order given."""
    return [Point(index + 1, week(at), value) for index, (at, value) in enumerate(pairs)]


# --- Measure -------------------------------------------------------------------------


def test_a_measure_refuses_an_unknown_direction_and_an_empty_mastery() -> None:
    with pytest.raises(ValueError, match="increase or decrease"):
        rising(direction="up")
    with pytest.raises(ValueError, match="at least one"):
        rising(mastery_points=0)
    assert rising().mastery_points == 3


# --- Aim line ------------------------------------------------------------------------


def test_the_aim_line_runs_from_baseline_to_target() -> None:
    line = aim_line(rising())
    assert line == AimLine(from_=(BASELINE_ON, 10.0), to=(week(30), 70.0))
    assert line.as_json() == {
        "from": {"date": BASELINE_ON, "value": 10.0},
        "to": {"date": week(30), "value": 70.0},
    }
    # 10 + 2 a week: week 15 -> 40, week 1 -> 12.
    assert line.value_on(week(15)) == pytest.approx(40.0)
    assert line.value_on(week(1)) == pytest.approx(12.0)


def test_the_aim_line_holds_its_ends_outside_the_span() -> None:
    line = aim_line(rising())
    assert line.value_on(week(-3)) == 10.0
    assert line.value_on(week(35)) == 70.0


# --- Trend ---------------------------------------------------------------------------


def test_trend_of_a_straight_line_is_exact() -> None:
    # (0w,10),(1w,12),(2w,14): mean week 1, mean value 12, covariance sum
    # (-1)(-2)+0+(1)(2) = 4, spread 2 -> slope 2/week; at week 30: 12 + 2*(30-1) = 70.
    fitted = trend(series((0, 10), (1, 12), (2, 14)), rising())
    assert fitted == Trend(slope_per_week=2.0, projected_at_target=70.0)


def test_trend_is_least_squares_over_noisy_points() -> None:
    # weeks 0..3, values 10,14,12,16: means 1.5 and 13; dx -1.5,-.5,.5,1.5;
    # dy -3,1,-1,3; covariance 4.5-.5-.5+4.5 = 8; spread 5 -> slope 1.6;
    # at week 30: 13 + 1.6*(30-1.5) = 13 + 45.6 = 58.6.
    fitted = trend(series((0, 10), (1, 14), (2, 12), (3, 16)), rising())
    assert fitted is not None
    assert fitted.slope_per_week == pytest.approx(1.6)
    assert fitted.projected_at_target == pytest.approx(58.6)


def test_trend_does_not_depend_on_where_the_weeks_start() -> None:
    # weeks 10,11,12, values 30,32,34: slope 2; at week 30: 32 + 2*(30-11) = 70.
    fitted = trend(series((10, 30), (11, 32), (12, 34)), rising())
    assert fitted is not None
    assert fitted.slope_per_week == pytest.approx(2.0)
    assert fitted.projected_at_target == pytest.approx(70.0)


def test_trend_counts_days_not_whole_weeks() -> None:
    # days 0, 7, 21 = weeks 0, 1, 3 with values 10, 11, 13: value = 10 + week, so the
    # slope is 1 and at week 30 the line is at 40.
    points = [
        Point(1, BASELINE_ON, 10),
        Point(2, BASELINE_ON + timedelta(days=7), 11),
        Point(3, BASELINE_ON + timedelta(days=21), 13),
    ]
    fitted = trend(points, rising())
    assert fitted is not None
    assert fitted.slope_per_week == pytest.approx(1.0)
    assert fitted.projected_at_target == pytest.approx(40.0)
    # The line's value on any day, for drawing: week 10 -> 20.
    assert fitted.value_on(week(10), week(30)) == pytest.approx(20.0)


def test_trend_ignores_the_order_given() -> None:
    points = series((0, 10), (1, 14), (2, 12), (3, 16))
    assert trend(list(reversed(points)), rising()) == trend(points, rising())


def test_no_trend_under_three_points() -> None:
    assert trend([], rising()) is None
    assert trend(series((0, 10)), rising()) is None
    assert trend(series((0, 10), (1, 12)), rising()) is None


def test_no_trend_when_every_point_is_on_one_day() -> None:
    # All x equal: the spread is 0 and no slope exists (not a slope of 0).
    assert trend(series((4, 10), (4, 20), (4, 30)), rising()) is None


# --- Status: mastered ----------------------------------------------------------------


def test_mastered_by_exactly_mastery_points_at_the_target() -> None:
    # Earlier points below the target do not matter; the last 3 are 70, 70, 70.
    assert status(rising(), series((1, 20), (27, 70), (28, 70), (29, 70))) == "mastered"
    assert status(rising(), series((27, 71), (28, 75), (29, 90))) == "mastered"


def test_one_point_short_of_the_target_breaks_the_streak() -> None:
    # Last three 69, 70, 70: not mastered; 3 points, aim at weeks 27..29 is 64, 66, 68,
    # so none below it; slope over (27,69),(28,70),(29,70): means 28 and 69.667,
    # covariance (-1)(-.667)+0+(1)(.333) = 1, spread 2 -> 0.5/week; at week 30:
    # 69.667 + 0.5*2 = 70.667 >= 70 -> on_track.
    assert status(rising(), series((27, 69), (28, 70), (29, 70))) == "on_track"
    # Last point 69 after three at 70: weeks 27..30, values 70,70,70,69: means 28.5 and
    # 69.75; covariance -.375-.125+.125-1.125 = -1.5, spread 5 -> slope -0.3; at week 30:
    # 69.75 - 0.3*1.5 = 69.3 < 70 and only the last point is below the aim (70) ->
    # off_track by the projection.
    assert status(rising(), series((27, 70), (28, 70), (29, 70), (30, 69))) == "off_track"


def test_mastery_needs_as_many_points_as_mastery_points() -> None:
    # Two points at the target when three are needed: not mastered, then under 3 points.
    assert status(rising(), series((28, 70), (29, 70))) == "insufficient_data"
    # mastery_points 2: mastered is judged before the three-point minimum.
    assert status(rising(mastery_points=2), series((28, 70), (29, 70))) == "mastered"
    # mastery_points 5 with four points at 70 in weeks 0..3: not mastered; all above the
    # aim (10..16); slope 0 -> projection 70 = target, a tie that reaches it: on_track.
    points = series((0, 70), (1, 70), (2, 70), (3, 70))
    assert status(rising(mastery_points=5), points) == "on_track"


def test_mastered_for_a_decrease_means_at_or_below_the_target() -> None:
    assert status(falling(), series((26, 9), (27, 5), (28, 4), (29, 5))) == "mastered"
    # 6 is above a target of 5: the streak of the last three (6, 5, 5) is broken.
    assert status(falling(), series((27, 6), (28, 5), (29, 5))) != "mastered"
    # The same values for an increase goal of 5 would all be beyond it.
    assert status(falling(direction="increase"), series((27, 6), (28, 5), (29, 5))) == ("mastered")


def test_the_streak_is_the_last_points_by_day_then_id() -> None:
    # Two points on the target day: the one with the higher id is the later one.
    last_is_70 = [Point(9, week(30), 70), Point(8, week(30), 60)]
    assert status(rising(mastery_points=1), last_is_70) == "mastered"
    last_is_60 = [Point(8, week(30), 70), Point(9, week(30), 60)]
    assert status(rising(mastery_points=1), last_is_60) == "insufficient_data"
    assert [point.id_progress_event for point in sorted_points(last_is_70)] == [8, 9]


# --- Status: insufficient data --------------------------------------------------------


def test_insufficient_data_without_a_measure_or_under_three_points() -> None:
    assert status(None, series((0, 10), (1, 12), (2, 14), (3, 16))) == "insufficient_data"
    assert status(rising(), []) == "insufficient_data"
    assert status(rising(), series((0, 10), (1, 50))) == "insufficient_data"


def test_points_all_on_one_day_give_no_projection_to_judge() -> None:
    # Three points on week 4 (aim 18), all above it: no trend -> insufficient_data.
    assert status(rising(), series((4, 20), (4, 21), (4, 22))) == "insufficient_data"
    # Four on one day all below the aim: the four-point rule needs no trend.
    assert status(rising(), series((4, 1), (4, 2), (4, 3), (4, 4))) == "off_track"
    # Three at the target on one day: mastered.
    assert status(rising(), series((4, 70), (4, 70), (4, 70))) == "mastered"


# --- Status: the four-point rule ------------------------------------------------------


def test_three_points_below_the_aim_line_are_not_enough() -> None:
    # Weeks 0..2 values 5, 9, 13 under an aim of 10, 12, 14: all below, but only 3.
    # Slope 4, mean 9 at week 1: at week 30 9 + 4*29 = 125 >= 70 -> on_track.
    assert status(rising(), series((0, 5), (1, 9), (2, 13))) == "on_track"


def test_four_points_below_the_aim_line_are_off_track_even_if_the_projection_reaches() -> None:
    # Weeks 0..3 values 4, 8, 12, 15 under an aim of 10, 12, 14, 16: all four below.
    # Means 1.5 and 9.75; dy -5.75,-1.75,2.25,5.25; covariance 8.625+.875+1.125+7.875
    # = 18.5, spread 5 -> slope 3.7; at week 30: 9.75 + 3.7*28.5 = 115.2 >= 70.
    points = series((0, 4), (1, 8), (2, 12), (3, 15))
    fitted = trend(points, rising())
    assert fitted is not None
    assert fitted.projected_at_target == pytest.approx(115.2)
    assert off_aim_line(rising(), points)
    assert status(rising(), points) == "off_track"


def test_a_point_exactly_on_the_aim_line_is_not_on_the_wrong_side() -> None:
    # As above but the last value is 16, the aim's value at week 3: slope 4, mean 10 at
    # week 1.5: at week 30 10 + 4*28.5 = 124 -> on_track.
    points = series((0, 4), (1, 8), (2, 12), (3, 16))
    assert not off_aim_line(rising(), points)
    assert status(rising(), points) == "on_track"


def test_a_point_on_an_aim_value_computed_with_rounding_is_on_the_line() -> None:
    # Aim 0.1 -> 1.1 over 10 days: on day 2 it is 0.3, computed as 0.30000000000000004.
    # The three later points (0, past the target date, aim 1.1) are below it; the one at
    # 0.3 is on the line, so not all of the last four are on the wrong side.
    measure = rising(
        baseline_value=0.1, target_value=1.1, target_on=BASELINE_ON + timedelta(days=10)
    )
    assert aim_line(measure).value_on(BASELINE_ON + timedelta(days=2)) != 0.3
    points = [Point(1, BASELINE_ON + timedelta(days=2), 0.3)] + [
        Point(index, BASELINE_ON + timedelta(days=9 + index), 0.0) for index in (2, 3, 4)
    ]
    assert not off_aim_line(measure, points)


def test_only_the_last_four_points_count() -> None:
    # Week 0 at 30 is far above the aim, then weeks 1..4 at 11, 13, 15, 17 are each 1
    # below the aim (12, 14, 16, 18).
    points = series((0, 30), (1, 11), (2, 13), (3, 15), (4, 17))
    assert status(rising(), points) == "off_track"
    # One of the last four above the aim: weeks 1..4 at 11, 13, 17, 17.
    points = series((0, 30), (1, 11), (2, 13), (3, 17), (4, 17))
    assert not off_aim_line(rising(), points)


def test_for_a_decrease_the_wrong_side_is_above_the_aim_line() -> None:
    # Aim 20, 19.5, 19, 18.5 at weeks 0..3; values 21, 20, 19.5, 19 are all above it.
    assert status(falling(), series((0, 21), (1, 20), (2, 19.5), (3, 19))) == "off_track"
    # Values 19, 18, 17, 16 are all below it, the right side: slope -1, mean 17.5 at
    # week 1.5 -> at week 30 17.5 - 28.5 = -11 <= 5 -> on_track.
    below = series((0, 19), (1, 18), (2, 17), (3, 16))
    assert not off_aim_line(falling(), below)
    assert status(falling(), below) == "on_track"
    # The same points for an increase from 20 are all below its aim: off_track.
    assert status(falling(direction="increase", target_value=35.0), below) == "off_track"


# --- Status: on track or off track by the projection ----------------------------------


def test_a_projection_exactly_at_the_target_is_on_track() -> None:
    # Projection 70 (see the straight-line trend above) = target 70.
    assert status(rising(), series((0, 10), (1, 12), (2, 14))) == "on_track"


def test_a_projection_short_of_the_target_is_off_track() -> None:
    # (0,10),(1,12),(2,13.7): mean 11.9; covariance 1.9+0+1.8 = 3.7, spread 2 -> 1.85;
    # at week 30: 11.9 + 1.85*29 = 65.55 < 70; only one point below the aim.
    points = series((0, 10), (1, 12), (2, 13.7))
    fitted = trend(points, rising())
    assert fitted is not None
    assert fitted.projected_at_target == pytest.approx(65.55)
    assert status(rising(), points) == "off_track"


def test_projection_for_a_decrease_goal() -> None:
    # (0,20),(1,19.5),(2,19): slope -0.5; at week 30: 19.5 - 0.5*29 = 5 = target.
    assert status(falling(), series((0, 20), (1, 19.5), (2, 19))) == "on_track"
    # (0,20),(1,19.8),(2,19.6): slope -0.2; at week 30: 19.8 - 0.2*29 = 14 > 5.
    assert status(falling(), series((0, 20), (1, 19.8), (2, 19.6))) == "off_track"


def test_status_ignores_the_order_given() -> None:
    points = series((0, 4), (1, 8), (2, 12), (3, 15))
    assert status(rising(), list(reversed(points))) == "off_track"
    shuffled = [points[2], points[0], points[3], points[1]]
    assert status(rising(), shuffled) == "off_track"


# --- The view and a report's points ----------------------------------------------------


def test_points_until_keeps_the_period_end_day_and_sorts() -> None:
    points = series((3, 16), (1, 12), (2, 14))
    kept = points_until(points, week(2))
    assert [(point.observed_on, point.value) for point in kept] == [
        (week(1), 12),
        (week(2), 14),
    ]
    assert points_until(points, week(1) - timedelta(days=1)) == []


def test_a_report_sees_the_view_as_it_was_at_the_end_of_its_period() -> None:
    # Weeks 0..2 climb 2 a week (on track), weeks 27..29 sit at the target (mastered).
    points = series((0, 10), (1, 12), (2, 14), (27, 70), (28, 70), (29, 70))
    assert progress_view(rising(), points).status == "mastered"
    early = progress_view(rising(), points_until(points, week(2)))
    assert early.status == "on_track"
    assert early.trend == Trend(slope_per_week=2.0, projected_at_target=70.0)
    assert early.aim_line == aim_line(rising())
    assert [point.id_progress_event for point in early.points] == [1, 2, 3]


def test_the_view_without_a_measure() -> None:
    view = progress_view(None, series((0, 10), (1, 12), (2, 14)))
    assert (view.aim_line, view.trend, view.status) == (None, None, "insufficient_data")
    assert len(view.points) == 3


# --- Codes and trials ------------------------------------------------------------------


def test_suggested_codes_follow_the_status() -> None:
    assert suggested_code("mastered") == "mastered"
    assert suggested_code("on_track") == "sufficient"
    assert suggested_code("off_track") == "insufficient"
    assert suggested_code("insufficient_data") == "not_measurable"
    codes = {code for code, _label in DEFAULT_PROGRESS_CODES}
    for each in ("mastered", "on_track", "off_track", "insufficient_data"):
        assert suggested_code(each) in codes


def test_the_default_progress_codes_in_the_specs_order() -> None:
    assert DEFAULT_PROGRESS_CODES == (
        ("mastered", "Mastered"),
        ("sufficient", "Making sufficient progress"),
        ("insufficient", "Not making sufficient progress"),
        ("not_introduced", "Not yet introduced"),
        ("not_measurable", "Progress not measurable at this time"),
    )


def test_trials_become_a_percentage() -> None:
    assert value_from_trials(3, 4) == 75.0
    assert value_from_trials(0, 1) == 0.0
    assert value_from_trials(5, 5) == 100.0
    assert value_from_trials(2, 3) == pytest.approx(66.6667, abs=1e-4)


@pytest.mark.parametrize(
    ("correct", "total", "message"),
    [
        (0, 0, "The number of trials must be at least 1."),
        (1, -2, "The number of trials must be at least 1."),
        (-1, 4, r"between 0 and the number of trials \(4\)\."),
        (5, 4, r"between 0 and the number of trials \(4\)\."),
    ],
)
def test_trials_are_validated(correct: int, total: int, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        value_from_trials(correct, total)


# --- Plain words -----------------------------------------------------------------------


def test_values_are_written_as_people_write_them() -> None:
    assert format_value(12.0) == "12"
    assert format_value(12.34) == "12.3"
    assert format_value(14.25) == "14.3"  # half up, not float formatting's 14.2
    assert format_value(12.96) == "13"
    assert format_value(66.6667) == "66.7"
    assert format_value(-0.04) == "0"
    assert quantity(40, "% of trials") == "40% of trials"
    assert quantity(65, "% of trials", with_unit=False) == "65%"
    assert quantity(12, "words correct per minute") == "12 words correct per minute"
    assert quantity(31, "words correct per minute", with_unit=False) == "31"


def fluency(**changes: object) -> Measure:
    """12 -> 45 words correct per minute from 1 September to 11 May (week 36)."""
    values: dict[str, object] = {"baseline_value": 12.0, "target_value": 45.0}
    values["target_on"] = week(36)
    values.update(changes)
    return rising(**values)


def summary_of(
    measure: Measure | None,
    points: list[Point],
    code_label: str | None,
    *,
    subject: str | None = "Reading fluency",
) -> str:
    fitted = trend(points, measure) if measure is not None else None
    return plain_summary(
        "Maya", measure, points, fitted, status(measure, points), code_label, subject=subject
    )


def test_the_summary_of_a_goal_on_track() -> None:
    # Weeks 6, 9, 12 (13 Oct, 3 Nov, 24 Nov) at 27, 29, 31: slope 2/3 a week; at week
    # 36: 31 + 24 * 2/3 = 47 >= 45 -> on_track.
    points = series((6, 27), (9, 29), (12, 31))
    assert status(fluency(), points) == "on_track"
    assert summary_of(fluency(), points, "Making sufficient progress") == (
        "Reading fluency went from 12 words correct per minute in September to 31 in "
        "November; the goal is 45 by May. At this rate Maya will reach about 47 by May: "
        "making sufficient progress."
    )


def test_the_summary_before_any_point() -> None:
    assert summary_of(fluency(), [], "Progress not measurable at this time") == (
        "Reading fluency had a baseline of 12 words correct per minute in September; the "
        "goal is 45 by May. There are no results yet: progress not measurable at this time."
    )


def test_the_summary_under_three_points_makes_no_projection() -> None:
    points = series((6, 27), (9, 29))
    assert summary_of(fluency(), points, "Progress not measurable at this time") == (
        "Reading fluency went from 12 words correct per minute in September to 29 in "
        "November; the goal is 45 by May. There are not yet enough results to show a "
        "trend: progress not measurable at this time."
    )


def test_the_summary_of_a_mastered_goal() -> None:
    points = series((20, 44), (24, 45), (28, 46.5), (30, 48))
    assert status(fluency(), points) == "mastered"
    assert summary_of(fluency(), points, "Mastered") == (
        "Reading fluency went from 12 words correct per minute in September to 48 in "
        "March; the goal is 45 by May. Maya met the goal in each of the last 3 results: "
        "mastered."
    )
    assert summary_of(fluency(mastery_points=1), points[-1:], "Mastered").endswith(
        "Maya met the goal in the last result: mastered."
    )


def test_the_summary_of_a_decrease_goal() -> None:
    # Weeks 4, 8, 12 at 17, 15, 12.5: means 8 and 14.833; covariance
    # (-4)(2.167)+0+(4)(-2.333) = -18, spread 32 -> -0.5625 a week; at week 30:
    # 14.833 - 0.5625*22 = 2.458 <= 5 -> on_track ("2.5").
    points = series((4, 17), (8, 15), (12, 12.5))
    assert status(falling(), points) == "on_track"
    assert summary_of(falling(), points, "Making sufficient progress", subject="Calling out") == (
        "Calling out went down from 20 times a day in September to 12.5 in November; the "
        "goal is 5 by March. At this rate Maya will reach about 2.5 by March: making "
        "sufficient progress."
    )


def test_the_summary_reads_percentages_naturally_and_can_open_with_the_name() -> None:
    # 40% -> 80% by week 30; weeks 8, 10, 12 at 60, 62.5, 65: slope 1.25 a week; at
    # week 30: 62.5 + 1.25*20 = 87.5 >= 80.
    measure = rising(unit="% of trials", baseline_value=40.0, target_value=80.0)
    points = series((8, 60), (10, 62.5), (12, 65))
    assert summary_of(measure, points, "Making sufficient progress", subject=None) == (
        "Maya went from 40% of trials in September to 65% in November; the goal is 80% by "
        "March. At this rate Maya will reach about 87.5% by March: making sufficient "
        "progress."
    )


def test_the_summary_keeps_a_percentage_projection_within_100() -> None:
    # Slope 10 a week from 60 at week 10: the line reaches 260 at week 30.
    measure = rising(unit="% of trials", baseline_value=40.0, target_value=80.0)
    points = series((8, 40), (9, 50), (10, 60))
    assert "will reach about 100% by March" in summary_of(measure, points, None)


def test_the_summary_says_why_a_reaching_projection_is_still_off_track() -> None:
    # The four-point case above: projection 115.2 but all of the last 4 below the aim.
    points = series((0, 4), (1, 8), (2, 12), (3, 15))
    assert summary_of(rising(), points, "Not making sufficient progress") == (
        "Reading fluency went from 10 words correct per minute to 15 in September; the "
        "goal is 70 by March. At this rate Maya will reach about 115.2 by March, but the "
        "last 4 results were below the line of expected progress: not making sufficient "
        "progress."
    )


def test_the_summary_of_results_that_stayed_put_without_a_code() -> None:
    points = series((6, 12), (9, 12.04))
    assert summary_of(fluency(), points, None) == (
        "Reading fluency stayed at 12 words correct per minute from September to November; "
        "the goal is 45 by May. There are not yet enough results to show a trend."
    )


def test_the_summary_without_a_measure_and_with_an_acronym_label() -> None:
    assert summary_of(None, series((0, 1)), "IEP team to review") == (
        "This goal has no measure yet: IEP team to review."
    )


def test_the_summary_takes_another_month_formatter() -> None:
    points = series((6, 27), (9, 29), (12, 31))
    text = plain_summary(
        "Maya",
        fluency(),
        points,
        trend(points, fluency()),
        "on_track",
        "Making sufficient progress",
        lambda day: f"{day:%B %Y}",
        subject="reading fluency",
    )
    assert text.startswith(
        "Reading fluency went from 12 words correct per minute in September 2025 to 31 in "
        "November 2025; the goal is 45 by May 2026."
    )
