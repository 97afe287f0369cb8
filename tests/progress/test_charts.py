"""Inline SVG charts (apps/progress/charts.py): structure, figures, accessibility, safety.

Every test parses the output with ElementTree: a chart that is not well-formed XML fails.
"""

from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ElementTree
from collections.abc import Callable
from datetime import date, timedelta

import pytest
from django.utils.safestring import SafeString

from apps.progress.charts import (
    LEGEND_HEIGHT,
    PADDING_BOTTOM,
    PADDING_TOP,
    Bar,
    GroupSeries,
    Series,
    bar_chart,
    grouped_bar_chart,
    line_chart,
)

SVG = "{http://www.w3.org/2000/svg}"
NOV_3 = date(2025, 11, 3)
HOSTILE = '<script>alert(1)</script> & "x"'
# The line chart's plot with default height 200: the legend row sits below the day labels.
LINE_TOP = PADDING_TOP
LINE_BOTTOM = 200 - PADDING_BOTTOM - LEGEND_HEIGHT
# The bar chart's plot with default height 200: no legend.
BAR_BOTTOM = 200 - PADDING_BOTTOM


def days(count: int) -> list[date]:
    return [NOV_3 + timedelta(days=offset) for offset in range(count)]


def parse(svg: str) -> ElementTree.Element:
    # Our own output, not untrusted input: parsing it strictly is the well-formedness check.
    return ElementTree.fromstring(svg)  # noqa: S314


def elements(root: ElementTree.Element, tag: str) -> list[ElementTree.Element]:
    return list(root.iter(f"{SVG}{tag}"))


def classes(element: ElementTree.Element) -> set[str]:
    return set(element.get("class", "").split())


def series_group(root: ElementTree.Element, css_class: str) -> ElementTree.Element:
    (group,) = [group for group in elements(root, "g") if {"series", css_class} <= classes(group)]
    return group


def tooltip(element: ElementTree.Element) -> str:
    title = element.find(f"{SVG}title")
    assert title is not None, f"{element.tag} has no <title>"
    return title.text or ""


def desc(root: ElementTree.Element) -> str:
    return root.find(f"{SVG}desc").text or ""


def stress_chart(values: list[float | None], **options: object) -> ElementTree.Element:
    series = [Series(name="Stress", values=values, css_class="stress")]
    return parse(line_chart(title="Stress", series=series, days=days(len(values)), **options))


def a_line_chart(*, title: str = "Stress", name: str = "Stress") -> str:
    series = [Series(name=name, values=[2, 3, None, 5], css_class="stress")]
    return line_chart(title=title, series=series, days=days(4))


def a_bar_chart(*, title: str = "Adherence", name: str = "w/c 3 Nov") -> str:
    bars = [Bar(label=name, value=0.4), Bar(label="w/c 10 Nov", value=None)]
    return bar_chart(title=title, bars=bars)


def a_grouped_bar_chart(*, title: str = "Adherence by kind", name: str = "Stretch") -> str:
    series = [
        GroupSeries(name=name, values=[0.5, None], css_class="stretch"),
        GroupSeries(name="Water", values=[1.0, 0.25], css_class="water"),
    ]
    return grouped_bar_chart(title=title, groups=["w/c 3 Nov", "w/c 10 Nov"], series=series)


EVERY_CHART: list[Callable[..., str]] = [a_line_chart, a_bar_chart, a_grouped_bar_chart]
EMPTY_CHARTS: dict[str, Callable[[], str]] = {
    "line without days": lambda: line_chart(title="T", series=[], days=[]),
    "line without series": lambda: line_chart(title="T", series=[], days=days(3)),
    "line all None": lambda: line_chart(
        title="T", series=[Series(name="S", values=[None, None], css_class="s")], days=days(2)
    ),
    "line all NaN": lambda: line_chart(
        title="T", series=[Series(name="S", values=[math.nan], css_class="s")], days=days(1)
    ),
    "bars without bars": lambda: bar_chart(title="T", bars=[]),
    "bars all None": lambda: bar_chart(title="T", bars=[Bar(label="w/c 3 Nov", value=None)]),
    "groups without groups": lambda: grouped_bar_chart(title="T", groups=[], series=[]),
    "groups all None": lambda: grouped_bar_chart(
        title="T", groups=["a"], series=[GroupSeries(name="S", values=[None], css_class="s")]
    ),
}


