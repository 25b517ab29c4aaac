"""Every read of trade signals: keyset-paginated lists, detail, visibility — and their read-through cache.

Lists are ordered by ``(created_at desc, id desc)`` and continue *after* a position, so a walk stays
correct while signals are inserted. Each list reads the declared index that covers its equality filters and
its order (``index_for``) in bounded time windows (``kernel.keyset``): the server query holds exactly that
index's equality prefix plus a ``created_at`` range, and the other filters are residual predicates.

The ``*_rendered`` selectors return cached response bytes. The caller supplies ``render`` (the API view
serialises with DRF; the console could render HTML) — this module never imports DRF.
"""
from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from operator import attrgetter

from bson import ObjectId

from apps.signals import cache, enums
from apps.signals.models import INDEXES, RECENT, TradeSignal
from tradesignals.kernel import keyset, mongo
from tradesignals.kernel.pagination import Page, Position, invalid_cursor, page_query, paginate

SORT = [("created_at", -1), ("_id", -1)]

# The equality fields each list always has, and the optional filters it accepts (by their query names;
# ``FILTER_FIELDS`` names the stored field of a filter called otherwise).
LIST_SHAPES = {
    "own": {"fixed": ("owner_id",), "filters": ("status", "symbol", "direction", "timeframe", "outcome")},
    "public": {"fixed": ("status", "owner_active"), "filters": ("symbol", "direction", "timeframe", "outcome")},
    "admin": {"fixed": (), "filters": ("owner_id", "status", "symbol", "direction", "timeframe", "outcome")},
}
FILTER_FIELDS = {"outcome": "outcome.state"}

# Visibility of a signal to a viewer.
FULL, PUBLIC = "full", "public"


class _QueryCounter:
    """How many list queries reached MongoDB in this process (diagnostics; the stampede test reads it)."""

    def __init__(self):
        self._lock = threading.Lock()
        self.lists = 0
        self.details = 0

    def add(self, name: str) -> None:
        with self._lock:
            setattr(self, name, getattr(self, name) + 1)


mongo_queries = _QueryCounter()


def index_for(equality_fields) -> str:
    """The declared index with the longest equality prefix drawn from ``equality_fields``, then the order. Only
    indexes that end in the list order count: ``outcome_live`` would otherwise look like an ``outcome.state``
    prefix to an outcome filter (and send a query no index orders)."""
    fields = set(equality_fields)
    best, best_len = None, -1
    for name, spec in INDEXES.items():
        if tuple(spec[-len(RECENT):]) != RECENT:
            continue
        prefix = spec[: -len(RECENT)]
        if set(prefix) <= fields and len(prefix) > best_len:
            best, best_len = name, len(prefix)
    return best


def list_plan(fixed: dict, filters: dict) -> tuple[str, dict, dict]:
    """``(index name, index-prefix equality query, residual equality filters)`` of a list query, on stored field
    names (a filter named in ``FILTER_FIELDS`` becomes its field: ``outcome`` → ``outcome.state``)."""
    equality = {**fixed, **{FILTER_FIELDS.get(k, k): v for k, v in filters.items() if v is not None}}
    index = index_for(equality)
    prefix = list(INDEXES[index][: -len(RECENT)])
    return index, {k: equality[k] for k in prefix}, {k: v for k, v in equality.items() if k not in prefix}


def _position(after: Position | None) -> tuple[datetime, ObjectId] | None:
    """A decoded cursor position ``(time, id)`` as the keyset reader wants it; a bad id is a tampered cursor."""
    if after is None:
        return None
    oid = mongo.object_id(after[1])
    if oid is None:
        raise invalid_cursor()
    return after[0], oid


def _list(shape: str, *, fixed: dict, filters: dict, after, limit: int) -> Page:
    _index, query, residual = list_plan(fixed, filters)
    position = _position(after)
    mongo_queries.add("lists")
    # The public feed may read a secondary; an owner's and the admins' lists read the primary (their writes).
    reads = mongo.PUBLIC if shape == "public" else mongo.PRIMARY
    raws = keyset.newest_first(mongo.collection(TradeSignal, reads), query=query, field="created_at",
                               need=limit + 1, after=position, residual=_equals(residual),
                               residual_key=tuple(sorted(residual.items())))
    return paginate(_signals(raws), limit=limit)


def _stored(raw: dict, path: str):
    """The value at a dotted ``path`` of a raw document, as a MongoDB equality reads it (absent: ``None``)."""
    for part in path.split("."):
        if not isinstance(raw, dict):
            return None
        raw = raw.get(part)
    return raw


