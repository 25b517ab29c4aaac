"""The query shapes of the signals app (``kernel.query_shapes``; ``manage.py check_indexes`` proves them) and
its sharding plan (``kernel.sharding``; ``manage.py mongo_shard``, docs/scaling.md).

The list shapes are derived from the selectors' own plan (``LIST_SHAPES``, ``list_plan``, ``index_for``): every
combination of optional filters of the own, public and admin lists, and of the console queue, as the server
sees it — exactly the index's equality prefix plus the keyset window (the other filters are residual).
"""
from __future__ import annotations

from itertools import combinations

from apps.signals import enums, leaderboard, market
from apps.signals.models import Candle, ChartImage, TradeSignal
from apps.signals.selectors import CONSOLE_QUEUE_FILTERS, LIST_SHAPES, index_for, list_plan
from tradesignals.kernel import query_shapes as q
from tradesignals.kernel.sharding import Plan

ALIAS = "signals"
SIGNALS = TradeSignal._meta["collection"]
IMAGES = ChartImage._meta["collection"]
CANDLES = Candle._meta["collection"]
OWNER = "0123456789abcdef01234567"
SAMPLE = {"owner_id": OWNER, "status": enums.APPROVED, "owner_active": True, "symbol": "BTCUSDT",
          "direction": enums.LONG, "timeframe": "1h", "outcome": enums.OPEN}


def _subsets(names):
    for size in range(len(names) + 1):
        yield from combinations(names, size)


def _list_shapes() -> list[q.Shape]:
    shapes, seen = [], set()
    for list_name, shape in LIST_SHAPES.items():
        fixed = {name: SAMPLE[name] for name in shape["fixed"]}
        for chosen in _subsets(shape["filters"]):
            _index, query, _residual = list_plan(fixed, {name: SAMPLE[name] for name in chosen})
            key = (list_name, tuple(sorted(query)))
            if key in seen:
                continue  # another combination sends the same server query (its extra filters are residual)
            seen.add(key)
            label = "+".join(sorted(query)) or "no filter"
            shapes += q.newest_first(f"signals {list_name} list [{label}]", ALIAS, SIGNALS, query)
    return shapes


def _queue_shapes() -> list[q.Shape]:
    """The console queue: pending, oldest first, hinted at ``index_for`` of its equality fields; a later page
    adds an ``$or`` on (created_at, _id)."""
    shapes = []
    after = {"$or": [{"created_at": {"$gt": q.SAMPLE_TIME}},
                     {"created_at": q.SAMPLE_TIME, "_id": {"$gt": q.SAMPLE_ID}}]}
    for chosen in _subsets(CONSOLE_QUEUE_FILTERS):
        query = {"status": enums.PENDING, **{name: SAMPLE[name] for name in chosen}}
        hint = index_for(list(query))
        label = "+".join(sorted(query))
        shapes.append(q.find(f"signals console queue [{label}]", ALIAS, SIGNALS, query,
                             [("created_at", 1), ("_id", 1)], hint=hint))
        shapes.append(q.find(f"signals console queue [{label}] · later page", ALIAS, SIGNALS,
                             {**query, **after}, [("created_at", 1), ("_id", 1)], hint=hint))
    return shapes