# Line chart


def test_a_series_with_gaps_is_drawn_as_one_polyline_per_run_of_days() -> None:
    root = stress_chart([2, 3, None, 5, 6, 7, None, None, 4, 4])

    polylines = elements(series_group(root, "stress"), "polyline")

    assert [len(line.get("points").split()) for line in polylines] == [2, 3, 2]


def test_no_line_is_drawn_across_a_missing_day() -> None:
    root = stress_chart([2, 3, None, 5, 6])

    before, after = (
        [float(point.split(",")[0]) for point in line.get("points").split()]
        for line in elements(root, "polyline")
    )

    day_width = before[1] - before[0]
    assert after[0] - before[-1] == pytest.approx(2 * day_width, abs=0.2)


def test_a_lone_reading_between_gaps_is_drawn_as_a_bigger_circle() -> None:
    root = stress_chart([2, 3, None, 5, None, 7, 8])

    lone = [circle for circle in elements(root, "circle") if "lone" in classes(circle)]

    assert len(lone) == 1
    assert tooltip(lone[0]) == "Stress, 6 Nov: 5.0"
    assert float(lone[0].get("r")) > float(elements(root, "circle")[0].get("r"))
    assert len(elements(root, "polyline")) == 2


def test_value_ten_sits_at_the_top_of_the_plot_and_zero_at_the_bottom() -> None:
    root = stress_chart([10, 0, 5])

    heights = [float(circle.get("cy")) for circle in elements(root, "circle")]

    assert heights == [LINE_TOP, LINE_BOTTOM, (LINE_TOP + LINE_BOTTOM) / 2]


def test_values_outside_the_axis_are_clamped_into_the_plot_but_reported_as_they_are() -> None:
    root = stress_chart([15, -3, 4])

    high, low, _ = elements(root, "circle")

    assert float(high.get("cy")) == LINE_TOP
    assert float(low.get("cy")) == LINE_BOTTOM
    assert tooltip(high) == "Stress, 3 Nov: 15.0"
    assert tooltip(low) == "Stress, 4 Nov: -3.0"


def test_a_custom_axis_maps_its_own_range_onto_the_plot() -> None:
    root = stress_chart([1, 3], y_min=1, y_max=3)

    heights = [float(circle.get("cy")) for circle in elements(root, "circle")]

    assert heights == [LINE_BOTTOM, LINE_TOP]


def test_nan_and_infinity_break_the_line_like_a_missing_day() -> None:
    root = stress_chart([2, 3, math.nan, 5, 6, math.inf, 7])

    assert len(elements(root, "polyline")) == 2
    assert len(elements(root, "circle")) == 5
    assert "5 days with data" in desc(root)


def test_the_x_axis_labels_the_first_and_last_day_and_four_between() -> None:
    root = stress_chart([5.0] * 30)

    labels = [text.text for text in elements(root, "text") if "x-label" in classes(text)]

    assert len(labels) == 6
    assert labels[0] == "3 Nov"
    assert labels[-1] == "2 Dec"


def test_the_y_axis_labels_the_bottom_the_middle_and_the_top_on_grid_lines() -> None:
    root = stress_chart([4, 5])

    (grid,) = [group for group in elements(root, "g") if "grid" in classes(group)]

    assert [text.text for text in elements(grid, "text")] == ["0", "5", "10"]
    assert [float(line.get("y1")) for line in elements(grid, "line")] == [
        LINE_BOTTOM,
        (LINE_TOP + LINE_BOTTOM) / 2,
        LINE_TOP,
    ]


def test_every_reading_has_a_tooltip_with_its_day_and_value() -> None:
    root = stress_chart([2, None, 7.5])

    assert [tooltip(circle) for circle in elements(root, "circle")] == [
        "Stress, 3 Nov: 2.0",
        "Stress, 5 Nov: 7.5",
    ]


