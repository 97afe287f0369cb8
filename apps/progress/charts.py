"""Small charts as inline SVG strings, drawn on the server.

For the therapist's client page in the admin and the member's web pages: no JavaScript,
no CDN, no chart library. Each public function returns a SafeString for ``{{ chart }}``.

- **Safe to mark safe**: every element is built by ``_tag``, which escapes every attribute
  value and formats every number; text content passes through ``_text``. The output is
  well-formed XML whatever the caller's titles and names contain.
- **Works under a strict Content-Security-Policy**: no ``style=`` and no ``<style>``.
  Pages restyle by class; presentation attributes (``fill``, ``stroke``) keep a chart
  readable with no CSS at all.
- **Accessible**: the root has role="img", aria-labelledby its <title> and
  aria-describedby a <desc> that says the figures in words; every point and bar has a
  <title> tooltip with its day and value.
- **Robust**: NaN and infinities count as no data, values outside the axis are clamped
  into the plot, empty input draws "No data yet". The same input gives the same output
  apart from the random id suffix that keeps ids unique when charts share a page.
"""

from __future__ import annotations

import math
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

SVG_NAMESPACE = "http://www.w3.org/2000/svg"
# Room around the plot in viewBox units: the visible title above, tick labels on the left,
# day labels below, and one more row below those for a legend.
PADDING_TOP = 32
PADDING_LEFT = 44
PADDING_RIGHT = 12
PADDING_BOTTOM = 24
LEGEND_HEIGHT = 18
Y_LABEL_WIDTH = 14
NO_DATA_TEXT = "No data yet"
TEXT_COLOUR = "#333"
GRID_COLOUR = "#ddd"
BAR_COLOUR = "#2f855a"
# Each has at least 4.5:1 contrast on white, above the 3:1 WCAG asks of graphics.
COLOURS = {"stress": "#c05621", "pain": "#2b6cb0"}
PALETTE = ("#2f855a", "#6b46c1", "#975a16", "#b83280", "#2c7a7b")
# Fixed names, not strftime("%b"): the process locale must not change the output.
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
# Characters XML 1.0 forbids even escaped: one would make the whole page's SVG unparsable.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


@dataclass(frozen=True)
class Series:
    """One line (a value per day; None: no reading that day) or one colour of bars in a
    grouped chart (a value per group)."""

    name: str
    values: list[float | None]
    css_class: str


@dataclass(frozen=True)
class Bar:
    """One bar; None keeps its slot empty and says "no data" in its tooltip."""

    label: str
    value: float | None
    css_class: str = ""


# One colour of bars in a grouped chart: the same shape, a value per group.
GroupSeries = Series


@dataclass(frozen=True)
class _Plot:
    """The rectangle data is drawn in, and the value-to-y mapping."""

    left: float
    right: float
    top: float
    bottom: float
    y_min: float
    y_max: float

    def y(self, value: float) -> float:
        clamped = min(max(value, self.y_min), self.y_max)
        share = (clamped - self.y_min) / (self.y_max - self.y_min)
        return self.bottom - share * (self.bottom - self.top)


@dataclass(frozen=True)
class _Column:
    """Bars of one series, a value per group; a plain bar chart is one column."""

    name: str
    values: list[float | None]
    css_class: str
    bar_classes: list[str]
    colours: list[str]


def _text(value: object) -> str:
    return str(escape(_NOT_XML.sub("", str(value))))


def _attribute(value: str | float) -> str:
    if isinstance(value, str):
        return _text(value)
    if isinstance(value, int):
        return str(value)
    return f"{value:.1f}"  # one decimal is finer than a pixel at any width the pages use


def _tag(name: str, content: str = "", /, **attributes: str | float) -> str:
    """One element. Attributes are escaped here (class_ -> class, font_size -> font-size);
    content must already be markup or _text()."""
    rendered = "".join(
        f' {key.rstrip("_").replace("_", "-")}="{_attribute(value)}"'
        for key, value in attributes.items()
    )
    return f"<{name}{rendered}>{content}</{name}>" if content else f"<{name}{rendered}/>"


def _label(text: str, **attributes: str | float) -> str:
    return _tag("text", _text(text), fill=TEXT_COLOUR, **attributes)


def _classes(*names: str) -> str:
    return " ".join(name for name in names if name)


def _day(day: date) -> str:
    return f"{day.day} {MONTHS[day.month - 1]}"


