"""The leaderboard: traders ranked by the total R of their decided signals over a period, with their record.

What counts is the track-record rule every reader of outcomes shares: a signal whose outcome is final (won,
lost, expired), that is approved (an admin's rejection takes a decided signal off the record; a deleted one is
gone) and whose owner is active, closed within the period (``closed_at ≥ now − N days``; ``all`` has no
bound). One aggregation groups them per owner on the server; the top ``TOP`` owners with at least
``min_closed`` closed signals come back, by total R desc, then closed desc, then owner id.

The board is public and the same for everyone, so it is cached as its rendered bytes for a short TTL
(``TTL``) instead of being invalidated by every outcome: a new close shows within that time.
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from bson.decimal128 import Decimal128

from apps.signals import cache, enums
from apps.signals.models import TradeSignal
from tradesignals.kernel import mongo
from tradesignals.kernel.clock import utcnow

__all__ = ["DEFAULT_MIN_CLOSED", "DEFAULT_PERIOD", "MAX_MIN_CLOSED", "NAMESPACE", "PERIODS", "PERIOD_NAMES", "TOP",
           "TTL", "leaderboard_entries", "leaderboard_pipeline", "leaderboard_rendered", "record_of"]

PERIODS = {"30d": 30, "90d": 90, "all": None}  # days back from now; None: every close
PERIOD_NAMES = tuple(PERIODS)  # the vocabulary, for the API's choices and its named OpenAPI enum
DEFAULT_PERIOD = "30d"
DEFAULT_MIN_CLOSED, MAX_MIN_CLOSED = 5, 1000
TOP = 100
TTL = 30  # seconds a rendered board is served from the cache
NAMESPACE = "trade-signals:leaderboard"
_CENT = Decimal("0.01")
_EVER = datetime(1970, 1, 1, tzinfo=UTC)  # "all": still a range on closed_at, so the closed index serves it


def _count(state: str) -> dict:
    return {"$sum": {"$cond": [{"$eq": ["$outcome.state", state]}, 1, 0]}}


def leaderboard_pipeline(*, since: datetime | None, min_closed: int) -> list[dict]:
    """The aggregation: the counted signals closed since ``since`` (oldest close first, so ``$last`` is the
    name on the latest), per owner, those with ``min_closed`` or more, ranked, the top ``TOP``."""
    return [
        {"$match": {"outcome.closed_at": {"$gte": since or _EVER}, "outcome.state": {"$in": list(enums.OUTCOME_FINAL)},
                    "status": enums.APPROVED, "owner_active": True}},
        {"$sort": {"outcome.closed_at": 1, "owner_id": 1}},
        {"$group": {"_id": "$owner_id", "owner_name": {"$last": "$owner_name"}, "closed": {"$sum": 1},
                    "won": _count(enums.WON), "lost": _count(enums.LOST), "expired": _count(enums.EXPIRED),
                    "with_r": {"$sum": {"$cond": [{"$eq": [{"$type": "$outcome.r_multiple"}, "decimal"]}, 1, 0]}},
                    "total_r": {"$sum": "$outcome.r_multiple"}}},
        {"$match": {"closed": {"$gte": min_closed}}},
        {"$sort": {"total_r": -1, "closed": -1, "_id": 1}},
        {"$limit": TOP},
    ]


def _decimal(value) -> Decimal:
    if isinstance(value, Decimal128):
        return value.to_decimal()
    return Decimal(value or 0)


def _cents(value: Decimal) -> str:
    return str(value.quantize(_CENT, rounding=ROUND_HALF_UP))


def record_of(*, closed: int, won: int, lost: int, expired: int, with_r: int, total_r: Decimal) -> dict:
    """The record's numbers as the API shows them: win_rate = won / closed, average_r = total_r / closed with an
    R (null when none), decimals as 2-place strings."""
    return {"closed": closed, "won": won, "lost": lost, "expired": expired,
            "win_rate": _cents(Decimal(won) / Decimal(closed)) if closed else None,
            "average_r": _cents(total_r / with_r) if with_r else None,
            "total_r": _cents(total_r)}


def leaderboard_entries(*, period: str = DEFAULT_PERIOD, min_closed: int = DEFAULT_MIN_CLOSED,
                        now: datetime | None = None) -> list[dict]:
    """The board (uncached): ``[{"owner_id", "owner_name", "track_record": {…}}]``, best first."""
    if period not in PERIODS:
        raise ValueError(f"unknown period {period!r}")
    days = PERIODS[period]
    since = None if days is None else (now or utcnow()) - timedelta(days=days)
    rows = mongo.collection(TradeSignal, mongo.PUBLIC).aggregate(
        leaderboard_pipeline(since=since, min_closed=min_closed))
    entries = []
    for row in rows:
        total = _decimal(row.get("total_r"))
        entries.append({"owner_id": row["_id"], "owner_name": row.get("owner_name") or "",
                        "track_record": record_of(closed=int(row["closed"]), won=int(row["won"]),
                                                  lost=int(row["lost"]), expired=int(row["expired"]),
                                                  with_r=int(row["with_r"]), total_r=total),
                        "_rank": (-total, -int(row["closed"]), row["_id"])})
    # The server sorted already; sorting the few rows again on exact Decimals makes the order independent of
    # how a server compares a Decimal128 sum.
    entries.sort(key=lambda entry: entry.pop("_rank"))
    return entries


def leaderboard_rendered(*, period: str, min_closed: int, render: Callable[[list[dict]], bytes]) -> dict:
    """The cached board: ``{"body", "etag", "hit"}`` for the period and threshold, rendered by ``render``."""

    def build() -> dict:
        body = render(leaderboard_entries(period=period, min_closed=min_closed))
        return {"body": body, "etag": cache.etag_for(body)}

    return cache.read_through(NAMESPACE, {"period": period, "min_closed": min_closed}, build, ttl=TTL)