def _equals(expected: dict):
    """``keyset.equals`` for top-level fields, reading dotted paths (``outcome.state``) through the document."""
    if not any("." in key for key in expected):
        return keyset.equals(expected)
    items = list(expected.items())
    return lambda raw: all(_stored(raw, key) == value for key, value in items)


def _signals(raws) -> list[TradeSignal]:
    return [TradeSignal._from_son(raw) for raw in raws]


def signal_list_own(*, owner_id: str, filters: dict, after: Position | None = None, limit: int = 20) -> Page:
    return _list("own", fixed={"owner_id": owner_id}, filters=filters, after=after, limit=limit)


def signal_list_public(*, filters: dict, after: Position | None = None, limit: int = 20) -> Page:
    fixed = {"status": enums.APPROVED, "owner_active": True}
    return _list("public", fixed=fixed, filters=filters, after=after, limit=limit)


def signal_list_admin(*, filters: dict, after: Position | None = None, limit: int = 20) -> Page:
    return _list("admin", fixed={}, filters=filters, after=after, limit=limit)


def signal_get(*, signal_id: str) -> TradeSignal | None:
    oid = mongo.object_id(signal_id)
    if oid is None:
        return None
    mongo_queries.add("details")
    raw = TradeSignal._get_collection().find_one({"_id": oid})
    return TradeSignal._from_son(raw) if raw else None


def signal_visibility(*, viewer_id: str | None, viewer_is_admin: bool, owner_id: str, status: str,
                      owner_active: bool) -> str | None:
    """``FULL`` (with history) for the owner and admins, ``PUBLIC`` for anyone on a live approved signal,
    ``None`` (→ 404, no existence leak) otherwise."""
    if viewer_is_admin or (viewer_id is not None and viewer_id == owner_id):
        return FULL
    if status == enums.APPROVED and owner_active:
        return PUBLIC
    return None


def signal_meta(signal: TradeSignal) -> dict:
    return {"owner_id": signal.owner_id, "status": signal.status, "owner_active": signal.owner_active,
            "version": signal.version}


# -- cached, rendered reads ----------------------------------------------------------------------------
RenderPage = Callable[[Page], bytes]


def _page_entry(page: Page, render: RenderPage) -> dict:
    body = render(page)
    return {"body": body, "etag": cache.etag_for(body)}


def _page_query(filters: dict, after, limit: int, **extra) -> dict:
    return page_query(after, limit, **filters, **extra)


def signal_list_own_rendered(*, owner_id: str, filters: dict, after, limit: int, render: RenderPage) -> dict:
    return cache.read_through(
        cache.user_namespace(owner_id), _page_query(filters, after, limit),
        lambda: _page_entry(signal_list_own(owner_id=owner_id, filters=filters, after=after, limit=limit), render),
    )


def signal_list_public_rendered(*, filters: dict, after, limit: int, render: RenderPage) -> dict:
    return cache.read_through(
        cache.PUBLIC_APPROVED, _page_query(filters, after, limit),
        lambda: _page_entry(signal_list_public(filters=filters, after=after, limit=limit), render),
        ttl=mongo.public_cache_ttl("signals"),
    )


def signal_list_admin_rendered(*, filters: dict, after, limit: int, render: RenderPage) -> dict:
    return cache.read_through(
        cache.ADMIN_ALL, _page_query(filters, after, limit),
        lambda: _page_entry(signal_list_admin(filters=filters, after=after, limit=limit), render),
    )


def signal_detail_rendered(*, signal_id: str, render: Callable[[TradeSignal, str], bytes]) -> dict | None:
    """The detail entry: both variants' bytes and ETags plus the metadata authorisation needs.

    ``None`` when the signal does not exist. The caller decides visibility from ``entry["meta"]`` — after
    the cache read, exactly as after a miss.
    """
    if mongo.object_id(signal_id) is None:
        return None

    def build():
        signal = signal_get(signal_id=signal_id)
        if signal is None:
            return None
        full, public = render(signal, FULL), render(signal, PUBLIC)
        version = signal.version
        return {"meta": signal_meta(signal), FULL: full, PUBLIC: public,
                "etags": {FULL: f'"v{version}"', PUBLIC: f'"v{version}p"'}}

    return cache.read_through(cache.detail_namespace(signal_id), {"v": 1}, build)