def _tick(value: float) -> str:
    text = f"{value:.1f}".removesuffix(".0")
    return "0" if text == "-0" else text


def _format_value(value: float, value_format: str) -> str:
    return f"{value * 100:.0f} %" if value_format == "percent" else f"{value:.1f}"


def _clean(value: float | None) -> float | None:
    if value is None or not math.isfinite(float(value)):
        return None
    return float(value)


def _aligned(values: list[float | None], count: int) -> list[float | None]:
    """Exactly one cleaned value per slot: a short list is padded with None."""
    return [_clean(value) for value in values[:count]] + [None] * (count - len(values))


def _colour(css_class: str, index: int) -> str:
    return COLOURS.get(css_class, PALETTE[index % len(PALETTE)])


def _size(width: int, height: int) -> tuple[int, int]:
    # A floor keeps the plot rectangle from turning inside out when a caller asks for less.
    return max(int(width), 160), max(int(height), 100)


def _plot(
    *, width: int, height: int, y_min: float, y_max: float, legend: bool, y_label: str = ""
) -> _Plot:
    y_min = y_min if math.isfinite(y_min) else 0.0
    if not (math.isfinite(y_max) and y_max > y_min):  # any span beats dividing by zero
        y_max = y_min + 1
    left = PADDING_LEFT + (Y_LABEL_WIDTH if y_label else 0)
    bottom = height - PADDING_BOTTOM - (LEGEND_HEIGHT if legend else 0)
    return _Plot(left, width - PADDING_RIGHT, PADDING_TOP, bottom, y_min, y_max)


def _svg(*, title: str, desc: str, width: int, height: int, body: list[str]) -> SafeString:
    chart_id = f"chart-{uuid.uuid4().hex[:8]}"
    content = [
        _tag("title", _text(title), id=f"{chart_id}-title"),
        _tag("desc", _text(desc), id=f"{chart_id}-desc"),
        _label(title, class_="chart-title", x=4, y=16, font_size=13, font_weight="bold"),
        *body,
    ]
    svg = _tag(
        "svg",
        "".join(content),
        xmlns=SVG_NAMESPACE,
        class_="chart",
        role="img",
        aria_labelledby=f"{chart_id}-title",
        aria_describedby=f"{chart_id}-desc",
        viewBox=f"0 0 {width} {height}",
        width="100%",
        preserveAspectRatio="xMidYMid meet",
        font_family="sans-serif",
        font_size=11,
    )
    # Safe: _tag escaped every attribute, and all text content went through _text.
    return mark_safe(svg)  # noqa: S308


def _empty(*, title: str, width: int, height: int) -> SafeString:
    x, y = width / 2, height / 2
    message = _label(NO_DATA_TEXT, class_="no-data", x=x, y=y, text_anchor="middle")
    return _svg(title=title, desc=f"{NO_DATA_TEXT}.", width=width, height=height, body=[message])


def _y_axis(plot: _Plot, *, label: Callable[[float], str]) -> str:
    """Grid lines with their labels at the bottom, the middle and the top of the axis."""
    parts = []
    for value in (plot.y_min, (plot.y_min + plot.y_max) / 2, plot.y_max):
        y = plot.y(value)
        grid = {"stroke": GRID_COLOUR, "stroke_width": 1}
        parts.append(_tag("line", x1=plot.left, y1=y, x2=plot.right, y2=y, **grid))
        parts.append(_label(label(value), x=plot.left - 6, y=y + 4, text_anchor="end"))
    return _tag("g", "".join(parts), class_="grid")


def _x_label(text: str, *, x: float, plot: _Plot, anchor: str = "middle") -> str:
    return _label(text, class_="x-label", x=x, y=plot.bottom + 16, text_anchor=anchor)


def _legend(entries: list[tuple[str, str, str]], *, y: float) -> str:
    items, x = [], float(PADDING_LEFT)
    for name, css_class, colour in entries:
        swatch = _classes("swatch", css_class)
        items.append(_tag("rect", class_=swatch, x=x, y=y - 9, width=10, height=10, fill=colour))
        items.append(_label(name, x=x + 14, y=y))
        # ~6.5 units per character at font-size 11: a server cannot measure text.
        x += 30 + 6.5 * len(name)
    return _tag("g", "".join(items), class_="legend")


