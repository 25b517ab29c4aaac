"""The console's reads against the real MongoDB-compatible server: the queue order, its filters and keyset
walk, recently reviewed, and the overview counts."""
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from bson import ObjectId

from apps.signals import selectors, services
from apps.signals.models import TradeSignal
from tradesignals.kernel.identity import Principal


def principal(user_id: str, role: str = "admin") -> Principal:
    return Principal(user_id=user_id, role=role, name=user_id, jti="j-" + user_id, family=None, version=0,
                     expires_at=2**31)


def create(symbol="BTC/USDT", direction="long", owner="u1"):
    prices = (("100", "90", "120") if direction == "long" else ("100", "110", "80"))
    entry, stop, take = (Decimal(p) for p in prices)
    return services.signal_create(owner_id=owner, owner_name=owner.upper(), symbol=symbol, direction=direction,
                                  entry_price=entry, stop_loss=stop, take_profit=take, timeframe="1h",
                                  rationale="Range breakout.")


def backdate(signal, moment):
    TradeSignal._get_collection().update_one({"_id": signal.id}, {"$set": {"created_at": moment}})


def test_queue_is_pending_only_oldest_first_and_walks_every_item_once():
    signals = [create() for _ in range(5)]
    services.signal_review(signal_id=str(signals[2].id), actor=principal("a1"), status="approved")
    base = datetime(2026, 1, 1, tzinfo=UTC)
    for offset, signal in enumerate(signals):
        backdate(signal, base + timedelta(minutes=offset))
    backdate(signals[4], base)  # same instant as the first: the id breaks the tie

    seen, after = [], None
    while True:
        page = selectors.signal_list_pending(filters={}, after=after, limit=2)
        seen += [str(item.id) for item in page.items]
        if page.next_after is None:
            break
        after = page.next_after
    expected = [str(s.id) for s in sorted((signals[0], signals[4]), key=lambda s: s.id)]
    expected += [str(signals[1].id), str(signals[3].id)]
    assert seen == expected
    assert selectors.signal_count_pending() == 4


@pytest.mark.parametrize(("filters", "expected"), [
    ({"symbol": "ETH"}, {"eth"}),
    ({"direction": "short"}, {"short"}),
    ({"owner_id": "u2"}, {"u2"}),
    ({"symbol": "ETH", "owner_id": "u2"}, set()),
])
def test_queue_filters(filters, expected):
    made = {"eth": create(symbol="ETH"), "short": create(direction="short"), "u2": create(owner="u2")}
    page = selectors.signal_list_pending(filters=filters, limit=10)
    assert {str(item.id) for item in page.items} == {str(made[name].id) for name in expected}


def test_recently_reviewed_by_anyone_and_by_me_newest_decision_first():
    first, second, third, untouched = create(), create(), create(), create()
    services.signal_review(signal_id=str(first.id), actor=principal("me"), status="approved")
    services.signal_review(signal_id=str(second.id), actor=principal("other"), status="rejected", reason="No")
    services.signal_review(signal_id=str(third.id), actor=principal("me"), status="rejected", reason="Thin")

    anyone = selectors.signal_list_reviewed(limit=10)
    assert [str(s.id) for s in anyone.items] == [str(third.id), str(second.id), str(first.id)]
    mine = selectors.signal_list_reviewed(reviewer_id="me", limit=1)
    assert [str(s.id) for s in mine.items] == [str(third.id)]
    rest = selectors.signal_list_reviewed(reviewer_id="me", after=mine.next_after, limit=1)
    assert [str(s.id) for s in rest.items] == [str(first.id)] and rest.next_after is None
    assert str(untouched.id) not in {str(s.id) for s in anyone.items}


def test_counts_per_status_and_per_day():
    today = date(2026, 3, 31)
    noon = datetime(2026, 3, 31, 12, tzinfo=UTC)
    a, b, c, old = create(), create(), create(), create()
    services.signal_review(signal_id=str(b.id), actor=principal("me"), status="approved")
    services.signal_review(signal_id=str(c.id), actor=principal("me"), status="rejected", reason="No")
    backdate(a, noon)
    backdate(b, noon - timedelta(days=1))
    backdate(c, noon - timedelta(days=29))
    backdate(old, noon - timedelta(days=30))  # outside the window

    assert selectors.signal_counts_by_status() == {"pending": 2, "approved": 1, "rejected": 1}
    days = selectors.signal_counts_per_day(days=30, today=today)
    assert len(days) == 30 and days[0].day == date(2026, 3, 2) and days[-1].day == today
    by_day = {d.day: d.counts for d in days if d.total}
    assert by_day == {
        date(2026, 3, 31): {"pending": 1, "approved": 0, "rejected": 0},
        date(2026, 3, 30): {"pending": 0, "approved": 1, "rejected": 0},
        date(2026, 3, 2): {"pending": 0, "approved": 0, "rejected": 1},
    }


@pytest.mark.parametrize(("reviewer", "index"), [(None, "reviewed_recent"), ("me", "reviewer_recent")])
def test_recently_reviewed_scans_its_declared_index(reviewer, index):
    collection = TradeSignal._get_collection()
    assert index in collection.index_information()
    # The windowed queries selectors.signal_list_reviewed sends (kernel.keyset): a review.at range, and the
    # ties at a cursor position.
    prefix = {"review.by": reviewer} if reviewer else {}
    moment = datetime.now(UTC)
    for query in ({**prefix, "review.at": {"$gt": moment - timedelta(minutes=2), "$lt": moment}},
                  {**prefix, "review.at": moment, "_id": {"$lt": ObjectId()}}):
        plan = collection.find(query).sort([("review.at", -1), ("_id", -1)]).limit(21).explain()
        node, scans = plan["queryPlanner"]["winningPlan"], []
        while node:
            scans += [node["indexName"]] if node["stage"] == "IXSCAN" else []
            node = node.get("inputStage")
        assert scans == [index], query


def test_queue_and_counts_are_served_from_the_cache_until_any_signal_changes():
    from apps.signals.selectors import mongo_queries

    first, second = create(), create()
    assert selectors.signal_count_pending() == 2
    assert selectors.signal_counts_by_status()["pending"] == 2
    queued = [str(s.id) for s in selectors.signal_list_pending(filters={}, limit=10).items]
    assert queued == [str(first.id), str(second.id)]

    # Behind the product's back (no service, so no invalidation): the console keeps what it read …
    TradeSignal._get_collection().delete_one({"_id": first.id})
    lists_before = mongo_queries.lists
    assert selectors.signal_count_pending() == 2
    assert selectors.signal_counts_by_status()["pending"] == 2
    assert [str(s.id) for s in selectors.signal_list_pending(filters={}, limit=10).items] == queued
    assert mongo_queries.lists == lists_before  # the queue did not reach MongoDB

    # … and any change through the services makes the next read exact again.
    services.signal_review(signal_id=str(second.id), actor=principal("a1"), status="approved")
    assert selectors.signal_count_pending() == 0
    assert selectors.signal_counts_by_status() == {"pending": 0, "approved": 1, "rejected": 0}
    assert selectors.signal_list_pending(filters={}, limit=10).items == []
    third = create()
    assert selectors.signal_count_pending() == 1
    assert [str(s.id) for s in selectors.signal_list_pending(filters={}, limit=10).items] == [str(third.id)]
    today = datetime.now(UTC).date()
    assert selectors.signal_counts_per_day(days=3, today=today)[-1].counts == {"pending": 1, "approved": 1,
                                                                             "rejected": 0}
