"""The outcome rules (apps.signals.outcomes), scenario by scenario, computed by hand for a long signal and for
its mirror image, a short one: every price p of the long becomes 200 − p (a candle's high and low swap), so
entries, exits and R multiples are the same numbers."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from apps.signals import enums, outcomes

D = Decimal
APPROVED_AT = datetime(2026, 1, 5, 12, 0, 30, tzinfo=UTC)  # the first minute counted is 12:01
EXPIRY = 5  # candles of the timeframe (1m): the window is five minutes


def minute(m: int) -> datetime:
    return datetime(2026, 1, 5, 12, m, tzinfo=UTC)


def long_levels() -> outcomes.Levels:
    return outcomes.Levels(direction=enums.LONG, entry=D("100"), stop=D("90"), take=D("120"), timeframe="1m")


def candle(m: int, o: str, h: str, low: str, c: str) -> outcomes.Candle:
    return outcomes.Candle(t=minute(m), o=D(o), h=D(h), l=D(low), c=D(c))


def mirrored(c: outcomes.Candle) -> outcomes.Candle:
    flip = D(200)
    return outcomes.Candle(t=c.t, o=flip - c.o, h=flip - c.l, l=flip - c.h, c=flip - c.c)


@pytest.fixture(params=[enums.LONG, enums.SHORT])
def market(request):
    """``(levels, to_market)``: the signal of the direction, and what turns the long scenario's candles (and
    prices) into that direction's."""
    if request.param == enums.LONG:
        return long_levels(), (lambda candles: list(candles)), (lambda price: price)
    short = outcomes.Levels(direction=enums.SHORT, entry=D("100"), stop=D("110"), take=D("80"), timeframe="1m")
    return short, (lambda candles: [mirrored(c) for c in candles]), (lambda price: D(200) - price)


def run(levels, candles, state=None, closes=None):
    asked = []

    def close_before(moment):
        asked.append(moment)
        return (closes or {}).get(moment)

    state = outcomes.started(APPROVED_AT) if state is None else state
    return outcomes.advance(levels, state, candles, expiry_candles=EXPIRY, close_before=close_before), asked


def test_entry_touched_then_take_profit_wins(market):
    levels, to_market, price = market
    candles = to_market([candle(1, "103", "105", "101", "104"),   # above the entry: still waiting
                         candle(2, "102", "103", "99", "101"),    # 99 ≤ 100 ≤ 103: entered at 12:02
                         candle(3, "101", "121", "100.5", "119")])  # high 121 ≥ 120: won
    state, _ = run(levels, candles)
    assert (state.state, state.entered_at, state.closed_at) == (enums.WON, minute(2), minute(3))
    assert state.exit_price == price(D("120")) and state.r_multiple == D("2.00")  # (120 − 100) / (100 − 90)


def test_entry_touched_then_stop_loses(market):
    levels, to_market, price = market
    candles = to_market([candle(2, "102", "103", "99", "101"), candle(3, "98", "99", "89", "91")])
    state, _ = run(levels, candles)
    assert (state.state, state.entered_at, state.closed_at) == (enums.LOST, minute(2), minute(3))
    assert state.exit_price == price(D("90")) and state.r_multiple == D("-1.00")


def test_a_candle_reaching_both_exits_is_lost(market):
    levels, to_market, price = market
    candles = to_market([candle(2, "102", "103", "99", "101"), candle(3, "100", "121", "89", "110")])
    state, _ = run(levels, candles)
    assert (state.state, state.closed_at, state.exit_price, state.r_multiple) == (
        enums.LOST, minute(3), price(D("90")), D("-1.00"))


def test_a_gap_through_entry_and_take_profit_in_one_candle_wins(market):
    levels, to_market, price = market
    state, _ = run(levels, to_market([candle(1, "99", "125", "99", "124")]))  # holds 100 and reaches 120
    assert (state.state, state.entered_at, state.closed_at) == (enums.WON, minute(1), minute(1))
    assert state.exit_price == price(D("120")) and state.r_multiple == D("2.00")