def _bars(*, plot: _Plot, groups: list[str], columns: list[_Column], value_format: str) -> str:
    """Side-by-side bars in one slot per group; a None keeps its place empty."""
    slot = (plot.right - plot.left) / len(groups)
    width = slot * 0.8 / len(columns)
    # ~60 units fit "w/c 30 Nov" at font-size 11; skipping labels beats overlapping them.
    step = max(1, math.ceil(60 / slot))
    parts = [
        _x_label(groups[index], x=plot.left + (index + 0.5) * slot, plot=plot)
        for index in range(0, len(groups), step)
    ]
    for column_index, column in enumerate(columns):
        bars = []
        for index, value in enumerate(column.values):
            x = plot.left + index * slot + slot * 0.1 + column_index * width
            name = ", ".join(part for part in (column.name, groups[index]) if part)
            shown = "no data" if value is None else _format_value(value, value_format)
            tooltip = _tag("title", _text(f"{name}: {shown}"))
            top = plot.top if value is None else plot.y(value)
            box = {"x": x, "y": top, "width": width, "height": plot.bottom - top}
            if value is None:
                # No bar, but a see-through target over the slot so hovering says why.
                css_class = _classes("bar", column.bar_classes[index], "no-data")
                bars.append(
                    _tag("rect", tooltip, class_=css_class, **box, fill="#fff", fill_opacity=0)
                )
                continue
            css_class = _classes("bar", column.bar_classes[index])
            bars.append(_tag("rect", tooltip, class_=css_class, **box, fill=column.colours[index]))
            if width >= 28:  # the figure above its bar, where "100 %" fits
                centre = x + width / 2
                bars.append(
                    _label(shown, class_="value", x=centre, y=top - 4, text_anchor="middle")
                )
        parts.append(_tag("g", "".join(bars), class_=_classes("series", column.css_class)))
    return "".join(parts)


def _runs(values: list[float | None]) -> list[list[int]]:
    """Indexes of consecutive days with a value: a None ends a run."""
    runs: list[list[int]] = []
    for index, value in enumerate(values):
        if value is not None and runs and runs[-1][-1] == index - 1:
            runs[-1].append(index)
        elif value is not None:
            runs.append([index])
    return runs


def _series_summary(name: str, values: list[float | None]) -> str:
    present = [value for value in values if value is not None]
    if len(present) <= 1:
        return f"{name}: 1 day with data, {present[0]:.1f}." if present else f"{name}: no data."
    return (
        f"{name}: {len(present)} days with data, from {min(present):.1f} to "
        f"{max(present):.1f}, latest {present[-1]:.1f}."
    )


def _bars_summary(labels: list[str], values: list[float | None], value_format: str) -> str:
    pairs = list(zip(labels, values, strict=True))
    known = [(label, value) for label, value in pairs if value is not None]
    if not known:
        return "no data."
    # By value alone: on a tie the earliest label wins.
    high_label, high = max(known, key=lambda pair: pair[1])
    low_label, low = min(known, key=lambda pair: pair[1])
    if len(known) == 1:
        text = f"{high_label} {_format_value(high, value_format)}"
    else:
        text = f"highest {high_label} {_format_value(high, value_format)}, "
        text += f"lowest {low_label} {_format_value(low, value_format)}"
    missing = [label for label, value in pairs if value is None]
    return text + (f", no data for {', '.join(missing)}." if missing else ".")


