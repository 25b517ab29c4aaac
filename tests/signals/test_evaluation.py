"""The evaluation of approved signals against stored candles, through MongoDB, the bus and the API: outcomes
shown on every representation (and their cached reads refreshed), ``trade_signal.outcome_recorded`` recorded
once however often the candles arrive, an edit restarting the evaluation, a decided outcome final."""
from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from bson import Decimal128, ObjectId

from apps.signals import evaluation, services
from apps.signals import events as signal_events
from apps.signals.models import Candle, TradeSignal
from tests.support.errors import assert_error
from tests.support.signals import BASE, review
from tradesignals.kernel import events, mongo
from tradesignals.kernel.clock import isoformat, utcnow

SYMBOL = "BTC/USDT"
# VALID (tests/support/signals.py): long, entry 64000.10, stop 63000, take 66000.50 → a win is
# (66000.50 − 64000.10) / (64000.10 − 63000) = 2000.40 / 1000.10 = 2.0002 → "2.00".
PENDING = {"state": "pending", "entered_at": None, "closed_at": None, "exit_price": None, "r_multiple": None}


def next_minute(moment: datetime, n: int = 1) -> datetime:
    return moment.replace(second=0, microsecond=0) + timedelta(minutes=n)


def store(*rows, symbol: str = SYMBOL) -> tuple[datetime, datetime]:
    """Candles ``(t, o, h, l, c)`` stored as the market ingest stores them; the first and last minute."""
    Candle._get_collection().insert_many([
        {"symbol": symbol, "t": t, **{name: Decimal128(price) for name, price in zip("ohlc", prices, strict=True)},
         "received_at": utcnow()} for t, *prices in rows])
    times = [row[0] for row in rows]
    return min(times), max(times)


def announce(first: datetime, last: datetime, count: int, symbol: str = SYMBOL) -> None:
    """``market.candles_received`` as the ingest publishes it; the bus runs the evaluation."""
    events.publish(signal_events.CANDLES_RECEIVED, key=symbol, producer=signal_events.PRODUCER,
                   data={"symbol": symbol, "first": isoformat(first), "last": isoformat(last), "count": count})


def recorded() -> list[dict]:
    outbox = mongo.database("signals")[events.OUTBOX_COLLECTION]
    return [entry["envelope"] for entry in outbox.find({"type": signal_events.OUTCOME_RECORDED}).sort("seq", 1)]


def approved(owner, admin, **overrides) -> dict:
    signal = owner.create(**overrides)
    response = review(admin, signal["id"], "approved", reason=None)
    assert response.status_code == 200, response.content
    return response.json()


def entered_and_won(after: datetime) -> list[tuple]:
    """12:01 holds the entry (63900–64100), 12:02 reaches the take profit: won at 12:02."""
    return [(next_minute(after, 1), "64050", "64100", "63900", "64000"),
            (next_minute(after, 2), "64000", "66100", "63950", "66050")]


def test_a_win_is_shown_everywhere_and_recorded_once(owner, admin, anonymous):
    signal = approved(owner, admin)
    sid = signal["id"]
    assert signal["outcome"] == {**PENDING, "state": "waiting_entry"}
    approved_at = datetime.fromisoformat(signal["review"]["at"])
    # Warm every cached read of it.
    reads = ((owner, BASE), (anonymous, f"{BASE}/public"), (admin, f"{BASE}/admin"), (anonymous, f"{BASE}/{sid}"),
             (owner, f"{BASE}/{sid}"))
    for caller, path in reads:
        assert caller.get(path).status_code == 200
    etag = anonymous.get(f"{BASE}/{sid}").headers["ETag"]

    # A candle of the minute before the approval reaching entry and take profit counts for nothing.
    before = next_minute(approved_at, -1)
    store((before, "64000", "66600", "63900", "66500"))
    announce(before, before, 1)
    assert anonymous.get(f"{BASE}/{sid}").json()["outcome"]["state"] == "waiting_entry"

    rows = entered_and_won(approved_at)
    first, last = store(*rows)
    announce(first, last, len(rows))
    expected = {"state": "won", "entered_at": isoformat(rows[0][0]), "closed_at": isoformat(rows[1][0]),
                "exit_price": "66000.50", "r_multiple": "2.00"}
    for caller, path in reads:
        body = caller.get(path).json()
        shown = body["outcome"] if "outcome" in body else body["results"][0]["outcome"]
        assert shown == expected, path
    detail = anonymous.get(f"{BASE}/{sid}", headers={"If-None-Match": etag})
    assert detail.status_code == 200 and detail.headers["ETag"] != etag  # a changed outcome is a new version

    payload = {"signal_id": sid, "owner_id": owner.user_id, "symbol": SYMBOL, **expected,
               "version": signal["version"] + 1}
    assert [(e["key"], e["producer"], e["data"]) for e in recorded()] == [(sid, "signals", payload)]

    # Replays — the same announcement again, and the evaluation called directly — change and publish nothing.
    announce(first, last, len(rows))
    assert evaluation.candles_evaluate(symbol=SYMBOL, first=first, last=last) == evaluation.Evaluated(0, 0, 0)
    assert len(recorded()) == 1
    assert anonymous.get(f"{BASE}/{sid}").json()["version"] == signal["version"] + 1