def test_never_entered_expires_at_the_deadline_without_r(market):
    levels, to_market, _price = market
    quiet = [candle(m, "104", "106", "102", "105") for m in range(1, 6)]  # 12:01–12:05 never reach 100
    state, asked = run(levels, to_market(quiet))
    assert state.state == enums.WAITING_ENTRY  # the deadline (12:05:30) has not been passed by a candle
    state, asked = run(levels, to_market([*quiet, candle(6, "104", "106", "102", "105")]))
    assert (state.state, state.entered_at, state.closed_at) == (enums.EXPIRED, None, APPROVED_AT + timedelta(minutes=5))
    assert state.exit_price is None and state.r_multiple is None and asked == []


def test_open_then_expired_is_marked_to_the_last_close_before_the_deadline(market):
    levels, to_market, price = market
    candles = to_market([candle(2, "102", "103", "99", "101"),            # entered 12:02, deadline 12:07
                         *[candle(m, "102", "105", "101", "103") for m in range(3, 6)],
                         candle(6, "103", "104", "102", "103.456"),       # the last close before 12:07
                         candle(7, "103", "104", "102", "103")])
    last_close = price(D("103.456"))
    state, asked = run(levels, candles, closes={minute(7): last_close})
    assert (state.state, state.entered_at, state.closed_at) == (enums.EXPIRED, minute(2), minute(7))
    assert asked == [minute(7)]
    # (103.456 − 100) / (100 − 90) = 0.3456 → 0.35
    assert state.exit_price == last_close and state.r_multiple == D("0.35")


def test_candles_before_the_approval_are_ignored(market):
    levels, to_market, _price = market
    early = to_market([candle(0, "99", "125", "95", "124")])  # 12:00 starts before the approval at 12:00:30
    state, _ = run(levels, early)
    assert state == outcomes.started(APPROVED_AT)


def test_a_replay_changes_nothing(market):
    levels, to_market, _price = market
    entered = to_market([candle(1, "104", "106", "102", "105"), candle(2, "102", "103", "99", "101")])
    once, _ = run(levels, entered)
    assert once.state == enums.OPEN
    twice, _ = run(levels, entered, state=once)
    assert twice == once
    decided_by = to_market([candle(3, "101", "121", "100.5", "119")])
    won, _ = run(levels, decided_by, state=once)
    assert won.state == enums.WON
    # Replaying everything (or a candle that would have lost) leaves a decided outcome as it is.
    again, asked = run(levels, [*entered, *decided_by, *to_market([candle(4, "95", "96", "80", "85")])], state=won)
    assert again == won and asked == []


def test_r_rounds_half_up_away_from_zero():
    levels = long_levels()
    assert outcomes.r_of(levels, D("100.25")) == D("0.03")   # 0.025: half up, not to the even 0.02
    assert outcomes.r_of(levels, D("99.75")) == D("-0.03")   # −0.025: away from zero
    assert outcomes.r_of(levels, D("100.249")) == D("0.02")  # 0.0249
    assert str(outcomes.r_of(levels, D("120"))) == "2.00"
    short = outcomes.Levels(direction=enums.SHORT, entry=D("100"), stop=D("110"), take=D("80"), timeframe="1m")
    assert outcomes.r_of(short, D("99.75")) == D("0.03")     # a short gains as the price falls
    assert outcomes.r_of(short, D("80")) == D("2.00") and outcomes.r_of(short, D("110")) == D("-1.00")


def test_the_window_counts_candles_of_the_signal_timeframe():
    hourly = outcomes.Levels(direction=enums.LONG, entry=D("100"), stop=D("90"), take=D("120"), timeframe="4h")
    state = outcomes.started(APPROVED_AT)
    assert outcomes.deadline(hourly, state, 100) == APPROVED_AT + timedelta(hours=400)
    assert outcomes.deadline(hourly, outcomes.State(state=enums.WON), 100) is None
