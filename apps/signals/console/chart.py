"""The overview charts as plain geometry, drawn by the template as inline SVG: a stacked bar per day, and the
cumulative R of the top traders as one polyline each.

Server-side and dependency-free (no script, no CDN, no inline style — colours come from CSS classes or
SVG presentation attributes), so it renders under the strict CSP and offline.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

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


# -- cumulative R per top trader ----------------------------------------------------------------------------
# One colour per line, as SVG presentation attributes (not a style attribute: the CSP allows them), so the
# chart reads without any stylesheet change; a palette distinguishable in the common colour-vision deficiencies.
LINE_COLOURS = ("#0072b2", "#e69f00", "#009e73", "#cc79a7", "#56b4e9")
_CENT = Decimal("0.01")


@dataclass(frozen=True)
class Line:
    owner_id: str
    name: str
    points: str          # "x,y x,y …" for <polyline points>
    total_r: str         # the final cumulative R, 2 places
    closed: int
    colour: str
    index: int


@dataclass(frozen=True)
class TimeLabel:
    x: float
    text: str
    anchor: str


@dataclass(frozen=True)
class RTick:
    y: float
    value: str


def _r_step(span: Decimal) -> Decimal:
    """A 1, 2, 5 × 10^k gridline step giving at most about four intervals over ``span``."""
    step = Decimal("0.01")
    while True:
        for factor in (1, 2, 5):
            if span / (step * factor) <= 4:
                return step * factor
        step *= 10


def top_traders(rows, *, limit: int) -> list[tuple[str, str, list]]:
    """``rows`` (``console.selectors.Closed``, oldest close first) → the ``limit`` traders with the highest total
    R, as ``(owner_id, name, their rows)``: total R desc, then closed count desc, then owner id (the
    leaderboard's order). The name is the one on the trader's latest closed signal."""
    by_owner: dict[str, list] = {}
    for row in rows:
        by_owner.setdefault(row.owner_id, []).append(row)

    def total(items) -> Decimal:
        return sum((item.r_multiple for item in items if item.r_multiple is not None), Decimal(0))

    ranked = sorted(by_owner.items(), key=lambda pair: (-total(pair[1]), -len(pair[1]), pair[0]))
    return [(owner_id, items[-1].owner_name or owner_id, items) for owner_id, items in ranked[:limit]]


def cumulative_r(rows, *, since, until, limit: int = 5) -> dict | None:
    """Geometry of ``console/overview.html``'s cumulative-R chart: one polyline per top trader, from 0 on ``since``
    to its total on ``until``, stepping up or down at each close by that signal's R (an expiry without an entry
    has no R and adds nothing). ``None`` when there is nothing closed."""
    traders = top_traders(rows, limit=limit)
    if not traders:
        return None
    series = []
    low = high = Decimal(0)
    for owner_id, name, items in traders:
        running, points = Decimal(0), [(since, Decimal(0))]
        for item in items:  # a step at each close: R is booked when the signal closes, not in between
            points.append((item.closed_at, running))
            running += item.r_multiple or 0
            points.append((item.closed_at, running))
            low, high = min(low, running), max(high, running)
        points.append((until, running))
        series.append((owner_id, name, items, points, running))
    step = _r_step(max(high - low, Decimal(1)))
    bottom = (low / step).to_integral_value(rounding="ROUND_FLOOR") * step
    top = (high / step).to_integral_value(rounding="ROUND_CEILING") * step
    if top == bottom:
        top = bottom + step
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    span_s = max((until - since).total_seconds(), 1.0)

    def x_of(moment) -> float:
        return round(LEFT + plot_w * min(max((moment - since).total_seconds() / span_s, 0.0), 1.0), 2)

    def y_of(value: Decimal) -> float:
        return round(TOP + plot_h - plot_h * float((value - bottom) / (top - bottom)), 2)

    lines = []
    for index, (owner_id, name, items, points, running) in enumerate(series):
        coords = " ".join(f"{x_of(moment)},{y_of(value)}" for moment, value in points)
        lines.append(Line(owner_id=owner_id, name=name, points=coords, closed=len(items), index=index,
                          total_r=str(running.quantize(_CENT)), colour=LINE_COLOURS[index % len(LINE_COLOURS)]))
    ticks, value = [], bottom
    while value <= top:
        ticks.append(RTick(y=y_of(value), value=str(value.quantize(_CENT))))
        value += step
    days = max(int(span_s // 86400), 1)
    labels = [TimeLabel(x=x_of(moment), text=moment.strftime("%b %d"), anchor=anchor)
              for moment, anchor in ((since, "start"), (since + (until - since) / 2, "middle"), (until, "end"))]
    return {"width": WIDTH, "height": HEIGHT, "lines": lines, "ticks": ticks, "labels": labels, "left": LEFT,
            "right": WIDTH - RIGHT, "zero": y_of(Decimal(0)), "label_y": HEIGHT - 8, "days": days}
