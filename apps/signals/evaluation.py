"""Evaluation: stored candles of one symbol move the live outcomes of that symbol's approved signals.

``candles_evaluate`` runs for each ``market.candles_received`` (receivers.py), so it scales out with the event
consumers and works in a split deployment. It reads, in this order:

- the candidates: one query on the index ``outcome_live`` — signals of the symbol whose outcome is live and
  that started no later than the batch's last minute (a signal approved after it has nothing to read here);
- the stored candles of the symbol from the batch's first minute on, up to the latest stored (in time order; for
  in-order ingestion that is the batch itself, and a late batch of older minutes is read together with the
  newer ones already stored, so every live signal sees its minutes in order).

Then ``outcomes.advance`` for each candidate, and a write only for a signal whose state changed: a conditional
update on ``_id``, ``version`` and the outcome state it read. An edit or review that commits first moves the
version (or the state), the update matches nothing, and this evaluation skips that signal (an edit restarted
it; a rejection took it off the live set). A decided outcome publishes ``trade_signal.outcome_recorded`` in the
same transaction as its update (``events.atomic``). The writes go in bulk (``WRITE_BATCH`` a round trip, one
transaction per batch of decided outcomes with one outbox insert): one write per signal made the evaluation
write-bound (docs/performance.md, "Outcome evaluation").

``version`` moves with an outcome change, as it does with the owner projections (services._owner_update).
It is the tag a signal's representation is served under (the detail's ETag ``"v<version>"``, also what
``If-Match`` names): an outcome that changed under an unchanged version would let a client revalidating its
copy get a 304 for a body that changed. It also makes the edit's and the review's own conditional writes see
an outcome decided after they read the signal (so an edit can never erase a loss it raced with), and gives
consumers one order across every fact of a signal (``outcome_recorded.version`` is higher than that of the
approval it belongs to, and lower than that of any later edit or review). An outcome changes at most twice per
approval (entered, decided), so an owner's ``If-Match`` is invalidated rarely — and then rightly: the
representation they hold is stale.

Idempotent: a replayed batch finds every signal it changed already past those candles (``advance`` skips what
a state has reached and never changes a decided outcome), so it writes and publishes nothing. After the commits
``services.signal_outcomes_changed`` is sent with the changes; receivers.py orphans the cached reads.
"""
from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from bson import Decimal128
from django.conf import settings
from pymongo import UpdateOne
from pymongo.errors import OperationFailure

from apps.signals import enums, outcomes, services
from apps.signals import events as signal_events
from apps.signals.models import Candle, TradeSignal
from tradesignals.kernel import events
from tradesignals.kernel.clock import isoformat, utcnow
from tradesignals.kernel.retry import is_write_conflict

CANDIDATES_INDEX = "outcome_live"
WRITE_BATCH = 500  # outcome updates per bulk write (and per transaction for decided ones, with their events)
CANDLES_INDEX = "symbol_minute"
# What the rules and the write need of a candidate (and what the cache invalidation names).
_CANDIDATE_FIELDS = ("owner_id", "owner_active", "status", "symbol", "direction", "entry_price", "stop_loss",
                     "take_profit", "timeframe", "version", "outcome")
_PROJECTION = dict.fromkeys(_CANDIDATE_FIELDS, 1)


@dataclass(frozen=True)
class Evaluated:
    """What one evaluation did: live signals it read, outcomes it changed, decided outcomes it recorded."""

    candidates: int
    changed: int
    recorded: int


def _decimal(value) -> Decimal | None:
    if value is None:
        return None
    return value.to_decimal() if isinstance(value, Decimal128) else Decimal(value)


def _levels(raw: dict) -> outcomes.Levels:
    return outcomes.Levels(direction=raw["direction"], entry=_decimal(raw["entry_price"]),
                           stop=_decimal(raw["stop_loss"]), take=_decimal(raw["take_profit"]),
                           timeframe=raw["timeframe"])


def _state(raw: dict) -> outcomes.State:
    stored = raw.get("outcome") or {}
    return outcomes.State(state=stored.get("state", enums.OUTCOME_PENDING), starts_at=stored.get("starts_at"),
                          entered_at=stored.get("entered_at"), closed_at=stored.get("closed_at"),
                          exit_price=_decimal(stored.get("exit_price")),
                          r_multiple=_decimal(stored.get("r_multiple")))