def test_a_short_that_enters_and_hits_its_stop_loses(owner, admin):
    signal = approved(owner, admin, direction="short", entry_price="100", stop_loss="110", take_profit="80",
                      timeframe="1m")
    at = datetime.fromisoformat(signal["review"]["at"])
    first, last = store((next_minute(at, 1), "101", "102", "99.5", "100.5"),   # holds 100: entered
                        (next_minute(at, 2), "100", "104", "99", "103"),       # neither exit
                        (next_minute(at, 3), "105", "111", "79", "108"))       # both: lost
    assert evaluation.candles_evaluate(symbol=SYMBOL, first=first, last=last) == evaluation.Evaluated(1, 1, 1)
    assert owner.get(f"{BASE}/{signal['id']}").json()["outcome"] == {
        "state": "lost", "entered_at": isoformat(first), "closed_at": isoformat(last), "exit_price": "110",
        "r_multiple": "-1.00"}
    assert [e["data"]["state"] for e in recorded()] == ["lost"]


def test_an_open_signal_expires_at_the_last_close(owner, admin, settings):
    settings.SIGNAL_EXPIRY_CANDLES = 3
    signal = approved(owner, admin, entry_price="100", stop_loss="90", take_profit="120", timeframe="1m")
    at = datetime.fromisoformat(signal["review"]["at"])
    entry = next_minute(at, 1)  # the deadline is three minutes later
    first, last = store((entry, "101", "101", "99", "100"))
    assert evaluation.candles_evaluate(symbol=SYMBOL, first=first, last=last) == evaluation.Evaluated(1, 1, 0)
    assert owner.get(f"{BASE}/{signal['id']}").json()["outcome"] == {
        **PENDING, "state": "open", "entered_at": isoformat(entry)}
    assert recorded() == []  # only a decided outcome is an event
    # No exit; then, in a batch of its own, a candle at the deadline: marked to the last close stored before it,
    # (103.455 − 100) / 10 = 0.3455 → "0.35".
    first, last = store((next_minute(entry, 1), "100", "105", "98", "104"),
                        (next_minute(entry, 2), "104", "106", "102", "103.455"))
    announce(first, last, 2)
    assert owner.get(f"{BASE}/{signal['id']}").json()["outcome"]["state"] == "open"
    first, last = store((next_minute(entry, 3), "103", "104", "102", "103"))
    announce(first, last, 1)
    expected = {"state": "expired", "entered_at": isoformat(entry), "closed_at": isoformat(next_minute(entry, 3)),
                "exit_price": "103.455", "r_multiple": "0.35"}
    assert owner.get(f"{BASE}/{signal['id']}").json()["outcome"] == expected
    assert [e["data"] for e in recorded()] == [{"signal_id": signal["id"], "owner_id": owner.user_id,
                                                "symbol": SYMBOL, **expected, "version": signal["version"] + 2}]


