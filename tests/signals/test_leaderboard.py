"""The public leaderboard through the real API, over signals stored with decided outcomes: who counts (final,
approved, active owners, closed in the period), the order (total R, then closed, then owner id), the record's
numbers, the parameters, and the short-lived cache."""
from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from bson import ObjectId

from apps.signals.models import Outcome, TradeSignal
from tests.support.errors import assert_error
from tests.support.signals import BASE
from tradesignals.kernel.clock import utcnow

BOARD = f"{BASE}/leaderboard"
A, B, C, D, E, F, G = (letter * 24 for letter in "abcdef0")  # G sorts first by id: "000…"


def stored(owner_id: str, state: str, days_ago: float, r: str | None, *, name: str = "", status: str = "approved",
           active: bool = True) -> None:
    """One signal of ``owner_id`` whose outcome is ``state``, closed ``days_ago`` days ago with R ``r``."""
    now = utcnow()
    closed = now - timedelta(days=days_ago)
    signal = TradeSignal(id=ObjectId(), owner_id=owner_id, owner_name=name or f"Trader {owner_id[0]}",
                         owner_active=active, symbol="BTC/USDT", direction="long", entry_price=Decimal("100"),
                         stop_loss=Decimal("90"), take_profit=Decimal("120"), timeframe="1h", rationale="Why.",
                         status=status, version=2, created_at=closed - timedelta(days=1), updated_at=closed,
                         outcome=Outcome(state=state, starts_at=closed - timedelta(hours=20),
                                         entered_at=closed - timedelta(hours=10), closed_at=closed,
                                         exit_price=Decimal("110"), r_multiple=None if r is None else Decimal(r)))
    signal.validate()
    TradeSignal._get_collection().insert_one(signal.to_mongo())


@pytest.fixture
def board():
    """Seven traders; see each block."""
    # A: 5 closed in 30 days — won 2, lost 1, expired 2 (one without an entry: no R); total 3.00 over 4 with an R.
    stored(A, "won", 1, "2.00", name="Alice")
    stored(A, "won", 2, "1.50", name="Alice Before")
    stored(A, "lost", 3, "-1.00", name="Alice Before")
    stored(A, "expired", 4, None, name="Alice Before")
    stored(A, "expired", 5, "0.50", name="Alice Before")
    # B: 5 closed — the same total as A and as many closed: after A by owner id.
    for days, state, r in ((1, "won", "3.00"), (2, "won", "1.00"), (3, "lost", "-1.00"), (10, "won", "1.00"),
                           (20, "lost", "-1.00")):
        stored(B, state, days, r)
    # G: total 3.00 too, but 6 closed: ahead of A and B.
    for days, state, r in ((1, "won", "2.00"), (2, "won", "2.00"), (3, "lost", "-1.00"), (4, "expired", None),
                           (5, "expired", None), (6, "expired", None)):
        stored(G, state, days, r)
    # C: one big win — ranked first only when one closed signal is enough.
    stored(C, "won", 1, "4.00")
    # D: deactivated; E: its wins rejected, and live or pending outcomes never count.
    for days in range(1, 7):
        stored(D, "won", days, "5.00", active=False)
        stored(E, "won", days, "5.00", status="rejected")
    for days in range(1, 7):
        stored(E, "open", days, "5.00")
        stored(E, "waiting_entry", days, None)
    # F: closed 60 and 200 days ago — in 90d and all only.
    stored(F, "won", 60, "10.00")
    stored(F, "won", 200, "5.00")


def owners(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [entry["owner_id"] for entry in response.json()["results"]]


def test_default_is_thirty_days_and_five_closed_ranked_by_total_r_then_closed_then_owner(board, anonymous):
    response = anonymous.get(BOARD)
    assert owners(response) == [G, A, B]
    body = response.json()
    assert body["period"] == "30d" and body["min_closed"] == 5
    alice = body["results"][1]
    assert alice == {"owner_id": A, "owner_name": "Alice", "track_record": {
        "closed": 5, "won": 2, "lost": 1, "expired": 2, "win_rate": "0.40", "average_r": "0.75", "total_r": "3.00"}}
    assert body["results"][0]["track_record"] == {"closed": 6, "won": 2, "lost": 1, "expired": 3,
                                                  "win_rate": "0.33", "average_r": "1.00", "total_r": "3.00"}
    assert body["results"][2]["track_record"]["win_rate"] == "0.60"


def test_min_closed_and_the_periods(board, anonymous):
    assert owners(anonymous.get(BOARD, min_closed="1")) == [C, G, A, B]
    assert owners(anonymous.get(BOARD, min_closed="6")) == [G]
    assert owners(anonymous.get(BOARD, min_closed="7")) == []
    ninety = anonymous.get(BOARD, period="90d", min_closed="1")
    assert owners(ninety) == [F, C, G, A, B]
    assert ninety.json()["results"][0]["track_record"]["total_r"] == "10.00"
    forever = anonymous.get(BOARD, period="all", min_closed="1")
    assert owners(forever) == [F, C, G, A, B]
    assert forever.json()["results"][0]["track_record"] == {
        "closed": 2, "won": 2, "lost": 0, "expired": 0, "win_rate": "1.00", "average_r": "7.50", "total_r": "15.00"}


def test_a_trader_without_any_r_has_a_null_average(anonymous):
    stored(A, "expired", 1, None)
    record = anonymous.get(BOARD, min_closed="1").json()["results"][0]["track_record"]
    assert record == {"closed": 1, "won": 0, "lost": 0, "expired": 1, "win_rate": "0.00", "average_r": None,
                      "total_r": "0.00"}


@pytest.mark.parametrize("params", [
    {"period": "7d"}, {"period": "30D"}, {"period": " 30d"}, {"min_closed": "0"}, {"min_closed": "1001"},
    {"min_closed": "five"}, {"min_closed": "٥"}, {"min_closed": "-1"}, {"min_closed": "1.0"},
])
def test_bad_parameters_are_a_400(anonymous, params):
    error = assert_error(anonymous.get(BOARD, **params), 400, "validation_error")
    assert list(error["details"]) == list(params)


def test_empty_and_unknown_parameters_take_the_defaults(board, anonymous):
    response = anonymous.get(BOARD, period="", min_closed="", sort="name")
    assert owners(response) == [G, A, B]
    assert response.json()["period"] == "30d"


def test_the_board_is_public_and_cached_briefly(board, anonymous, owner):
    first = anonymous.get(BOARD)
    assert first["Cache-Control"].startswith("public, max-age=")
    assert first["X-Cache"] == "miss"
    stored(C, "won", 1, "1.00")
    for _ in range(4):
        stored(C, "won", 1, "1.00")  # C now has 5 closed and 8.00: not shown until the entry expires
    second = owner.get(BOARD)
    assert second["X-Cache"] == "hit" and second.content == first.content
    assert anonymous.get(BOARD, headers={"If-None-Match": first["ETag"]}).status_code == 304
    assert owners(anonymous.get(BOARD, min_closed="5", period="90d")) == [C, G, A, B]  # another entry: fresh
