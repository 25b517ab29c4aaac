"""Outcomes in the console, through Django's test client against the real MongoDB-compatible server and Redis:
each signal's outcome on its page and in the lists, and the overview's cumulative-R chart of the top traders
(which signals count, the totals it draws, escaped names, the empty state), admins only."""
import re
from datetime import timedelta
from decimal import Decimal

import pytest
from bson import Decimal128

from apps.signals import services
from apps.signals.models import TradeSignal
from tests.console.test_pages import browser
from tests.console.test_selectors import create
from tradesignals.kernel.clock import utcnow

POLYLINE = re.compile(r'<polyline class="r-line[^"]*" points="([^"]*)"[^>]*data-owner-id="([^"]*)" '
                      r'data-total-r="([^"]*)" data-closed="(\d+)"><title>(.*?)</title></polyline>')


@pytest.fixture
def admin():
    return browser("admin")


def decided(signal, state, *, r=None, closed_days_ago=1.0, status="approved", owner_active=True, exit_price=None,
            entered=True):
    """Store ``signal`` as approved with a decided (or live) outcome, as the evaluation writes it."""
    now = utcnow()
    closed_at = None if state in ("waiting_entry", "open") else now - timedelta(days=closed_days_ago)
    outcome = {"state": state, "starts_at": now - timedelta(days=closed_days_ago + 2),
               "entered_at": now - timedelta(days=closed_days_ago + 1) if entered else None,
               "closed_at": closed_at,
               "exit_price": None if exit_price is None else Decimal128(exit_price),
               "r_multiple": None if r is None else Decimal128(r)}
    TradeSignal._get_collection().update_one({"_id": signal.id}, {"$set": {
        "status": status, "owner_active": owner_active, "outcome": outcome}})
    return signal


def traded(owner, name, results, **kwargs):
    """One signal of ``owner`` per R in ``results`` (``None``: expired without an entry), closed in that order."""
    made = []
    for offset, r in enumerate(results):
        signal = services.signal_create(owner_id=owner, owner_name=name, symbol="BTC/USDT", direction="long",
                                        entry_price=Decimal("100"), stop_loss=Decimal("90"),
                                        take_profit=Decimal("120"), timeframe="1h", rationale="Breakout.")
        state = "expired" if r is None else ("lost" if r == "-1.00" else "won")
        made.append(decided(signal, state, r=r, closed_days_ago=kwargs.get("days", 30) - offset,
                            entered=r is not None, **{k: v for k, v in kwargs.items() if k != "days"}))
    return made


def lines_of(body: str) -> dict[str, dict]:
    return {owner: {"points": points.split(), "total": total, "closed": int(closed), "title": title}
            for points, owner, total, closed, title in POLYLINE.findall(body)}


# -- a signal's outcome --------------------------------------------------------------------------------------
def test_signal_page_shows_a_decided_outcome(admin):
    signal = decided(create(), "won", r="2.00", exit_price="120")
    stored = TradeSignal.objects.get(id=signal.id).outcome
    body = admin.get(f"/console/signals/{signal.id}/").content.decode()
    assert '<span class="outcome outcome--won">won</span>' in body
    assert '<dd class="num" id="outcome-exit">120</dd>' in body
    assert '<dd class="num" id="outcome-r">2.00 R</dd>' in body
    assert stored.entered_at.strftime("%Y-%m-%d %H:%M") + " UTC" in body.split('id="outcome-entered"')[1][:120]
    assert stored.closed_at.strftime("%Y-%m-%d %H:%M") + " UTC" in body.split('id="outcome-closed"')[1][:120]


def test_signal_page_shows_a_loss_an_open_signal_and_an_old_signal_as_pending(admin):
    lost = decided(create(), "lost", r="-1.00", exit_price="90")
    body = admin.get(f"/console/signals/{lost.id}/").content.decode()
    assert '<span class="outcome outcome--lost">lost</span>' in body and '>-1.00 R</dd>' in body

    live = decided(create(), "open")
    body = admin.get(f"/console/signals/{live.id}/").content.decode()
    assert '<span class="outcome outcome--open">open</span>' in body
    assert 'id="outcome-entered"' in body and 'id="outcome-closed"' not in body and 'id="outcome-r"' not in body

    old = create()  # stored before outcomes existed: no outcome field at all
    TradeSignal._get_collection().update_one({"_id": old.id}, {"$unset": {"outcome": ""}})
    body = admin.get(f"/console/signals/{old.id}/").content.decode()
    assert '<span class="outcome outcome--pending">pending</span>' in body
    assert 'id="outcome-entered"' not in body and 'id="outcome-r"' not in body


def test_the_signal_lists_show_each_outcome(admin):
    won = decided(create(symbol="ETH"), "won", r="2.00", exit_price="120")
    expired = decided(create(symbol="SOL"), "expired", entered=False)
    pending = create(symbol="ADA")
    TradeSignal._get_collection().update_one({"_id": pending.id}, {"$unset": {"outcome": ""}})
    body = admin.get("/console/signals/").content.decode()
    row = re.compile(r'<tr>\s*<td data-label="Symbol"><a href="/console/signals/([0-9a-f]{24})/".*?</tr>', re.S)
    rows = {match.group(1): match.group(0) for match in row.finditer(body)}
    assert '<th scope="col">Outcome</th>' in body
    assert 'outcome--won">won</span> <span class="num">2.00 R</span>' in rows[str(won.id)]
    assert 'outcome--expired">expired</span>' in rows[str(expired.id)] and " R</span>" not in rows[str(expired.id)]
    assert 'outcome--pending">pending</span>' in rows[str(pending.id)]