def test_an_edit_restarts_the_evaluation_from_the_next_approval(owner, admin, monkeypatch):
    """The first approval 30 minutes ago; an edit and the second approval later: candles between the two
    approvals count for nothing once the signal was edited."""
    start = next_minute(utcnow(), -60) + timedelta(seconds=10)
    monkeypatch.setattr(services, "utcnow", lambda: start)
    signal = approved(owner, admin)
    sid = signal["id"]
    first, last = store((next_minute(start, 1), "64050", "64100", "63900", "64000"))  # entered
    announce(first, last, 1)
    assert owner.get(f"{BASE}/{sid}").json()["outcome"]["state"] == "open"

    monkeypatch.setattr(services, "utcnow", lambda: start + timedelta(minutes=20))
    edited = owner.send("PATCH", f"{BASE}/{sid}", {"rationale": "Tighter thesis."})
    assert edited.status_code == 200 and edited.json()["outcome"] == PENDING
    assert edited.json()["status"] == "pending"
    # Candles of a pending signal move nothing (it is no candidate).
    first, last = store((next_minute(start, 21), "64000", "66600", "63900", "66500"))
    announce(first, last, 1)
    assert owner.get(f"{BASE}/{sid}").json()["outcome"] == PENDING

    reapproved_at = start + timedelta(minutes=30)
    monkeypatch.setattr(services, "utcnow", lambda: reapproved_at)
    assert review(admin, sid, "approved", reason=None).json()["outcome"] == {**PENDING, "state": "waiting_entry"}
    # Between the edit and the second approval: would have won; read with a quiet minute after the approval,
    # it counts for nothing.
    first, last = store((next_minute(start, 25), "64000", "66600", "63900", "66500"),
                        (next_minute(reapproved_at, 1), "64200", "64300", "64150", "64250"))
    assert evaluation.candles_evaluate(symbol=SYMBOL, first=first, last=last) == evaluation.Evaluated(1, 0, 0)
    assert owner.get(f"{BASE}/{sid}").json()["outcome"]["state"] == "waiting_entry"
    rows = entered_and_won(next_minute(reapproved_at, 1))
    first, last = store(*rows)
    announce(first, last, 2)
    assert owner.get(f"{BASE}/{sid}").json()["outcome"] == {
        "state": "won", "entered_at": isoformat(rows[0][0]), "closed_at": isoformat(rows[1][0]),
        "exit_price": "66000.50", "r_multiple": "2.00"}
    assert [e["data"]["entered_at"] for e in recorded()] == [isoformat(rows[0][0])]


def test_a_decided_outcome_is_final_for_the_owner(owner, admin, anonymous):
    signal = approved(owner, admin)
    sid = signal["id"]
    rows = entered_and_won(datetime.fromisoformat(signal["review"]["at"]))
    announce(*store(*rows), 2)
    edit = owner.send("PATCH", f"{BASE}/{sid}", {"rationale": "Rewriting history."})
    assert assert_error(edit, 409, "conflict")["details"] == {"outcome": "won"}
    assert assert_error(owner.send("DELETE", f"{BASE}/{sid}"), 409, "conflict")["details"] == {"outcome": "won"}
    assert owner.get(f"{BASE}/{sid}").json()["outcome"]["state"] == "won"
    # An administrator still rejects (the outcome stays decided) and deletes.
    rejected = review(admin, sid, "rejected", reason="Misleading chart")
    assert rejected.status_code == 200 and rejected.json()["outcome"]["state"] == "won"
    assert anonymous.get(f"{BASE}/{sid}").status_code == 404
    assert admin.send("DELETE", f"{BASE}/{sid}").status_code == 204
    assert owner.get(f"{BASE}/{sid}").status_code == 404


def test_a_rejection_of_a_live_signal_puts_its_outcome_back_to_pending(owner, admin):
    signal = approved(owner, admin)
    rejected = review(admin, signal["id"], "rejected", reason="Not now")
    assert rejected.json()["outcome"] == PENDING
    rows = entered_and_won(datetime.fromisoformat(signal["review"]["at"]))
    announce(*store(*rows), 2)
    assert owner.get(f"{BASE}/{signal['id']}").json()["outcome"] == PENDING and recorded() == []