def _candle(raw: dict) -> outcomes.Candle:
    return outcomes.Candle(t=raw["t"], o=_decimal(raw["o"]), h=_decimal(raw["h"]), l=_decimal(raw["l"]),
                           c=_decimal(raw["c"]))


def _candles():
    return Candle._get_collection()


def _signals():
    return TradeSignal._get_collection()


def close_before(*, symbol: str, moment: datetime) -> Decimal | None:
    """The close of the latest stored candle of ``symbol`` that starts before ``moment`` (``None``: none stored).
    One query on the unique (symbol, t) index."""
    raw = _candles().find_one({"symbol": symbol, "t": {"$lt": moment}}, {"c": 1}, sort=[("t", -1)],
                              hint=CANDLES_INDEX)
    return None if raw is None else _decimal(raw["c"])


def _stored_candles(symbol: str, first: datetime) -> list[outcomes.Candle]:
    cursor = _candles().find({"symbol": symbol, "t": {"$gte": first}}, {"t": 1, "o": 1, "h": 1, "l": 1, "c": 1},
                             sort=[("t", 1)], hint=CANDLES_INDEX)
    return [_candle(raw) for raw in cursor]


class _Closes:
    """``close_before`` answered from the candles already read when they cover the moment (they are every stored
    candle from the batch's first minute on), by one query otherwise."""

    def __init__(self, symbol: str, candles: list[outcomes.Candle]):
        self.symbol, self.candles = symbol, candles
        self.times = [candle.t for candle in candles]

    def __call__(self, moment: datetime) -> Decimal | None:
        at = bisect_left(self.times, moment)
        if at > 0:
            return self.candles[at - 1].c
        return close_before(symbol=self.symbol, moment=moment)


@dataclass(frozen=True)
class _Range:
    """The extent of the candles read: a live signal that no candle can enter or exit and whose deadline is after
    the last candle cannot change (``advance`` would return it as it is), so it is not run."""

    low: Decimal
    high: Decimal
    last: datetime

    def untouched(self, levels: outcomes.Levels, state: outcomes.State, expiry: int) -> bool:
        ends = outcomes.deadline(levels, state, expiry)
        if ends is None or ends <= self.last:
            return False
        if state.state == enums.WAITING_ENTRY:  # no candle's range can hold the entry
            return levels.entry < self.low or levels.entry > self.high
        if levels.direction == enums.LONG:  # no low reaches the stop, no high the take profit
            return levels.stop < self.low and levels.take > self.high
        return levels.stop > self.high and levels.take < self.low


def _candidates(symbol: str, last: datetime) -> list[dict]:
    query = {"outcome.state": {"$in": list(enums.OUTCOME_LIVE)}, "symbol": symbol, "outcome.starts_at": {"$lte": last}}
    return list(_signals().find(query, _PROJECTION, hint=CANDIDATES_INDEX))


def _recorded_data(raw: dict, state: outcomes.State, version: int) -> dict:
    def text(value):
        return None if value is None else format(value, "f")

    def when(value):
        return None if value is None else isoformat(value)

    return {"signal_id": str(raw["_id"]), "owner_id": raw["owner_id"], "symbol": raw["symbol"],
            "state": state.state, "entered_at": when(state.entered_at), "closed_at": when(state.closed_at),
            "exit_price": text(state.exit_price), "r_multiple": text(state.r_multiple), "version": version}


def _update(raw: dict, before: outcomes.State, after: outcomes.State) -> UpdateOne:
    """The conditional update of one signal's outcome: it matches nothing once a concurrent edit or review has
    moved the version or the state."""
    return UpdateOne({"_id": raw["_id"], "version": raw["version"], "outcome.state": before.state},
                     {"$set": {"outcome": services.outcome_document(after).to_mongo(), "version": raw["version"] + 1,
                               "updated_at": utcnow()}})


class _Lost(Exception):
    """A batch of decided outcomes in which some signal was changed concurrently: the batch is undone."""


