"""Newest-first keyset reads in bounded time windows: the reader for the embedded server only.

``kernel.keyset`` chooses it when the server is the embedded one (or ``MONGODB_KEYSET_READER=windowed``); on
a real MongoDB the plain reader there is the whole story. Everything below exists for the embedded server.

A keyset page is "the next ``n`` documents of an index range, in index order". MongoDB walks the index
and stops after ``n``; the embedded MongoDB-compatible server (secantus) does not push a ``limit`` into an
index scan: it fetches and decodes *every* document of the equality prefix, then sorts and cuts (a cost
that grows with the whole prefix, not with the page), and it falls back to a collection scan for a ``$or``
keyset clause, for equality fields that are not exactly an index prefix, and walks the whole index when
hinted. A bounded range on the order field, with the equality fields forming exactly a declared index
prefix, it does serve from the index, at a cost proportional to the documents inside the range.

So reads ask for a time window below the position they continue from and size the next one from the density
they observed, until they hold enough documents or the window passes ``FLOOR`` (then one open-ended query
finishes the walk). A window that holds far more than the page needs is the expensive case, so each process
also remembers, per query shape, where the newest matching documents were and how closely they were spaced
(a *placement hint*, used for ``HINT_TTL``): a feed read again soon is one window holding about one page, even
when its newest item is hours old. The hint only places and sizes windows; what a read returns never depends
on it. On MongoDB the windowing is harmless: each window query is an index range scan that stops after its
limit. Residual predicates (filters that are not part of the index prefix) are applied here, in Python, so
the server query keeps its index shape.
"""
from __future__ import annotations

import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from tradesignals.kernel.lru import BoundedLRU

# Below this instant the last window is open-ended (no document of this product is older; a wrong guess
# only costs one unbounded query at the end of a walk, never a wrong result).
FLOOR = datetime(2000, 1, 1, tzinfo=UTC)
FIRST_WIDTH = timedelta(minutes=2)
MAX_GROWTH = 8
EMPTY_GENTLE = timedelta(hours=1)
MIN_WIDTH = timedelta(milliseconds=1)  # BSON dates have millisecond precision
# Aim each window at this many times the documents still missing (density varies along the index).
HEADROOM = 1.5
# A hint no older than the first window: everything inserted since it was taken lies inside that window anyway
# (documents are stamped with the time of their insert), so using it never adds more than about a page.
HINT_TTL = FIRST_WIDTH.total_seconds()
HINT_SLOTS = 1024


@dataclass(frozen=True)
class _Hint:
    newest: datetime          # order value of the newest matching document seen
    spacing: timedelta        # average distance between neighbouring matching documents near the top
    taken: float              # time.monotonic() when it was recorded


_hints = BoundedLRU(HINT_SLOTS)


def forget_hints() -> None:
    """Drop every placement hint of this process (tests; a hint never changes a result, only its cost)."""
    _hints.clear()


def value_at(raw: dict, field: str) -> Any:
    """The value of a (possibly dotted) field of a raw document."""
    for part in field.split("."):
        if not isinstance(raw, dict):
            return None
        raw = raw.get(part)
    return raw


def newest_first(collection, *, query: dict, field: str, need: int, after: tuple[datetime, Any] | None = None,
                 residual: Callable[[dict], bool] | None = None, residual_key: Hashable = None,
                 now: datetime | None = None, observe: Callable[[dict], None] | None = None) -> list[dict]:
    """Up to ``need`` raw documents matching ``query`` (and ``residual``) in ``(field desc, _id desc)`` order,
    strictly after the position ``after`` = ``(field value, _id)``.

    ``query`` must hold only the equality fields of an index ``(…, field desc, _id desc)``. ``residual_key``
    names what ``residual`` filters (hints are kept per residual shape; with a residual and no key, no hint is
    used). ``observe`` is called with each server query (diagnostics and tests).
    """
    sort = [(field, -1), ("_id", -1)]
    found: list[dict] = []
    hint_key = None
    if residual is None or residual_key is not None:
        hint_key = (collection.full_name, field, repr(sorted(query.items())), residual_key)
    hint = _hints.get(hint_key) if hint_key is not None else None
    if hint is not None and time.monotonic() - hint.taken > HINT_TTL:
        hint = None  # too old to bound what was inserted since (see HINT_TTL)

    def run(server_query: dict) -> list[dict]:
        if observe is not None:
            observe(server_query)
        cursor = collection.find(server_query).sort(sort)
        if residual is None:
            cursor = cursor.limit(need - len(found))
        got = []
        for raw in cursor:
            if residual is None or residual(raw):
                got.append(raw)
                if len(found) + len(got) >= need:
                    break
        found.extend(got)
        return got

    def width_for(missing: int, spacing: timedelta) -> timedelta:
        return spacing * (HEADROOM * missing)

    # Windows are (lower, upper]: secantus loses documents sitting exactly on an inclusive *lower* bound of a
    # descending index field, while exclusive lower and inclusive upper bounds are exact on both servers.
    upper, upper_op = None, "$lte"
    if after is not None:
        moment, last_id = after
        run({**query, field: moment, "_id": {"$lt": last_id}})  # ties at the position itself
        upper, upper_op = moment, "$lt"
    top = upper or now or datetime.now(UTC)
    width = FIRST_WIDTH
    lower = top - width
    if hint is not None:
        width = max(width_for(need - len(found), hint.spacing), MIN_WIDTH)
        if upper is None:  # first page: reach down to just below where the newest page was last time
            lower = min(top - FIRST_WIDTH, hint.newest - width)
        else:
            lower = top - width
    while len(found) < need:
        bounds = {}
        if lower > FLOOR:
            bounds["$gt"] = lower
        if upper is not None:
            bounds[upper_op] = upper
        got = run({**query, field: bounds} if bounds else dict(query))
        if "$gt" not in bounds:
            break
        missing = need - len(found)
        span = (upper or top) - lower
        if got:
            # Density where the documents are: from the bottom of the window to its newest match (a window
            # whose top part is empty — a quiet hour above older data — says nothing about the data below).
            newest = value_at(got[0], field)
            occupied = (newest - lower) if isinstance(newest, datetime) and newest > lower else span
            occupied = max(occupied, MIN_WIDTH)
            width = min(max(width_for(missing, occupied / len(got)), span / MAX_GROWTH), span * MAX_GROWTH)
        else:
            # Nothing here: jump further. Gently while the walk is young — the first window that reaches data
            # holds everything between its bottom and that data's top, so a big jump over a short gap above a
            # dense stretch costs more than a few empty windows — then fast, so an empty list ends quickly.
            width = span * (2 if top - lower < EMPTY_GENTLE else MAX_GROWTH)
        width = max(width, MIN_WIDTH)  # always move down (a width of 0 would repeat the same empty range)
        upper, upper_op = lower, "$lte"
        lower = upper - width
    result = found[:need]
    if hint_key is not None and after is None and len(result) >= 2:
        newest, oldest = value_at(result[0], field), value_at(result[-1], field)
        if isinstance(newest, datetime) and isinstance(oldest, datetime):
            spacing = max((newest - oldest) / (len(result) - 1), MIN_WIDTH)
            _hints.put(hint_key, _Hint(newest=newest, spacing=spacing, taken=time.monotonic()))
    return result