SHAPES: list[q.Shape] = [
    *_list_shapes(),
    *_queue_shapes(),
    q.find("signals detail", ALIAS, SIGNALS, {"_id": q.SAMPLE_ID}),
    q.count("signals console pending count", ALIAS, SIGNALS, {"status": enums.PENDING}),
    *q.newest_first("signals console reviewed", ALIAS, SIGNALS, {}, field="review.at"),
    *q.newest_first("signals console reviewed by one", ALIAS, SIGNALS, {"review.by": OWNER}, field="review.at"),
    *[q.count(f"signals console count of {status}", ALIAS, SIGNALS, {"status": status}) for status in enums.STATUSES],
    q.aggregate("signals console counts per day", ALIAS, SIGNALS, [
        {"$match": {"created_at": {"$gte": q.SAMPLE_TIME}}},
        {"$group": {"_id": {"day": {"$dateToString": {"format": "%Y-%m-%d", "date": "$created_at"}},
                            "status": "$status"}, "n": {"$sum": 1}}}]),
    # services: an owner's signals (deactivation, reactivation, renames).
    q.find("signals of an owner", ALIAS, SIGNALS, {"owner_id": OWNER}),
    q.find("signals of an owner · renamed", ALIAS, SIGNALS, {"owner_id": OWNER, "owner_name": {"$ne": "N"}}),
    q.find("signals of an owner · (de)activated", ALIAS, SIGNALS, {"owner_id": OWNER, "owner_active": {"$ne": True}}),
    # chart images: attach, and the collector's sweeps.
    q.find("chart images · unattached by age", ALIAS, IMAGES,
           {"signal_id": None, "discarded_at": None, "created_at": {"$lt": q.SAMPLE_TIME}}),
    q.find("chart images · discarded before", ALIAS, IMAGES, {"discarded_at": {"$ne": None, "$lt": q.SAMPLE_TIME}}),
    q.count("chart images · is a file named", ALIAS, IMAGES, {"$or": [{"key": "k"}, {"thumbnail_key": "k"}]}),
]


def _market_shapes() -> list[q.Shape]:
    """Candles (``market``): a symbol's minutes oldest first, bounded or not (a later page is a ``$gt`` on
    ``t``), and the ingest's lookup of the minutes it received; all on the (symbol, t) index."""
    oldest = [("t", 1)]
    return [
        q.find("market candles of a symbol", ALIAS, CANDLES, {"symbol": "BTC/USDT"}, oldest, hint=market.INDEX),
        q.find("market candles of a symbol · in a range", ALIAS, CANDLES,
               {"symbol": "BTC/USDT", "t": q.SAMPLE_RANGE}, oldest, hint=market.INDEX),
        q.find("market candles · the ingest's stored minutes", ALIAS, CANDLES,
               {"symbol": "BTC/USDT", "t": {"$in": [q.SAMPLE_TIME]}}, hint=market.INDEX),
        q.find("market candles · one minute (a changed candle)", ALIAS, CANDLES,
               {"symbol": "BTC/USDT", "t": q.SAMPLE_TIME}, hint=market.INDEX),
        # The evaluation: the close of the latest candle before a moment (an open signal's expiry).
        q.find("market candles · the close before a moment", ALIAS, CANDLES,
               {"symbol": "BTC/USDT", "t": {"$lt": q.SAMPLE_TIME}}, [("t", -1)], hint=market.INDEX),
    ]


def _outcome_shapes() -> list[q.Shape]:
    """The evaluation's candidates (live signals of one symbol that started by the last candle, on
    ``outcome_live``), and the closed signals of a period (on ``outcome_closed``): the console chart's read and
    the leaderboard's aggregation."""
    return [
        q.find("signals outcome · live candidates of a symbol", ALIAS, SIGNALS,
               {"outcome.state": {"$in": list(enums.OUTCOME_LIVE)}, "symbol": "BTC/USDT",
                "outcome.starts_at": {"$lte": q.SAMPLE_TIME}}, hint="outcome_live"),
        # The console overview's chart: the same counted signals closed in its window, oldest close first.
        q.find("signals console closed outcomes", ALIAS, SIGNALS,
               {"outcome.closed_at": {"$gte": q.SAMPLE_TIME}, "outcome.state": {"$in": list(enums.OUTCOME_FINAL)},
                "status": enums.APPROVED, "owner_active": True}, [("outcome.closed_at", 1)]),
        q.aggregate("signals leaderboard", ALIAS, SIGNALS,
                    leaderboard.leaderboard_pipeline(since=q.SAMPLE_TIME, min_closed=5)),
        q.aggregate("signals leaderboard · all time", ALIAS, SIGNALS,
                    leaderboard.leaderboard_pipeline(since=None, min_closed=5)),
    ]


SHAPES += [*_market_shapes(), *_outcome_shapes()]


SHARDING: list[Plan] = [
    Plan(ALIAS, SIGNALS, {"_id": "hashed"}),
    Plan(ALIAS, IMAGES, None),
    Plan(ALIAS, CANDLES, {"symbol": 1, "t": 1}),  # one symbol's minutes on one shard, in order
]
