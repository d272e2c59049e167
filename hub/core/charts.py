"""What a chart plots, its CSV, and its server-side SVG.

A `Chart` is the one description of a figure: the page draws it, the CSV download writes it, and
the browser test reads its numbers back from the SVG's data attributes. No script and no CDN:
the hub runs on closed networks, and a `<title>` on each bar or point shows its number on hover.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from flask_babel import gettext as _
from markupsafe import Markup, escape

from hub.core.cells import neutralize
from hub.core.chart_labels import text_width, words, wrap

Number = int | float | None

WIDTH, HEIGHT = 640, 260
LEFT, RIGHT, TOP, BOTTOM = 48, 12, 12, 56
COLOURS = ("#2f6db5", "#e07b39", "#3a9a5b", "#c0392b", "#8e6bbf", "#7f8c8d", "#d4a017")


@dataclass
class Chart:
    """One figure: a label per row and one number per series (`None` where there is none).

    `kind` is "bars" (grouped bars), "line" (one line a series) or "pareto" (rows are points
    x, y in percent; `cuts` are vertical lines at a share of customers).
    """

    key: str
    title: str
    kind: str
    label_heading: str
    series: list[str]
    rows: list[tuple[str, list[Number]]]
    note: str = ""
    unit: str = ""
    cuts: list[tuple[str, float]] = field(default_factory=list)
    hints: dict[tuple[int, int], str] = field(default_factory=dict)  # extra hover text
    fills: dict[tuple[int, int], str] = field(default_factory=dict)  # a bar's own colour

    def table(self) -> tuple[list[str], list[list[Any]]]:
        """Headings and rows exactly as plotted (the cut lines as rows of their own)."""
        if self.kind == "pareto":
            curve = self.series[0]
            rows: list[list[Any]] = [[curve, number(float(x), 1), y] for x, (y,) in self.rows]
            rows += [[neutralize(name), x, None] for name, x in self.cuts]
            return [_("Line"), self.label_heading, curve], rows
        headings = [self.label_heading, *self.series]
        return headings, [[neutralize(label), *values] for label, values in self.rows]

    @property
    def empty(self) -> bool:
        return not self.rows or all(v in (None, 0) for _l, vs in self.rows for v in vs)

    def svg(self) -> Markup:
        if self.kind == "pareto":
            return _pareto_svg(self)
        if self.kind == "line":
            return _line_svg(self)
        return _bars_svg(self)


def number(value: Any, places: int = 2) -> Number:
    """A plain int or a rounded float for plotting and CSV (Decimal sums included)."""
    if value is None:
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, Decimal) and value == value.to_integral_value():
        return int(value)
    rounded = round(float(value), places)
    return int(rounded) if rounded == int(rounded) else rounded


def percent(part: int, whole: int) -> Number:
    """part of whole in percent, one decimal; None when there is nothing to divide."""
    return number(100 * part / whole, 1) if whole else None


def show(value: Number, unit: str = "") -> str:
    if value is None:
        return "–"
    text = f"{value:,}" if isinstance(value, int) else f"{value:,.2f}".rstrip("0").rstrip(".")
    return text + unit


def nice_max(value: float, whole: bool = True) -> float:
    """The top of the axis: four equal steps of 1, 2, 2.5 or 5 times a power of ten (whole
    steps for counts); a chart with nothing to show yet runs 0 to 1."""
    if value <= 0:
        return 1.0
    quarter = value / 4
    magnitude = 10 ** math.floor(math.log10(quarter))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if quarter <= m * magnitude)
    if whole:
        step = max(1.0, math.ceil(step))
        if value <= 4:
            return float(math.ceil(value))  # 0, 1, 2, 3: one tick a count, no 0.25
    return 4 * step


def axis_ticks(low: float, high: float, whole: bool = True) -> list[float]:
    """The values the y axis names: every count up to 4, else five evenly spaced."""
    if whole and low == 0 and high <= 4:
        return [float(v) for v in range(int(high) + 1)]
    return [low + (high - low) * i / 4 for i in range(5)]


def _tick(value: float, unit: str) -> str:
    """Axis numbers short enough for the margin: 2.5M, 40k."""
    for size, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= size:
            return f"{value / size:g}{suffix}{unit}"
    return f"{value:g}{unit}"


def _attrs(**values: Any) -> str:
    return " ".join(f'{k.replace("_", "-")}="{escape(v)}"' for k, v in values.items())


def _frame(
    chart: Chart, low: float, high: float, body: list[str], labels: Sequence[str], whole: bool = True
) -> Markup:
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    out = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" width="100%" '
        f'{_attrs(data_chart=chart.key, aria_label=chart.title)}>'
    ]
    for value in axis_ticks(low, high, whole):  # grid and y ticks
        y = TOP + plot_h - plot_h * (value - low) / (high - low)
        out.append(f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" class="grid" stroke="#e5e5e5"/>')
        out.append(
            f'<text x="{LEFT - 4}" y="{y + 4:.1f}" text-anchor="end" class="tick y-tick" {TICK_STYLE}>'
            f"{escape(_tick(value, chart.unit))}</text>"
        )
    out.append(  # the axes themselves
        f'<line x1="{LEFT}" x2="{LEFT}" y1="{TOP}" y2="{TOP + plot_h}" stroke="#999" class="axis"/>'
        f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{TOP + plot_h}" y2="{TOP + plot_h}" stroke="#999" class="axis"/>'
    )
    out.extend(body)
    if labels:
        out.extend(_x_labels(labels, plot_w))
    if chart.empty:
        nothing = _("No data yet")
        out.append(
            f'<text x="{LEFT + plot_w / 2:.1f}" y="{TOP + plot_h / 2:.1f}" text-anchor="middle" '
            f'class="no-data" font-size="13" fill="#777">{escape(nothing)}</text>'
        )
    out.append("</svg>")
    # Every text and attribute value above went through escape(); numbers are formatted here.
    return Markup("".join(out))  # noqa: S704


TICK_STYLE = 'font-size="11" fill="#555"'
ROTATED_WIDTH = 96  # a label slanted at 30 degrees reaches this far within the bottom margin


def _x_labels(labels: Sequence[str], plot_w: float) -> list[str]:
    """Category labels under their slot: thinned so they do not overlap, wrapped onto two lines
    where there is room, slanted where the slots are narrow; a label cut short carries its whole
    text in a <title>, which shows on hover."""
    out = []
    step = max(1, math.ceil(len(labels) / 12))
    slot = plot_w / len(labels)
    room = slot * step * 0.94
    # Slanted when a slot is too narrow for a word (a date, a long name): wrapping would split it.
    slanted = room < 40 or any(text_width(word) > room for label in labels[::step] for word in words(label))
    y = HEIGHT - BOTTOM + 14
    for i, label in enumerate(labels):
        if i % step:
            continue
        x = LEFT + slot * (i + 0.5)
        lines, cut = wrap(label, ROTATED_WIDTH if slanted else room, 1 if slanted else 2)
        hover = f"<title>{escape(label)}</title>" if cut else ""
        if slanted:
            out.append(
                f'<text x="{x:.1f}" y="{y}" text-anchor="end" class="tick x-tick" {TICK_STYLE} '
                f'transform="rotate(-30 {x:.1f} {y})">{hover}{escape(lines[0])}</text>'
            )
            continue
        spans = "".join(
            f'<tspan x="{x:.1f}" dy="{0 if n == 0 else 13}">{escape(line)}</tspan>' for n, line in enumerate(lines)
        )
        out.append(
            f'<text x="{x:.1f}" y="{y}" text-anchor="middle" class="tick x-tick" {TICK_STYLE}>{hover}{spans}</text>'
        )
    return out


def _hover(chart: Chart, row: int, series: int, label: str, value: Number) -> str:
    name = f"{label} · {chart.series[series]}" if len(chart.series) > 1 else label
    extra = chart.hints.get((row, series))
    return f"{name}: {show(value, chart.unit)}" + (f" ({extra})" if extra else "")


def _bars_svg(chart: Chart) -> Markup:
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    values = [v or 0 for _l, vs in chart.rows for v in vs]
    whole = all(isinstance(v, int) for v in values)
    high = nice_max(max(values, default=0), whole)
    labels = [label for label, _v in chart.rows]
    body = []
    if chart.rows:
        slot = plot_w / len(chart.rows)
        bar = slot * 0.8 / len(chart.series)
        for r, (label, values) in enumerate(chart.rows):
            for s, value in enumerate(values):
                h = plot_h * (value or 0) / high
                x = LEFT + slot * r + slot * 0.1 + bar * s
                fill = chart.fills.get((r, s), COLOURS[s % len(COLOURS)])
                body.append(
                    f'<rect x="{x:.1f}" y="{TOP + plot_h - h:.1f}" width="{bar:.1f}" '
                    f'height="{h:.1f}" fill="{escape(fill)}" '
                    f'{_attrs(data_label=label, data_series=chart.series[s], data_value=_raw(value))}>'
                    f"<title>{escape(_hover(chart, r, s, label, value))}</title></rect>"
                )
    return _frame(chart, 0, high, body, labels, whole)


def _line_svg(chart: Chart) -> Markup:
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    values = [v for _l, vs in chart.rows for v in vs if v is not None]
    low = min(0.0, min(values, default=0))
    whole = all(isinstance(v, int) for v in values)
    low = -nice_max(-low, whole) if low < 0 else 0.0
    high = nice_max(max(values, default=0), whole)
    labels = [label for label, _v in chart.rows]
    body = []
    if chart.rows:
        slot = plot_w / len(chart.rows)
        for s, name in enumerate(chart.series):
            colour = COLOURS[s % len(COLOURS)]
            points = []
            for r, (label, row) in enumerate(chart.rows):
                value = row[s]
                if value is None:
                    continue
                x = LEFT + slot * (r + 0.5)
                y = TOP + plot_h - plot_h * (value - low) / (high - low)
                points.append((x, y, r, label, value))
            if len(points) > 1:
                path = " ".join(f"{x:.1f},{y:.1f}" for x, y, *_rest in points)
                body.append(f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2"/>')
            for x, y, r, label, value in points:
                body.append(
                    f'<circle cx="{x:.1f}" cy="{y:.1f}" r="4" fill="{colour}" '
                    f'{_attrs(data_label=label, data_series=name, data_value=_raw(value))}>'
                    f"<title>{escape(_hover(chart, r, s, label, value))}</title></circle>"
                )
    return _frame(chart, low, high, body, labels, whole)


def _pareto_svg(chart: Chart) -> Markup:
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    body = []
    coords = []
    for label, (y_value,) in chart.rows:
        x = LEFT + plot_w * float(label) / 100
        y = TOP + plot_h - plot_h * (y_value or 0) / 100
        coords.append((x, y, label, y_value))
    if len(coords) > 1:
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y, *_r in coords)
        body.append(f'<polyline points="{path}" fill="none" stroke="{COLOURS[0]}" stroke-width="2"/>')
    for x, y, label, value in coords:
        body.append(
            f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{COLOURS[0]}" '
            f'{_attrs(data_label=label, data_series=chart.series[0], data_value=_raw(value))}>'
            f"<title>{escape(f'{chart.label_heading} {label}% → {show(value, chart.unit)}')}"
            "</title></circle>"
        )
    for i, (name, share) in enumerate(chart.cuts):
        x = LEFT + plot_w * share / 100
        body.append(
            f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{TOP}" y2="{TOP + plot_h}" '
            f'stroke="{COLOURS[(i + 1) % len(COLOURS)]}" stroke-dasharray="4 3" class="cut" '
            f'{_attrs(data_cut=name, data_value=_raw(share))}>'
            f"<title>{escape(f'{name}: {show(share, chart.unit)}')}</title></line>"
            f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{TOP}" y2="{TOP + plot_h}" stroke="transparent" '
            f'stroke-width="8"><title>{escape(f"{name}: {show(share, chart.unit)}")}</title></line>'
            f'<text x="{x + 3:.1f}" y="{TOP + 12}" class="tick">{escape(name)}</text>'
        )
    # x axis: share of customers, 0..100 %
    body.extend(
        f'<text x="{LEFT + plot_w * i / 10:.1f}" y="{HEIGHT - BOTTOM + 16}" text-anchor="middle" '
        f'class="tick">{i * 10}%</text>'
        for i in range(11)
    )
    return _frame(chart, 0, 100, body, [], whole=False)


def _raw(value: Number) -> str:
    return "" if value is None else str(value)
