"""The outcome rules: how one approved signal moves through one-minute candles. Pure functions, no I/O.

For a long signal (a short one mirrors every comparison):

- From ``starts_at`` (its approval; the first minute counted is the first that starts at or after it) the signal
  is ``waiting_entry`` until a candle's range holds the entry price (``low ≤ entry ≤ high``): it is ``open``
  and ``entered_at`` is that minute.
- The entry candle and every later one are checked for the exits: ``high ≥ take_profit`` wins, ``low ≤
  stop_loss`` loses, and a candle that reaches both is ``lost`` — one-minute candles do not say which came
  first, and the conservative reading never credits a win that may not have happened.
- ``expired`` when no entry happens within ``expiry_candles`` candles of the signal's timeframe counted from
  ``starts_at``, or, once open, no exit within as many counted from ``entered_at``: the first candle at or past
  that deadline expires it, and ``closed_at`` is the deadline itself.
- ``r_multiple``: won = (take − entry) / (entry − stop); lost = −1; expired while open = (last close before
  the deadline − entry) / (entry − stop); expired without entry has none. Two places, half up.

A decided outcome never changes; ``advance`` over candles it has already seen changes nothing, so a replayed
batch is harmless.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from apps.signals import enums

_CENT = Decimal("0.01")


@dataclass(frozen=True)
class Candle:
    t: datetime
    o: Decimal
    h: Decimal
    l: Decimal  # noqa: E741
    c: Decimal


@dataclass(frozen=True)
class Levels:
    """What the rules read of a signal."""

    direction: str
    entry: Decimal
    stop: Decimal
    take: Decimal
    timeframe: str


@dataclass(frozen=True)
class State:
    state: str = enums.OUTCOME_PENDING
    starts_at: datetime | None = None
    entered_at: datetime | None = None
    closed_at: datetime | None = None
    exit_price: Decimal | None = None
    r_multiple: Decimal | None = None

    @property
    def final(self) -> bool:
        return self.state in enums.OUTCOME_FINAL


def started(at: datetime) -> State:
    """The state of a signal approved at ``at``."""
    return State(state=enums.WAITING_ENTRY, starts_at=at)


def window(levels: Levels, expiry_candles: int) -> timedelta:
    return timedelta(minutes=enums.TIMEFRAME_MINUTES[levels.timeframe] * expiry_candles)


def deadline(levels: Levels, state: State, expiry_candles: int) -> datetime | None:
    """When a live signal expires if nothing happens first (``None`` for any other state)."""
    if state.state == enums.WAITING_ENTRY:
        return state.starts_at + window(levels, expiry_candles)
    if state.state == enums.OPEN:
        return state.entered_at + window(levels, expiry_candles)
    return None


def r_of(levels: Levels, exit_price: Decimal) -> Decimal:
    """(exit − entry) / risk for a long, mirrored for a short; two places, half up."""
    risk = levels.entry - levels.stop
    move = exit_price - levels.entry
    return (move / risk).quantize(_CENT, rounding=ROUND_HALF_UP)  # a short has both signs flipped: same ratio


def _touches_entry(levels: Levels, candle: Candle) -> bool:
    return candle.l <= levels.entry <= candle.h


def _exit(levels: Levels, candle: Candle) -> str | None:
    if levels.direction == enums.LONG:
        stopped, taken = candle.l <= levels.stop, candle.h >= levels.take
    else:
        stopped, taken = candle.h >= levels.stop, candle.l <= levels.take
    if stopped:
        return enums.LOST  # with or without the take profit in the same minute
    return enums.WON if taken else None


def advance(levels: Levels, state: State, candles: Iterable[Candle], *, expiry_candles: int,
            close_before: Callable[[datetime], Decimal | None]) -> State:
    """The state after ``candles`` (in time order; earlier ones than the state has reached are skipped).

    ``close_before(moment)`` answers the close of the latest stored candle before ``moment`` — what an open
    signal that expires is marked to; it is asked only then."""
    if state.state not in enums.OUTCOME_LIVE:
        return state
    for candle in candles:
        if state.state == enums.WAITING_ENTRY:
            if candle.t < state.starts_at:
                continue
            if candle.t >= deadline(levels, state, expiry_candles):
                return replace(state, state=enums.EXPIRED, closed_at=deadline(levels, state, expiry_candles))
            if not _touches_entry(levels, candle):
                continue
            state = replace(state, state=enums.OPEN, entered_at=candle.t)
        if candle.t < state.entered_at:
            continue
        ends = deadline(levels, state, expiry_candles)
        if candle.t >= ends:
            last = close_before(ends)
            return replace(state, state=enums.EXPIRED, closed_at=ends, exit_price=last,
                           r_multiple=None if last is None else r_of(levels, last))
        decided = _exit(levels, candle)
        if decided == enums.WON:
            return replace(state, state=enums.WON, closed_at=candle.t, exit_price=levels.take,
                           r_multiple=r_of(levels, levels.take))
        if decided == enums.LOST:
            return replace(state, state=enums.LOST, closed_at=candle.t, exit_price=levels.stop,
                           r_multiple=Decimal("-1.00"))
    return state
