"""The console overview's chart: bar geometry and labels worked out from per-day counts, no template needed."""
from datetime import date, timedelta

from apps.signals import selectors
from apps.signals.console import chart


def test_chart_geometry_stacks_each_day_and_labels_weekly_back_from_today():
    days = [selectors.DayCounts(day=date(2026, 3, 2) + timedelta(days=i), counts={"pending": 0, "approved": 0,
                                                                                  "rejected": 0})
            for i in range(30)]
    days[-1] = selectors.DayCounts(day=days[-1].day, counts={"pending": 1, "approved": 2, "rejected": 0})
    geometry = chart.stacked_bars(days)
    bars = geometry["bars"]
    assert [(bar.status, bar.label) for bar in bars] == [("pending", "2026-03-31: 1 pending"),
                                                         ("approved", "2026-03-31: 2 approved")]
    assert geometry["max"] == 5  # the next 1-2-5 step above the tallest day (3)
    assert bars[0].y + bars[0].height == geometry["baseline"] and bars[1].y + bars[1].height == bars[0].y
    assert bars[1].height == 2 * bars[0].height
    assert [label.text for label in geometry["labels"]] == ["Mar 03", "Mar 10", "Mar 17", "Mar 24", "Mar 31"]


def test_an_empty_month_draws_no_bars_and_still_has_a_scale():
    days = [selectors.DayCounts(day=date(2026, 3, 2) + timedelta(days=i),
                                counts={"pending": 0, "approved": 0, "rejected": 0}) for i in range(30)]
    geometry = chart.stacked_bars(days)
    assert geometry["bars"] == []
    assert geometry["max"] >= 1
