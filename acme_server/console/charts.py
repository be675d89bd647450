"""Bar charts as server-rendered SVG: this module lays the bars and axis labels out in
numbers, templates/chart.html draws them (autoescaped like every template; presentation
attributes, no style=, no script), so a chart needs no library and no JavaScript.

    chart = bar_chart("expiring", "Certificates expiring per day", figures.expiring,
                      noun="expiring")
    {% import "chart.html" as charts %}{{ charts.bars(chart) }}

Every day of the series gets a slot; a day with certificates gets a bar whose <title>
says its date and count (the hover text and what a screen reader reads), and the chart's
own <title>/<desc> say what it shows and its total.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from acme_server.services.dashboard import DayCount

WIDTH = 960
HEIGHT = 220
LEFT = 44  # room for the count labels
RIGHT = 10
TOP = 14
BOTTOM = 46  # room for the date labels and the axis title
MAX_DATE_LABELS = 10


@dataclass(frozen=True, slots=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    date: str  # YYYY-MM-DD
    count: int
    label: str  # the bar's <title>


@dataclass(frozen=True, slots=True)
class Tick:
    at: float  # x for a date label, y for a count label
    text: str


@dataclass(frozen=True, slots=True)
class Chart:
    id: str
    title: str
    description: str
    width: int
    height: int
    left: float
    right: float  # x of the plot's right edge
    top: float
    bottom: float  # y of the plot's baseline
    bars: list[Bar]
    x_ticks: list[Tick]
    y_ticks: list[Tick]
    x_title: str
    y_title: str
    total: int


def _scale_top(highest: int) -> int:
    """A round upper bound for the count axis (at least 1)."""
    if highest <= 4:
        return max(highest, 1)
    magnitude = 10 ** int(math.log10(highest))
    for step in (1, 2, 2.5, 5, 10):
        top = int(step * magnitude)
        if top >= highest:
            return top
    return highest  # unreachable: 10 * magnitude > highest


def bar_chart(chart_id: str, title: str, days: Sequence[DayCount], *, noun: str) -> Chart:
    """A chart of one bar slot per day; `noun` completes "3 certificates <noun>"."""
    plot_width = WIDTH - LEFT - RIGHT
    plot_height = HEIGHT - TOP - BOTTOM
    baseline = TOP + plot_height
    slot = plot_width / max(len(days), 1)
    top = _scale_top(max((d.count for d in days), default=0))
    bars: list[Bar] = []
    for i, day in enumerate(days):
        if day.count == 0:
            continue
        height = plot_height * day.count / top
        word = "certificate" if day.count == 1 else "certificates"
        bars.append(
            Bar(
                x=round(LEFT + i * slot + slot * 0.15, 2),
                y=round(baseline - height, 2),
                width=round(max(slot * 0.7, 1), 2),
                height=round(height, 2),
                date=day.day.isoformat(),
                count=day.count,
                label=f"{day.day.isoformat()}: {day.count} {word} {noun}",
            )
        )
    step = max(1, math.ceil(len(days) / MAX_DATE_LABELS))
    x_ticks = [
        Tick(round(LEFT + i * slot + slot / 2, 2), day.day.strftime("%b %d"))
        for i, day in enumerate(days)
        if i % step == 0
    ]
    counts = list(range(top + 1)) if top <= 5 else sorted({0, top // 2, top})
    y_ticks = [Tick(round(baseline - plot_height * c / top, 2), str(c)) for c in counts]
    total = sum(d.count for d in days)
    span = f"{days[0].day.isoformat()} to {days[-1].day.isoformat()}" if days else "no days"
    return Chart(
        id=chart_id,
        title=title,
        description=f"{total} certificates {noun} in all, {span} (UTC days); "
        f"{len(bars)} {'day' if len(bars) == 1 else 'days'} with at least one.",
        width=WIDTH,
        height=HEIGHT,
        left=LEFT,
        right=WIDTH - RIGHT,
        top=TOP,
        bottom=baseline,
        bars=bars,
        x_ticks=x_ticks,
        y_ticks=y_ticks,
        x_title="Day (UTC)",
        y_title="Certificates",
        total=total,
    )