def _write_decided(batch: list[tuple[dict, outcomes.State, outcomes.State]]) -> list[dict]:
    """Decided outcomes with their ``outcome_recorded`` events, in one transaction per batch (one bulk update, one
    outbox insert). If a concurrent edit or review got to one of them first, the batch is undone and each signal
    is written on its own, so exactly the signals whose update matched publish their event."""
    def write(items):
        with events.atomic("signals") as session:
            result = _signals().bulk_write([_update(raw, before, after) for raw, before, after in items],
                                           ordered=False, session=session)
            if result.matched_count != len(items):
                raise _Lost()
            events.publish_many([(signal_events.OUTCOME_RECORDED, str(raw["_id"]),
                                  _recorded_data(raw, after, raw["version"] + 1)) for raw, _, after in items],
                                producer=signal_events.PRODUCER)

    try:
        write(batch)
        return [raw for raw, _, _ in batch]
    except _Lost:
        pass
    except OperationFailure as exc:
        if not is_write_conflict(exc):
            raise
    written = []
    for item in batch if len(batch) > 1 else ():
        try:
            write([item])
            written.append(item[0])
        except _Lost:
            continue  # an edit or review is committing on this signal: it wins
        except OperationFailure as exc:
            if not is_write_conflict(exc):
                raise
    return written


def _write_live(batch: list[tuple[dict, outcomes.State, outcomes.State]]) -> list[dict]:
    """Entries (waiting → open): no event, so one unordered bulk update outside any transaction. A bulk result
    does not say which updates matched; when not all did, one read of the batch's signals tells."""
    result = _signals().bulk_write([_update(raw, before, after) for raw, before, after in batch], ordered=False)
    if result.matched_count == len(batch):
        return [raw for raw, _, _ in batch]
    now = {doc["_id"]: doc for doc in _signals().find({"_id": {"$in": [raw["_id"] for raw, _, _ in batch]}},
                                                      {"version": 1, "outcome.state": 1})}
    return [raw for raw, _, after in batch
            if (doc := now.get(raw["_id"])) and doc.get("version") == raw["version"] + 1
            and (doc.get("outcome") or {}).get("state") == after.state]


def _change(raw: dict, version: int) -> services.SignalChange:
    public = raw.get("status") == enums.APPROVED and bool(raw.get("owner_active", True))
    return services.SignalChange(signal_id=str(raw["_id"]), owner_id=raw["owner_id"], old_status=raw.get("status"),
                                 new_status=raw.get("status"), was_public=public, is_public=public, version=version)


def candles_evaluate(*, symbol: str, first: datetime, last: datetime) -> Evaluated:
    """Advance every live outcome of ``symbol`` through the stored candles from ``first`` on (see the module)."""
    _signals(), _candles()  # a first use builds the indexes, which no transaction may
    raws = _candidates(symbol, last)
    if not raws:
        return Evaluated(candidates=0, changed=0, recorded=0)
    candles = _stored_candles(symbol, first)
    if not candles:
        return Evaluated(candidates=len(raws), changed=0, recorded=0)
    expiry = settings.SIGNAL_EXPIRY_CANDLES
    extent = _Range(low=min(c.l for c in candles), high=max(c.h for c in candles), last=candles[-1].t)
    closes = _Closes(symbol, candles)
    decided, entered = [], []
    for raw in raws:
        levels, before = _levels(raw), _state(raw)
        if before.state not in enums.OUTCOME_LIVE or extent.untouched(levels, before, expiry):
            continue
        after = outcomes.advance(levels, before, candles, expiry_candles=expiry, close_before=closes)
        if after.state != before.state:
            (decided if after.final else entered).append((raw, before, after))
    written_decided = [raw for start in range(0, len(decided), WRITE_BATCH)
                       for raw in _write_decided(decided[start:start + WRITE_BATCH])]
    written_entered = [raw for start in range(0, len(entered), WRITE_BATCH)
                       for raw in _write_live(entered[start:start + WRITE_BATCH])]
    changes = [_change(raw, raw["version"] + 1) for raw in written_decided + written_entered]
    recorded = len(written_decided)
    if changes:
        services.signal_outcomes_changed.send(sender=TradeSignal, changes=changes)
    return Evaluated(candidates=len(raws), changed=len(changes), recorded=recorded)