# -- console reads --
# The queue and the counts read through the ADMIN_ALL namespace: every change to any signal bumps it after
# its commit (receivers.py), so a hit is exactly what MongoDB holds — a reviewer still sees the state they are
# deciding on — while the pending count on every page, the queue and the overview's aggregates stop costing a
# pass over the pending signals (or over the whole collection) per request on the embedded server.
# Authorisation is the console's (admin only) before any call here.
CONSOLE_QUEUE_FILTERS = ("symbol", "direction", "owner_id")
# Declared indexes that serve console reads (ordered by review time) rather than a LIST_SHAPES list.
CONSOLE_INDEXES = ("reviewed_recent", "reviewer_recent")
# Declared indexes of the outcomes, no list's either: the evaluation's live candidates of a symbol
# (apps.signals.evaluation) and the closed signals by closing time (the leaderboard).
OUTCOME_INDEXES = ("outcome_live", "outcome_closed")
_OLDEST = [("created_at", 1), ("_id", 1)]


@dataclass(frozen=True)
class DayCounts:
    day: date
    counts: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def _keyset_after(field: str, after: Position, *, op: str) -> list[dict]:
    moment, last_id = after
    oid = mongo.object_id(last_id)
    if oid is None:
        raise invalid_cursor()
    return [{field: {op: moment}}, {field: moment, "_id": {op: oid}}]


def signal_list_pending(*, filters: dict, after: Position | None = None, limit: int = 20) -> Page:
    """The review queue: pending signals, oldest first (the longest wait on top); continues *after* a position."""
    query = {"status": enums.PENDING,
             **{k: v for k, v in filters.items() if k in CONSOLE_QUEUE_FILTERS and v not in (None, "")}}
    equality = list(query)
    if after is not None:
        query["$or"] = _keyset_after("created_at", after, op="$gt")

    def build() -> dict:
        mongo_queries.add("lists")
        cursor = (TradeSignal._get_collection().find(query).sort(_OLDEST).limit(limit + 1)
                  .hint(index_for(equality)))
        return {"raws": list(cursor)}

    entry = cache.read_through(cache.ADMIN_ALL, _page_query(filters, after, limit, console="queue"), build)
    return paginate(_signals(entry["raws"]), limit=limit)


def signal_count_pending() -> int:
    entry = cache.read_through(cache.ADMIN_ALL, {"console": "pending-count"}, lambda: {
        "n": TradeSignal._get_collection().count_documents({"status": enums.PENDING})})
    return entry["n"]


def signal_list_reviewed(*, reviewer_id: str | None = None, after: Position | None = None,
                         limit: int = 20) -> Page:
    """Signals whose current status is a review decision, newest decision first; ``reviewer_id`` narrows
    to one reviewer. An owner's edit sends a signal back to pending and so out of this list."""
    # A range on review.at implies a review; windows as for the API lists (kernel.keyset), on the index
    # reviewer_recent (review.by, review.at) or reviewed_recent (review.at).
    query: dict = {"review.by": reviewer_id} if reviewer_id else {}
    position = _position(after)
    mongo_queries.add("lists")
    raws = keyset.newest_first(TradeSignal._get_collection(), query=query, field="review.at", need=limit + 1,
                               after=position, residual=lambda raw: raw.get("review") is not None,
                               residual_key="reviewed")
    return paginate(_signals(raws), limit=limit, key=attrgetter("review.at"))


def signal_counts_by_status() -> dict[str, int]:
    def build() -> dict:
        # One index count per status (status_recent), not a $group over the whole collection.
        collection = TradeSignal._get_collection()
        return {"counts": {status: collection.count_documents({"status": status}) for status in enums.STATUSES}}

    return cache.read_through(cache.ADMIN_ALL, {"console": "counts-by-status"}, build)["counts"]


def signal_counts_per_day(*, days: int = 30, today: date | None = None) -> list[DayCounts]:
    """Signals created on each of the last ``days`` UTC days (oldest first, empty days included), split by
    their current status."""
    today = today or datetime.now(UTC).date()
    first = today - timedelta(days=days - 1)
    start = datetime(first.year, first.month, first.day, tzinfo=UTC)
    pipeline = [
        {"$match": {"created_at": {"$gte": start}}},
        {"$group": {"_id": {"day": {"$dateToString": {"format": "%Y-%m-%d", "date": "$created_at"}},
                            "status": "$status"},
                    "n": {"$sum": 1}}},
    ]

    def build() -> dict:
        table = {(first + timedelta(days=offset)).isoformat(): dict.fromkeys(enums.STATUSES, 0)
                 for offset in range(days)}
        for row in TradeSignal._get_collection().aggregate(pipeline):
            day = row["_id"]["day"]
            if day in table and row["_id"]["status"] in enums.STATUSES:
                table[day][row["_id"]["status"]] = int(row["n"])
        return {"table": table}

    entry = cache.read_through(cache.ADMIN_ALL, {"console": "counts-per-day", "first": first.isoformat(),
                                                 "days": days}, build)
    return [DayCounts(day=date.fromisoformat(day), counts=counts) for day, counts in entry["table"].items()]
