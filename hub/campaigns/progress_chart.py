"""The campaign page's charts: sent and failed over time on a real time axis, and the survey's
answers by score. A campaign a few seconds old still gets axes with numbers: the time axis spans
at least a minute, and with nothing sent yet the counts run 0 to 1 under "No messages sent yet"."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from flask_babel import gettext as _
from markupsafe import Markup, escape

from hub.campaigns.progress import Series
from hub.core.charts import TICK_STYLE, Chart, axis_ticks, nice_max
from hub.core.clock import utcnow

WIDTH, HEIGHT = 640, 200
LEFT, RIGHT, TOP, BOTTOM = 48, 16, 12, 28
MIN_SPAN = timedelta(minutes=1)
STEPS = [timedelta(seconds=s) for s in (1, 2, 5, 10, 15, 30)] + [
    timedelta(minutes=m) for m in (1, 2, 5, 10, 15, 30, 60, 120, 180, 360, 720)
] + [timedelta(days=d) for d in (1, 2, 7, 14, 30)]
SENT, FAILED = "#2a7", "#c33"


def _aware(t: datetime) -> datetime:
    return t.replace(tzinfo=UTC) if t.tzinfo is None else t


def time_ticks(start: datetime, end: datetime, tz: ZoneInfo, most: int = 6) -> list[datetime]:
    """Round wall-clock instants in `tz` between start and end, at most `most` of them."""
    span = end - start
    step = next((s for s in STEPS if span / s <= most), STEPS[-1])
    local = start.astimezone(tz)
    midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
    n = math.ceil((local - midnight) / step)
    ticks = []
    t = midnight + n * step
    while t <= end.astimezone(tz):
        ticks.append(t.astimezone(UTC))
        t += step
    return ticks


def _time_label(t: datetime, tz: ZoneInfo, span: timedelta) -> str:
    local = t.astimezone(tz)
    if span > timedelta(days=2):
        return local.strftime("%m-%d")
    if span > timedelta(hours=20):
        return local.strftime("%m-%d %H:%M")
    return local.strftime("%H:%M:%S" if span <= timedelta(minutes=5) else "%H:%M")


def svg(series: Series, started: datetime | None, tz: ZoneInfo) -> Markup:
    """Cumulative sent and failed, one point a time step, over a time axis in the business zone."""
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    times = [_aware(t) for t in series.times]
    start = _aware(series.start) if series.start else _aware(started) if started else None
    start = start or utcnow()
    end = max(times[-1] if times else start, start + MIN_SPAN)
    top = max(series.sent[-1] if series.sent else 0, series.failed[-1] if series.failed else 0)
    high = nice_max(top)
    span = end - start

    def x(t: datetime) -> float:
        return LEFT + plot_w * ((t - start) / span)

    def y(v: float) -> float:
        return TOP + plot_h - plot_h * v / high

    title = _("Sent and failed over time")
    out = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" width="100%" '
        f'data-chart="campaign-progress" aria-label="{escape(title)}">'
    ]
    for value in axis_ticks(0, high):
        out.append(
            f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y(value):.1f}" y2="{y(value):.1f}" stroke="#e5e5e5"/>'
            f'<text x="{LEFT - 4}" y="{y(value) + 4:.1f}" text-anchor="end" class="tick y-tick" {TICK_STYLE}>'
            f"{value:g}</text>"
        )
    for t in time_ticks(start, end, tz):
        out.append(
            f'<line x1="{x(t):.1f}" x2="{x(t):.1f}" y1="{TOP + plot_h}" y2="{TOP + plot_h + 4}" stroke="#999"/>'
            f'<text x="{x(t):.1f}" y="{TOP + plot_h + 16}" text-anchor="middle" class="tick x-tick" '
            f"{TICK_STYLE}>{escape(_time_label(t, tz, span))}</text>"
        )
    out.append(
        f'<line x1="{LEFT}" x2="{LEFT}" y1="{TOP}" y2="{TOP + plot_h}" stroke="#999" class="axis"/>'
        f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{TOP + plot_h}" y2="{TOP + plot_h}" stroke="#999" class="axis"/>'
    )
    if not times:
        nothing = _("No messages sent yet")
        out.append(
            f'<text x="{LEFT + plot_w / 2:.1f}" y="{TOP + plot_h / 2:.1f}" text-anchor="middle" '
            f'class="no-data" font-size="13" fill="#777">{escape(nothing)}</text>'
        )
    for name, values, colour in ((_("Sent"), series.sent, SENT), (_("Failed"), series.failed, FAILED)):
        if not times:
            break
        # From zero at the first send, so one point still shows as a rise, not a lone dot.
        path = " ".join(f"{x(t):.1f},{y(v):.1f}" for t, v in [(start, 0), *zip(times, values, strict=True)])
        out.append(f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2"/>')
        for t, v in zip(times, values, strict=True):
            hover = f"{_time_label(t, tz, timedelta(0))} · {name}: {v}"
            out.append(
                f'<circle cx="{x(t):.1f}" cy="{y(v):.1f}" r="3" fill="{colour}" '
                f'data-series="{escape(name)}" data-value="{v}"><title>{escape(hover)}</title></circle>'
            )
    out.append("</svg>")
    # Every text above went through escape(); the rest are numbers formatted here.
    return Markup("".join(out))  # noqa: S704


def scores_chart(scores: dict[int, int], survey: str) -> Chart:
    """Answers by score; the low scores (NPS detractors, CSAT 1-2) in red."""
    low = 6 if survey == "nps" else 2
    return Chart(
        key="survey-scores",
        title=_("Survey scores"),
        kind="bars",
        label_heading=_("Score given"),
        series=[_("Answers")],
        rows=[(str(score), [n]) for score, n in scores.items()],
        fills={(r, 0): FAILED if score <= low else SENT for r, score in enumerate(scores)},
    )