def test_the_legend_names_each_series_with_its_colour() -> None:
    series = [
        Series(name="Stress", values=[2, 3], css_class="stress"),
        Series(name="Pain", values=[1, None], css_class="pain"),
    ]
    root = parse(line_chart(title="Check-ins", series=series, days=days(2)))

    (legend,) = [group for group in elements(root, "g") if "legend" in classes(group)]

    assert [text.text for text in elements(legend, "text")] == ["Stress", "Pain"]
    assert [swatch.get("fill") for swatch in elements(legend, "rect")] == ["#c05621", "#2b6cb0"]


def test_the_description_summarises_each_series_in_words() -> None:
    series = [
        Series(name="Stress", values=[2, 7.5, None, 4], css_class="stress"),
        Series(name="Pain", values=[None, None, 3, None], css_class="pain"),
        Series(name="Sleep", values=[None] * 4, css_class="sleep"),
    ]
    root = parse(line_chart(title="Check-ins", series=series, days=days(4)))

    assert desc(root) == (
        "3 Nov to 6 Nov. Stress: 3 days with data, from 2.0 to 7.5, latest 4.0. "
        "Pain: 1 day with data, 3.0. Sleep: no data."
    )


def test_a_y_label_is_drawn_beside_the_axis() -> None:
    root = stress_chart([2, 3], y_label="Stress (0-10)")

    assert [text.text for text in elements(root, "text") if "y-label" in classes(text)] == [
        "Stress (0-10)"
    ]


def test_a_series_shorter_than_the_days_counts_the_rest_as_missing() -> None:
    series = [Series(name="Stress", values=[2, 3], css_class="stress")]
    root = parse(line_chart(title="Stress", series=series, days=days(5)))

    assert len(elements(root, "circle")) == 2
    assert "2 days with data" in desc(root)


def test_an_inverted_axis_does_not_raise_and_still_draws_inside_the_plot() -> None:
    root = stress_chart([2, 3], y_min=10, y_max=0)

    for circle in elements(root, "circle"):
        assert LINE_TOP <= float(circle.get("cy")) <= LINE_BOTTOM


# Bar chart


def test_bar_heights_are_proportional_to_their_values() -> None:
    bars = [Bar(label="a", value=0.25), Bar(label="b", value=0.5), Bar(label="c", value=1.0)]
    root = parse(bar_chart(title="Adherence", bars=bars))

    heights = [float(rect.get("height")) for rect in elements(root, "rect")]

    full = BAR_BOTTOM - PADDING_TOP
    assert heights == [full / 4, full / 2, full]
    for rect in elements(root, "rect"):
        assert float(rect.get("y")) + float(rect.get("height")) == BAR_BOTTOM


def test_percent_bars_show_rounded_percentages_in_their_tooltips() -> None:
    bars = [Bar(label="w/c 3 Nov", value=0.724), Bar(label="w/c 10 Nov", value=1.0)]
    root = parse(bar_chart(title="Adherence", bars=bars))

    assert [tooltip(rect) for rect in elements(root, "rect")] == [
        "w/c 3 Nov: 72 %",
        "w/c 10 Nov: 100 %",
    ]


def test_plain_number_bars_are_rounded_to_one_decimal() -> None:
    bars = [Bar(label="Mon", value=3.14159), Bar(label="Tue", value=2)]
    root = parse(bar_chart(title="Glasses", bars=bars, y_max=8, value_format="number"))

    assert [tooltip(rect) for rect in elements(root, "rect")] == ["Mon: 3.1", "Tue: 2.0"]
    (grid,) = [group for group in elements(root, "g") if "grid" in classes(group)]
    assert [text.text for text in elements(grid, "text")] == ["0.0", "4.0", "8.0"]


def test_a_week_without_data_keeps_its_slot_with_no_bar_and_says_no_data() -> None:
    bars = [Bar(label="w/c 3 Nov", value=0.5), Bar(label="w/c 10 Nov", value=None)]
    root = parse(bar_chart(title="Adherence", bars=bars))

    drawn, empty = elements(root, "rect")

    assert "no-data" in classes(empty)
    assert empty.get("fill-opacity") == "0"
    assert tooltip(empty) == "w/c 10 Nov: no data"
    assert float(empty.get("x")) > float(drawn.get("x")) + float(drawn.get("width"))
    assert [text.text for text in elements(root, "text") if "x-label" in classes(text)] == [
        "w/c 3 Nov",
        "w/c 10 Nov",
    ]


