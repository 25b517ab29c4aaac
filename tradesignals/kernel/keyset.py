"""Newest-first keyset reads in bounded time windows.

A keyset page is "the next ``n`` documents of an index range, in index order". MongoDB walks the index
and stops after ``n``; the embedded MongoDB-compatible server (secantus) does not push a ``limit`` into an
index scan: it fetches and decodes *every* document of the equality prefix, then sorts and cuts (5 000
documents ≈ 150 ms, 20 000 ≈ 900 ms), and it falls back to a collection scan for a ``$or`` keyset clause,
for equality fields that are not exactly an index prefix, and walks the whole index when hinted. A bounded
range on the order field, with the equality fields forming exactly a declared index prefix, it does serve
from the index (20 000 documents: ≈ 4 ms).

So reads ask for a time window below the position they continue from and widen it geometrically until
they hold enough documents or the window passes ``FLOOR`` (then one open-ended query finishes the walk).
On MongoDB the windowing is harmless: each window query is an index range scan that stops after its
limit, and a page needs one or two of them. Residual predicates (filters that are not part of the index
prefix) are applied here, in Python, so the server query keeps its index shape.
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

# Below this instant the last window is open-ended (no document of this product is older; a wrong guess
# only costs one unbounded query at the end of a walk, never a wrong result).
FLOOR = datetime(2000, 1, 1, tzinfo=UTC)
FIRST_WIDTH = timedelta(minutes=2)
MAX_GROWTH = 8


def newest_first(collection, *, query: dict, field: str, need: int, after: tuple[datetime, Any] | None = None,
                 residual: Callable[[dict], bool] | None = None, now: datetime | None = None,
                 counter: Callable[[], None] | None = None) -> list[dict]:
    """Up to ``need`` raw documents matching ``query`` (and ``residual``) in ``(field desc, _id desc)`` order,
    strictly after the position ``after`` = ``(field value, _id)``.

    ``query`` must hold only the equality fields of an index ``(…, field desc, _id desc)``; ``counter`` is
    called once per server query (diagnostics).
    """
    sort = [(field, -1), ("_id", -1)]
    found: list[dict] = []

    def run(server_query: dict) -> None:
        if counter is not None:
            counter()
        cursor = collection.find(server_query).sort(sort)
        if residual is None:
            cursor = cursor.limit(need - len(found))
        for raw in cursor:
            if residual is None or residual(raw):
                found.append(raw)
                if len(found) >= need:
                    break

    # Windows are (lower, upper]: secantus loses documents sitting exactly on an inclusive *lower* bound of a
    # descending index field, while exclusive lower and inclusive upper bounds are exact on both servers.
    upper, upper_op = None, "$lte"
    if after is not None:
        moment, last_id = after
        run({**query, field: moment, "_id": {"$lt": last_id}})  # ties at the position itself
        upper, upper_op = moment, "$lt"
    top = upper or now or datetime.now(UTC)
    width = FIRST_WIDTH
    while len(found) < need:
        lower = (upper or top) - width
        bounds = {}
        if lower > FLOOR:
            bounds["$gt"] = lower
        if upper is not None:
            bounds[upper_op] = upper
        before = len(found)
        run({**query, field: bounds} if bounds else dict(query))
        if "$gt" not in bounds:
            break
        got, missing = len(found) - before, need - len(found)
        # Empty: jump further; otherwise aim at about 1.5x what the observed density says is still missing.
        growth = MAX_GROWTH if got == 0 else min(MAX_GROWTH, max(2.0, 1.5 * missing / got))
        width = width * growth
        upper, upper_op = lower, "$lte"
    return found[:need]


def equals(expected: dict) -> Callable[[dict], bool] | None:
    """A residual predicate: every ``field == value`` of ``expected`` (``None`` when there is nothing to check)."""
    if not expected:
        return None
    items = list(expected.items())
    return lambda raw: all(raw.get(key) == value for key, value in items)