# -- the cumulative-R chart ----------------------------------------------------------------------------------
def test_overview_draws_one_line_per_top_trader_with_its_final_cumulative_r(admin):
    traded("t1", "Ann", ["2.00", "-1.00", "3.00"])            # 4.00
    traded("t2", "Bob", ["-1.00", "-1.00"])                   # -2.00
    traded("t3", "Cid", ["1.50", None])                      # 1.50 (an expiry without entry adds nothing)
    traded("t4", "Dee", ["2.00", "2.00"])                     # 4.00 over as many closes as … t1 has more
    traded("t5", "Eve", ["0.50"])                             # 0.50
    traded("t6", "Fay", ["-1.00", "-1.00", "-1.00"])          # -3.00: sixth, not drawn
    # never counted: rejected, a deactivated owner, closed before the window, still live
    traded("t7", "Gus", ["9.00"], status="rejected")
    traded("t8", "Hal", ["9.00"], owner_active=False)
    traded("t9", "Ivy", ["9.00"], days=95)
    decided(services.signal_create(owner_id="t10", owner_name="Jon", symbol="BTC/USDT", direction="long",
                                   entry_price=Decimal("100"), stop_loss=Decimal("90"), take_profit=Decimal("120"),
                                   timeframe="1h", rationale="Live."), "open")

    body = admin.get("/console/overview/").content.decode()
    lines = lines_of(body)
    assert body.count("<polyline") == 5
    assert {owner: line["total"] for owner, line in lines.items()} == {
        "t1": "4.00", "t4": "4.00", "t3": "1.50", "t5": "0.50", "t2": "-2.00"}
    assert {owner: line["closed"] for owner, line in lines.items()} == {"t1": 3, "t4": 2, "t3": 2, "t5": 1, "t2": 2}
    assert list(lines) == ["t1", "t4", "t3", "t5", "t2"]  # total R desc, then more closes first
    assert lines["t1"]["title"] == "Ann: 4.00 R over 3 closed signals"
    points = [tuple(float(v) for v in p.split(",")) for p in lines["t1"]["points"]]
    assert len(points) == 2 + 2 * 3  # from 0 on the left edge, a step at each of 3 closes, to the right edge
    xs, ys = [x for x, _ in points], [y for _, y in points]
    assert xs == sorted(xs) and xs[1:7:2] == xs[2:7:2]  # each step is vertical at its closing time
    zero = float(re.search(r'<line class="chart__zero"[^>]* y1="([\d.]+)"', body).group(1))
    assert ys[0] == ys[1] == zero
    assert ys[2] < zero and ys[4] > ys[3] and ys[6] < ys[5] and ys[7] == ys[6]  # +2, −1, +3 (SVG y grows down)
    bob = [float(p.split(",")[1]) for p in lines["t2"]["points"]]
    assert bob[-1] > zero  # Bob ends below 0
    cid = lines["t3"]["points"]
    assert cid[3] == cid[4] and cid[2] != cid[1]  # his expiry without an entry adds no step; his win did
    assert "Fay" not in body and "Gus" not in body and "Hal" not in body and "Ivy" not in body
    assert 'id="r-chart-empty"' not in body
    assert " style=" not in body and "<script" not in body


def test_overview_escapes_trader_names(admin):
    traded("t1", '<script>alert("x")</script>', ["2.00"])
    traded("t2", 'Zoe" onload="alert(1)', ["1.00"])
    body = admin.get("/console/overview/").content.decode()
    assert "<script" not in body and 'onload="alert' not in body
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;: 2.00 R over 1 closed signal</title>" in body
    assert "Zoe&quot; onload=&quot;alert(1): 1.00 R" in body
    assert set(lines_of(body)) == {"t1", "t2"}


def test_overview_has_an_empty_state_without_closed_signals(admin):
    decided(create(), "open")
    traded("t9", "Ivy", ["2.00"], days=120)
    response = admin.get("/console/overview/")
    body = response.content.decode()
    assert response.status_code == 200
    assert 'id="r-chart-empty"' in body and "No signal has closed in the last 90 days" in body
    assert "<polyline" not in body


@pytest.mark.parametrize("role", ["user", "feed"])
def test_non_admins_see_neither_the_chart_nor_an_outcome(role):
    traded("t1", "Ann", ["2.00"])
    signal = decided(create(), "won", r="2.00", exit_price="120")
    client = browser(role, "u1")
    for path in ("/console/overview/", f"/console/signals/{signal.id}/", "/console/signals/"):
        response = client.get(path)
        body = response.content.decode()
        assert response.status_code == 403, path
        assert "Administrators only" in body and "<polyline" not in body and "outcome--won" not in body