def line_chart(
    *,
    title: str,
    series: list[Series],
    days: list[date],
    y_min: float = 0,
    y_max: float = 10,
    y_label: str = "",
    width: int = 640,
    height: int = 200,
) -> SafeString:
    """One line per series over consecutive days; a missing day breaks the line."""
    width, height = _size(width, height)
    count = len(days)
    lines = [(one, _aligned(one.values, count)) for one in series]
    if not any(value is not None for _, values in lines for value in values):
        return _empty(title=title, width=width, height=height)
    plot = _plot(width=width, height=height, y_min=y_min, y_max=y_max, legend=True, y_label=y_label)
    body = [_y_axis(plot, label=_tick)]
    if y_label:
        middle = (plot.top + plot.bottom) / 2
        rotate = f"rotate(-90 12 {middle:.1f})"
        body.append(
            _label(
                y_label, class_="y-label", x=12, y=middle, text_anchor="middle", transform=rotate
            )
        )

    def x_of(index: int) -> float:
        if count == 1:
            return (plot.left + plot.right) / 2
        return plot.left + (plot.right - plot.left) * index / (count - 1)

    # The first and last day, and about 4 evenly spaced between them.
    for index in sorted({round(step * (count - 1) / 5) for step in range(6)}):
        anchor = "start" if index == 0 < count - 1 else "end" if index == count - 1 else "middle"
        body.append(_x_label(_day(days[index]), x=x_of(index), plot=plot, anchor=anchor))
    legend = []
    for series_index, (one, values) in enumerate(lines):
        colour = _colour(one.css_class, series_index)
        legend.append((one.name, one.css_class, colour))
        stroke = {"fill": "none", "stroke": colour, "stroke_width": 2, "stroke_linejoin": "round"}
        marks = []
        for run in _runs(values):
            if len(run) > 1:
                points = " ".join(f"{x_of(i):.1f},{plot.y(values[i]):.1f}" for i in run)
                marks.append(_tag("polyline", points=points, **stroke))
        # A reading with no neighbour has no line to show it: a bigger dot does.
        lone = {run[0] for run in _runs(values) if len(run) == 1}
        for index, value in enumerate(values):
            if value is None:
                continue
            kind, radius = ("point lone", 3.5) if index in lone else ("point", 2.5)
            tooltip = _tag("title", _text(f"{one.name}, {_day(days[index])}: {value:.1f}"))
            cx, cy = x_of(index), plot.y(value)
            marks.append(_tag("circle", tooltip, class_=kind, cx=cx, cy=cy, r=radius, fill=colour))
        body.append(_tag("g", "".join(marks), class_=_classes("series", one.css_class)))
    body.append(_legend(legend, y=height - 6))
    summaries = [_series_summary(one.name, values) for one, values in lines]
    desc = " ".join([f"{_day(days[0])} to {_day(days[-1])}.", *summaries])
    return _svg(title=title, desc=desc, width=width, height=height, body=body)


def bar_chart(
    *,
    title: str,
    bars: list[Bar],
    y_max: float = 1.0,
    value_format: str = "percent",
    width: int = 640,
    height: int = 200,
) -> SafeString:
    """One bar per slot from 0 to y_max; value_format "percent" shows 0..1 as "72 %"."""
    width, height = _size(width, height)
    values = [_clean(bar.value) for bar in bars]
    if not any(value is not None for value in values):
        return _empty(title=title, width=width, height=height)
    plot = _plot(width=width, height=height, y_min=0, y_max=y_max, legend=False)
    labels, classes = [bar.label for bar in bars], [bar.css_class for bar in bars]
    column = _Column("", values, "", classes, [COLOURS.get(name, BAR_COLOUR) for name in classes])
    body = [
        _y_axis(plot, label=lambda value: _format_value(value, value_format)),
        _bars(plot=plot, groups=labels, columns=[column], value_format=value_format),
    ]
    summary = _bars_summary(labels, values, value_format)
    desc = summary[0].upper() + summary[1:]
    return _svg(title=title, desc=desc, width=width, height=height, body=body)


def grouped_bar_chart(
    *,
    title: str,
    groups: list[str],
    series: list[GroupSeries],
    y_max: float = 1.0,
    value_format: str = "percent",
    width: int = 640,
    height: int = 220,
) -> SafeString:
    """Side-by-side bars per group (a week), one colour per series (a nudge kind)."""
    width, height = _size(width, height)
    count, columns = len(groups), []
    for index, one in enumerate(series):
        colours = [_colour(one.css_class, index)] * count
        values = _aligned(one.values, count)
        columns.append(_Column(one.name, values, one.css_class, [one.css_class] * count, colours))
    if not any(value is not None for column in columns for value in column.values):
        return _empty(title=title, width=width, height=height)
    plot = _plot(width=width, height=height, y_min=0, y_max=y_max, legend=True)
    body = [
        _y_axis(plot, label=lambda value: _format_value(value, value_format)),
        _bars(plot=plot, groups=groups, columns=columns, value_format=value_format),
        _legend([(one.name, one.css_class, one.colours[0]) for one in columns], y=height - 6),
    ]
    desc = " ".join(
        f"{one.name}: {_bars_summary(groups, one.values, value_format)}" for one in columns
    )
    return _svg(title=title, desc=desc, width=width, height=height, body=body)
