"""The progress chart's SVG (SPEC 13): well-formed, self-contained and accessible, with
one circle per point and the aim line where the numbers put it."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ElementTree
from datetime import date, timedelta

import pytest

from goalpath.goals.monitoring import Measure, Point, Trend, trend
from goalpath.goals.progress_chart import (
    MARGIN_BOTTOM,
    MARGIN_LEFT,
    MARGIN_RIGHT,
    MARGIN_TOP,
    data_table_rows,
    date_ticks,
    describe,
    progress_svg,
    tick_label,
    value_ticks,
)

SVG = "{http://www.w3.org/2000/svg}"
WIDTH, HEIGHT = 640, 280
PLOT_WIDTH = WIDTH - MARGIN_LEFT - MARGIN_RIGHT  # 568
PLOT_HEIGHT = HEIGHT - MARGIN_TOP - MARGIN_BOTTOM  # 214
BASELINE_ON = date(2025, 9, 1)
ROUNDING = 0.051  # coordinates are written to one decimal


def week(number: int) -> date:
    return BASELINE_ON + timedelta(weeks=number)


def measure(**changes: object) -> Measure:
    """10 -> 70 words correct per minute over weeks 0..30."""
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


def series(*pairs: tuple[int, float]) -> list[Point]:
    return [Point(index + 1, week(at), value) for index, (at, value) in enumerate(pairs)]


def parse(svg: str) -> ElementTree.Element:
    return ElementTree.fromstring(svg)


def by_class(root: ElementTree.Element, css_class: str) -> list[ElementTree.Element]:
    return [element for element in root.iter() if element.get("class") == css_class]


def draw(
    goal_measure: Measure | None, points: list[Point], *, title: str = "Reading fluency"
) -> str:
    fitted = trend(points, goal_measure) if goal_measure is not None else None
    return progress_svg(goal_measure, points, fitted, title=title)


def test_one_circle_per_point_joined_by_a_line() -> None:
    points = series((0, 10), (5, 22), (10, 31), (15, 40), (20, 48))
    root = parse(draw(measure(), points))
    assert len(root.findall(f".//{SVG}circle")) == 5
    (line,) = by_class(root, "chart-data")
    assert len(line.get("points", "").split()) == 5


def test_the_aim_line_and_points_land_on_their_coordinates() -> None:
    # Values 10..70 give gridlines 0, 20, 40, 60, 80; dates run from week 0 to week 30.
    points = series((0, 10), (15, 40), (30, 60))
    root = parse(draw(measure(), points))
    (aim,) = by_class(root, "chart-aim")

    def y(value: float) -> float:
        return MARGIN_TOP + (80 - value) / 80 * PLOT_HEIGHT

    assert float(aim.get("x1", "")) == pytest.approx(MARGIN_LEFT, abs=ROUNDING)
    assert float(aim.get("y1", "")) == pytest.approx(y(10), abs=ROUNDING)  # 223.25
    assert float(aim.get("x2", "")) == pytest.approx(WIDTH - MARGIN_RIGHT, abs=ROUNDING)
    assert float(aim.get("y2", "")) == pytest.approx(y(70), abs=ROUNDING)  # 62.75
    assert aim.get("stroke-dasharray")
    middle = root.findall(f".//{SVG}circle")[1]
    # Week 15 of 30 is halfway across; 40 of 80 is halfway up.
    assert float(middle.get("cx", "")) == pytest.approx(MARGIN_LEFT + PLOT_WIDTH / 2, abs=ROUNDING)
    assert float(middle.get("cy", "")) == pytest.approx(y(40), abs=ROUNDING)
    (target,) = by_class(root, "chart-target")
    assert target.get("d", "").startswith(f"M{WIDTH - MARGIN_RIGHT:.1f} ")
    labels = {text.text for text in root.iter(f"{SVG}text")}
    assert {"0", "20", "40", "60", "80", "Goal 70", "Sep", "Mar"} <= labels


def test_every_text_is_escaped() -> None:
    goal = measure(unit="<b>bold</b> & more")
    svg = draw(goal, series((0, 10), (1, 12), (2, 14)), title='Read <i>"fast"</i> & well')
    assert "<b>" not in svg
    assert "<i>" not in svg
    assert "&lt;b&gt;" in svg
    root = parse(svg)
    assert root.findtext(f"{SVG}title") == 'Read <i>"fast"</i> & well'
    assert "<b>bold</b> & more" in (root.findtext(f"{SVG}desc") or "")
    point_title = root.find(f".//{SVG}circle/{SVG}title")
    assert point_title is not None
    assert point_title.text == "1 Sep 2025: 10 <b>bold</b> & more"


def test_the_chart_is_self_contained_and_allowed_by_the_csp() -> None:
    svg = draw(measure(), series((0, 10), (1, 12), (2, 14), (3, 17)))
    assert "style=" not in svg
    assert "<script" not in svg.lower()
    assert "<style" not in svg.lower()
    assert "href" not in svg
    assert "url(" not in svg
    assert not re.search(r"\son[a-z]+\s*=", svg)
    for element in parse(svg).iter():
        assert not any(name.startswith("on") or name == "style" for name in element.attrib)


def test_the_chart_is_an_image_with_a_title_and_a_description() -> None:
    points = series((0, 10), (1, 12), (2, 14))
    root = parse(
        progress_svg(measure(), points, trend(points, measure()), title="Fluency", ident="g7")
    )
    assert root.get("role") == "img"
    assert root.get("aria-labelledby") == "g7-title g7-desc"
    title, desc = root.find(f"{SVG}title"), root.find(f"{SVG}desc")
    assert title is not None and title.get("id") == "g7-title" and title.text == "Fluency"
    assert desc is not None and desc.get("id") == "g7-desc"
    # Slope 2 a week; 12 + 2*29 = 70 at week 30.
    assert desc.text == (
        "Baseline 10 words correct per minute on 1 Sep 2025; goal 70 words correct per "
        "minute by 30 Mar 2026 (higher is better). 3 results from 1 Sep 2025 to 15 Sep "
        "2025, between 10 words correct per minute and 14 words correct per minute; latest "
        "14 words correct per minute. Trend: up 2 a week, about 70 words correct per minute "
        "by 30 Mar 2026."
    )


def test_lines_differ_by_dashes_and_markers_and_contrast_with_white() -> None:
    points = series((0, 10), (1, 12), (2, 14), (3, 17))
    root = parse(draw(measure(), points))
    (data,) = by_class(root, "chart-data")
    (aim,) = by_class(root, "chart-aim")
    (trend_line,) = by_class(root, "chart-trend")
    patterns = {data.get("stroke-dasharray"), aim.get("stroke-dasharray")}
    patterns.add(trend_line.get("stroke-dasharray"))
    assert len(patterns) == 3  # solid, dashed, dotted
    for key in ("chart-data-key", "chart-aim-key", "chart-trend-key", "chart-target-key"):
        assert len(by_class(root, key)) == 1
    for element in root.iter():
        if element.get("class") == "chart-grid":
            continue  # decoration: the values are labelled
        for attribute in ("stroke", "fill"):
            colour = element.get(attribute)
            if colour is None or colour == "none":
                continue
            if element.tag == f"{SVG}circle" and attribute == "stroke":
                continue  # the white ring that separates touching points
            assert contrast_on_white(colour) >= 3, (element.get("class"), colour)


def contrast_on_white(colour: str) -> float:
    channels = [int(colour[index : index + 2], 16) / 255 for index in (1, 3, 5)]
    linear = [
        value / 12.92 if value <= 0.03928 else ((value + 0.055) / 1.055) ** 2.4
        for value in channels
    ]
    luminance = 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]
    return 1.05 / (luminance + 0.05)


def test_no_points_yet() -> None:
    svg = draw(measure(), [])
    root = parse(svg)
    assert root.findall(f".//{SVG}circle") == []
    assert by_class(root, "chart-data") == []
    assert len(by_class(root, "chart-aim")) == 1
    assert "No results yet" in [text.text for text in root.iter(f"{SVG}text")]
    assert "No results yet." in (root.findtext(f"{SVG}desc") or "")


def test_nothing_at_all() -> None:
    root = parse(progress_svg(None, [], None, title="Empty"))
    assert root.findall(f".//{SVG}circle") == []
    assert root.findtext(f"{SVG}desc") == "No measure is set for this goal. No results yet."


def test_one_point_without_a_measure_sits_in_the_middle() -> None:
    root = parse(draw(None, [Point(1, week(3), 12)]))
    (circle,) = root.findall(f".//{SVG}circle")
    # One day is padded a week either side: it is drawn halfway across.
    assert float(circle.get("cx", "")) == pytest.approx(MARGIN_LEFT + PLOT_WIDTH / 2, abs=ROUNDING)
    assert by_class(root, "chart-data") == []
    assert by_class(root, "chart-aim") == []
    assert by_class(root, "chart-aim-key") == []


def test_all_equal_values_are_drawn_inside_the_plot() -> None:
    for value in (0.0, 5.0, -3.0):
        root = parse(draw(None, series((0, value), (1, value), (2, value))))
        heights = {float(circle.get("cy", "")) for circle in root.findall(f".//{SVG}circle")}
        assert len(heights) == 1
        (height,) = heights
        assert MARGIN_TOP <= height <= MARGIN_TOP + PLOT_HEIGHT


def test_dates_outside_the_baseline_to_target_span_stay_in_the_plot() -> None:
    # One point 5 weeks before the baseline, one 10 weeks after the target: the dates run
    # from week -5 to week 40, so the baseline is 5/45 of the way across.
    points = series((-5, 8), (10, 30), (20, 50), (40, 75))
    root = parse(draw(measure(), points))
    for circle in root.findall(f".//{SVG}circle"):
        assert MARGIN_LEFT <= float(circle.get("cx", "")) <= WIDTH - MARGIN_RIGHT
    (aim,) = by_class(root, "chart-aim")
    assert float(aim.get("x1", "")) == pytest.approx(
        MARGIN_LEFT + PLOT_WIDTH * 5 / 45, abs=ROUNDING
    )
    assert float(aim.get("x2", "")) == pytest.approx(
        MARGIN_LEFT + PLOT_WIDTH * 35 / 45, abs=ROUNDING
    )


def test_a_steep_trend_is_clipped_to_the_plot() -> None:
    points = series((0, 10), (1, 40), (2, 70))  # 30 a week: 40 + 30*29 = 910 at week 30
    root = parse(progress_svg(measure(), points, Trend(30.0, 910.0), title="Steep"))
    (line,) = by_class(root, "chart-trend")
    for name in ("y1", "y2"):
        assert (
            MARGIN_TOP - ROUNDING
            <= float(line.get(name, ""))
            <= MARGIN_TOP + PLOT_HEIGHT + ROUNDING
        )
    # It leaves the top (value 80) at week 70/30 = 2.33.
    assert float(line.get("y2", "")) == pytest.approx(MARGIN_TOP, abs=ROUNDING)


def test_value_ticks() -> None:
    assert value_ticks([10, 70]) == [0, 20, 40, 60, 80]
    assert value_ticks([40, 65], percentage=True) == [0, 25, 50, 75, 100]
    assert value_ticks([0, 0]) == [0, 0.25, 0.5, 0.75, 1]
    assert value_ticks([-3, -3]) == [-4, -3.5, -3, -2.5, -2]
    assert [tick_label(tick) for tick in (0, 0.25, 2.5, 20, -0.0)] == [
        "0",
        "0.25",
        "2.5",
        "20",
        "0",
    ]


def test_date_ticks_are_month_abbreviations() -> None:
    assert date_ticks(date(2025, 9, 1), date(2025, 12, 15)) == [
        (date(2025, 9, 1), "Sep"),
        (date(2025, 10, 1), "Oct"),
        (date(2025, 11, 1), "Nov"),
        (date(2025, 12, 1), "Dec"),
    ]
    # Ten months are thinned to every other.
    school_year = date_ticks(date(2025, 8, 20), date(2026, 6, 20))
    assert [label for _day, label in school_year] == ["Sep", "Nov", "Jan", "Mar", "May"]
    assert date_ticks(date(2025, 9, 3), date(2025, 9, 20)) == [(date(2025, 9, 3), "Sep 3")]


def test_data_table_rows_are_oldest_first() -> None:
    rows = data_table_rows([Point(2, week(2), 14.25), Point(1, week(0), 10.0)])
    assert [(row.id_progress_event, row.date_text, row.value_text) for row in rows] == [
        (1, "1 Sep 2025", "10"),
        (2, "15 Sep 2025", "14.3"),
    ]


def test_describe_a_decrease_and_a_falling_trend() -> None:
    goal = measure(unit="% of trials", direction="decrease", baseline_value=60.0, target_value=20.0)
    text = describe(goal, [Point(1, week(1), 55.0)], Trend(-1.25, 21.0))
    assert text == (
        "Baseline 60% of trials on 1 Sep 2025; goal 20% of trials by 30 Mar 2026 (lower is "
        "better). 1 result: 55% of trials on 8 Sep 2025. Trend: down 1.3% a week, about 21% "
        "of trials by 30 Mar 2026."
    )