def test_bars_above_the_axis_are_clamped_into_the_plot() -> None:
    bars = [Bar(label="a", value=1.7), Bar(label="b", value=-0.2)]
    root = parse(bar_chart(title="Adherence", bars=bars))

    over, under = elements(root, "rect")

    assert float(over.get("y")) == PADDING_TOP
    assert float(under.get("height")) == 0
    assert tooltip(over) == "a: 170 %"


def test_the_bar_description_names_the_highest_the_lowest_and_the_weeks_without_data() -> None:
    bars = [
        Bar(label="w/c 3 Nov", value=0.4),
        Bar(label="w/c 10 Nov", value=0.9),
        Bar(label="w/c 17 Nov", value=None),
        Bar(label="w/c 24 Nov", value=math.nan),
    ]
    root = parse(bar_chart(title="Adherence", bars=bars))

    assert desc(root) == (
        "Highest w/c 10 Nov 90 %, lowest w/c 3 Nov 40 %, no data for w/c 17 Nov, w/c 24 Nov."
    )


def test_a_bar_chart_with_one_week_of_data_says_just_that_figure() -> None:
    root = parse(bar_chart(title="Adherence", bars=[Bar(label="w/c 3 Nov", value=0.5)]))

    assert desc(root) == "W/c 3 Nov 50 %."


# Grouped bar chart


def test_grouped_bars_stand_side_by_side_within_their_week() -> None:
    root = parse(a_grouped_bar_chart())

    stretch = elements(series_group(root, "stretch"), "rect")
    water = elements(series_group(root, "water"), "rect")

    assert [tooltip(rect) for rect in stretch + water] == [
        "Stretch, w/c 3 Nov: 50 %",
        "Stretch, w/c 10 Nov: no data",
        "Water, w/c 3 Nov: 100 %",
        "Water, w/c 10 Nov: 25 %",
    ]
    # In each week the water bar starts where the stretch slot ends.
    for stretch_bar, water_bar in zip(stretch, water, strict=True):
        stretch_end = float(stretch_bar.get("x")) + float(stretch_bar.get("width"))
        assert float(water_bar.get("x")) == pytest.approx(stretch_end, abs=0.15)
    assert float(water[0].get("height")) == pytest.approx(2 * float(stretch[0].get("height")))


def test_the_grouped_legend_and_description_cover_every_kind() -> None:
    root = parse(a_grouped_bar_chart())

    (legend,) = [group for group in elements(root, "g") if "legend" in classes(group)]

    assert [text.text for text in elements(legend, "text")] == ["Stretch", "Water"]
    assert desc(root) == (
        "Stretch: w/c 3 Nov 50 %, no data for w/c 10 Nov. "
        "Water: highest w/c 3 Nov 100 %, lowest w/c 10 Nov 25 %."
    )


# Every chart: accessibility, safety, robustness


@pytest.mark.parametrize("chart", EVERY_CHART)
def test_the_chart_is_an_image_labelled_by_its_title_and_described_in_words(
    chart: Callable[..., str],
) -> None:
    root = parse(chart(title="Last four weeks"))

    title = root.find(f"{SVG}title")
    description = root.find(f"{SVG}desc")
    assert root.get("role") == "img"
    assert root.get("aria-labelledby") == title.get("id")
    assert root.get("aria-describedby") == description.get("id")
    assert title.text == "Last four weeks"
    assert description.text


@pytest.mark.parametrize("chart", EVERY_CHART)
def test_the_chart_scales_to_the_width_of_its_container(chart: Callable[..., str]) -> None:
    root = parse(chart())

    assert root.get("width") == "100%"
    assert root.get("height") is None
    assert re.fullmatch(r"0 0 \d+ \d+", root.get("viewBox"))


