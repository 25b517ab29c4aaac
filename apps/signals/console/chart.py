"""The overview chart as plain geometry: a stacked bar per day, drawn by the template as inline SVG.

Server-side and dependency-free (no script, no CDN, no inline style — colours come from CSS classes), so
it renders under the strict CSP and offline.
"""
from __future__ import annotations

from dataclasses import dataclass

from apps.signals import enums

WIDTH, HEIGHT = 640, 220
LEFT, RIGHT, TOP, BOTTOM = 36, 20, 10, 28


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    status: str
    label: str


@dataclass(frozen=True)
class Tick:
    y: float
    value: int


@dataclass(frozen=True)
class DayLabel:
    x: float
    text: str


def _nice_ceiling(value: int) -> int:
    """The smallest of 1, 2, 5 × 10^k that is ≥ value (at least 1), so the gridlines read well."""
    step = 1
    while True:
        for factor in (1, 2, 5):
            if step * factor >= value:
                return max(step * factor, 1)
        step *= 10


def stacked_bars(days) -> dict:
    """``days``: ``selectors.DayCounts`` oldest first → geometry for ``console/overview.html``."""
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    top = _nice_ceiling(max((day.total for day in days), default=0))
    slot = plot_w / max(len(days), 1)
    bar_w = max(slot * 0.7, 1)
    bars: list[Bar] = []
    for index, day in enumerate(days):
        x = LEFT + index * slot + (slot - bar_w) / 2
        base = TOP + plot_h
        for status in enums.STATUSES:
            count = day.counts.get(status, 0)
            if not count:
                continue
            height = plot_h * count / top
            base -= height
            bars.append(Bar(x=round(x, 2), y=round(base, 2), width=round(bar_w, 2), height=round(height, 2),
                            status=status, label=f"{day.day.isoformat()}: {count} {status}"))
    ticks = [Tick(y=round(TOP + plot_h - plot_h * value / top, 2), value=value)
             for value in sorted({0, top // 2, top})]
    labels = [DayLabel(x=round(LEFT + index * slot + slot / 2, 2), text=day.day.strftime("%b %d"))
              for index, day in enumerate(days) if (len(days) - 1 - index) % 7 == 0]  # weekly, ending today
    return {"width": WIDTH, "height": HEIGHT, "bars": bars, "ticks": ticks,
            "labels": labels, "left": LEFT, "right": WIDTH - RIGHT, "baseline": TOP + plot_h,
            "label_y": HEIGHT - 8, "max": top}