def test_the_feed_filters_by_outcome_and_its_cache_follows(owner, other, admin, anonymous):
    winner = approved(owner, admin)
    far = approved(other, admin, entry_price="50000", stop_loss="49000", take_profit="52000")  # never touched
    pending = owner.create()
    assert anonymous.get(f"{BASE}/public", outcome="won").json()["results"] == []  # cached, empty
    rows = entered_and_won(datetime.fromisoformat(far["review"]["at"]))
    first, last = store(*rows)
    assert evaluation.candles_evaluate(symbol=SYMBOL, first=first, last=last) == evaluation.Evaluated(2, 1, 1)

    def ids(caller, path, **params):
        response = caller.get(path, **params)
        assert response.status_code == 200, response.content
        return [s["id"] for s in response.json()["results"]]

    assert ids(anonymous, f"{BASE}/public", outcome="won") == [winner["id"]]
    assert ids(anonymous, f"{BASE}/public", outcome="waiting_entry") == [far["id"]]
    assert ids(anonymous, f"{BASE}/public", outcome="waiting_entry", symbol="btc/usdt") == [far["id"]]
    assert ids(anonymous, f"{BASE}/public", outcome="lost") == []
    assert ids(owner, BASE, outcome="pending") == [pending["id"]]
    assert ids(owner, BASE, outcome="won") == [winner["id"]]
    assert ids(admin, f"{BASE}/admin", outcome="waiting_entry") == [far["id"]]
    assert anonymous.get(f"{BASE}/{far['id']}").json()["version"] == far["version"]  # not written
    for bad in ("WON", "closed", "won "):
        response = anonymous.get(f"{BASE}/public", outcome=bad)
        assert response.status_code == 400 and "outcome" in response.json()["error"]["details"], bad


def test_a_concurrent_edit_wins_over_the_evaluation(owner, admin):
    """The evaluation read the signal, then the owner's edit committed: its conditional write matches nothing,
    and the edit's pending outcome stands."""
    signal = approved(owner, admin)
    at = datetime.fromisoformat(signal["review"]["at"])
    raw = TradeSignal._get_collection().find_one({"_id": ObjectId(signal["id"])})
    assert owner.send("PATCH", f"{BASE}/{signal['id']}", {"rationale": "Edited meanwhile."}).status_code == 200
    before = evaluation._state(raw)
    after = evaluation.outcomes.advance(evaluation._levels(raw), before,
                                        [evaluation.outcomes.Candle(next_minute(at, 1), *map(Decimal, (
                                            "64000", "66600", "63900", "66500")))],
                                        expiry_candles=100, close_before=lambda moment: None)
    assert after.state == "won"
    assert evaluation._write_decided([(raw, before, after)]) == []
    assert owner.get(f"{BASE}/{signal['id']}").json()["outcome"] == PENDING and recorded() == []


def test_a_batch_with_one_concurrent_edit_records_every_other_signal_once(owner, admin):
    """Decided outcomes are written in one transaction per batch; one signal edited meanwhile undoes the batch,
    which is then written signal by signal: the edited one keeps its edit, every other one is recorded once."""
    signals = [approved(owner, admin) for _ in range(3)]
    at = max(datetime.fromisoformat(signal["review"]["at"]) for signal in signals)
    raws = [TradeSignal._get_collection().find_one({"_id": ObjectId(signal["id"])}) for signal in signals]
    assert owner.send("PATCH", f"{BASE}/{signals[1]['id']}", {"rationale": "Edited meanwhile."}).status_code == 200
    candle = evaluation.outcomes.Candle(next_minute(at, 1), *map(Decimal, ("64000", "66600", "63900", "66500")))
    batch = []
    for raw in raws:
        before = evaluation._state(raw)
        after = evaluation.outcomes.advance(evaluation._levels(raw), before, [candle], expiry_candles=100,
                                            close_before=lambda moment: None)
        batch.append((raw, before, after))
    written = evaluation._write_decided(batch)
    assert [raw["_id"] for raw in written] == [raws[0]["_id"], raws[2]["_id"]]
    assert sorted(event["key"] for event in recorded()) == sorted([signals[0]["id"], signals[2]["id"]])
    assert owner.get(f"{BASE}/{signals[1]['id']}").json()["outcome"] == PENDING
    assert owner.get(f"{BASE}/{signals[0]['id']}").json()["outcome"]["state"] == "won"


def test_a_signal_stored_before_outcomes_shows_pending(owner, admin):
    signal = approved(owner, admin)
    TradeSignal._get_collection().update_one({"_id": ObjectId(signal["id"])}, {"$unset": {"outcome": ""}})
    services.signal_saved.send(sender=TradeSignal, change=services.SignalChange(
        signal_id=signal["id"], owner_id=owner.user_id, old_status="approved", new_status="approved",
        was_public=True, is_public=True, version=signal["version"]))
    assert owner.get(f"{BASE}/{signal['id']}").json()["outcome"] == PENDING
    assert owner.get(BASE).json()["results"][0]["outcome"] == PENDING
    # Not a candidate: nothing to evaluate.
    first, last = store(*entered_and_won(datetime.fromisoformat(signal["review"]["at"])))
    assert evaluation.candles_evaluate(symbol=SYMBOL, first=first, last=last).candidates == 0