@pytest.mark.parametrize("chart", EVERY_CHART)
def test_two_charts_on_one_page_have_different_ids(chart: Callable[..., str]) -> None:
    first, second = parse(chart()), parse(chart())

    first_ids = {element.get("id") for element in first.iter() if element.get("id")}
    second_ids = {element.get("id") for element in second.iter() if element.get("id")}

    assert len(first_ids) == 2
    assert not first_ids & second_ids


@pytest.mark.parametrize("chart", EVERY_CHART)
def test_the_same_input_draws_the_same_chart_apart_from_the_id_suffix(
    chart: Callable[..., str],
) -> None:
    def without_ids(svg: str) -> str:
        return re.sub(r"chart-[0-9a-f]{8}", "chart-ID", svg)

    assert without_ids(chart()) == without_ids(chart())


@pytest.mark.parametrize("chart", EVERY_CHART)
def test_the_chart_is_marked_safe_for_templates(chart: Callable[..., str]) -> None:
    svg = chart()

    parse(svg)
    assert isinstance(svg, SafeString)


@pytest.mark.parametrize("chart", EVERY_CHART)
def test_a_hostile_title_and_name_are_escaped(chart: Callable[..., str]) -> None:
    svg = chart(title=HOSTILE, name=HOSTILE)

    root = parse(svg)

    assert "<script>" not in svg
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;x&quot;" in svg
    assert root.find(f"{SVG}title").text == HOSTILE
    assert not elements(root, "script")
    assert HOSTILE in [element.text for element in root.iter()]
    assert any(HOSTILE in (title.text or "") for title in elements(root, "title")[1:])


def test_a_hostile_css_class_cannot_break_out_of_its_attribute() -> None:
    series = [Series(name="S", values=[1, 2], css_class='x" onload="alert(1)')]
    svg = line_chart(title="T", series=series, days=days(2))

    root = parse(svg)

    assert all(element.get("onload") is None for element in root.iter())


@pytest.mark.parametrize("chart", EVERY_CHART)
def test_control_characters_in_a_title_are_dropped_so_the_chart_still_parses(
    chart: Callable[..., str],
) -> None:
    root = parse(chart(title="Week\x00 one\x1b", name="Kind\x0b"))

    assert root.find(f"{SVG}title").text == "Week one"


@pytest.mark.parametrize("chart", [*EVERY_CHART, *EMPTY_CHARTS.values()])
def test_no_element_carries_inline_style_so_a_strict_csp_allows_the_chart(
    chart: Callable[..., str],
) -> None:
    root = parse(chart())

    assert all(element.get("style") is None for element in root.iter())
    assert not elements(root, "style")


@pytest.mark.parametrize("chart", EVERY_CHART)
def test_every_mark_is_painted_without_any_css(chart: Callable[..., str]) -> None:
    root = parse(chart())

    for element in root.iter():
        if element.tag in {f"{SVG}text", f"{SVG}rect", f"{SVG}circle"}:
            assert element.get("fill"), ElementTree.tostring(element)
        if element.tag in {f"{SVG}line", f"{SVG}polyline"}:
            assert element.get("stroke"), ElementTree.tostring(element)
            assert element.get("stroke-width"), ElementTree.tostring(element)


@pytest.mark.parametrize("chart", EVERY_CHART)
def test_every_mark_lies_inside_the_view_box(chart: Callable[..., str]) -> None:
    root = parse(chart())
    _, _, width, height = (float(number) for number in root.get("viewBox").split())

    for element in root.iter():
        for name in ("x", "cx", "x1", "x2"):
            if element.get(name) is not None:
                assert 0 <= float(element.get(name)) <= width
        for name in ("y", "cy", "y1", "y2"):
            if element.get(name) is not None:
                assert 0 <= float(element.get(name)) <= height


@pytest.mark.parametrize("chart", EMPTY_CHARTS.values(), ids=EMPTY_CHARTS.keys())
def test_a_chart_without_data_says_no_data_yet(chart: Callable[[], str]) -> None:
    root = parse(chart())

    assert "No data yet" in [text.text for text in elements(root, "text")]
    assert desc(root) == "No data yet."
    assert root.get("role") == "img"
    assert not elements(root, "polyline")
    assert not [rect for rect in elements(root, "rect") if "bar" in classes(rect)]
