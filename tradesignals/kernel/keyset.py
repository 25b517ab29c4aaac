"""Keyset reads: the next ``need`` documents of an index range after a position — the one way every list reads.

``newest_first`` walks ``(field desc, _id desc)``, ``oldest_first`` ``(field asc, _id asc)``, each strictly after
the position ``after`` = ``(field value, _id)``: first the ties at the position, then one range beyond it (two
index-range queries, never a ``$or``). ``query`` holds the equality fields of an index ``(…, field, _id)``;
``residual`` is a predicate applied here for filters outside the index prefix (with one, no server ``limit``:
the cursor is read until enough documents matched).

On a real MongoDB that is the whole story: each query is an index range scan that stops after its limit. The
embedded server (secantus) decodes the whole equality prefix for such a query, so there newest-first reads go
through the bounded time windows of ``kernel.keyset_windowed`` instead. Which reader serves is decided once
per client from ``buildInfo`` (the embedded server answers ``secantusVersion``), or forced with
``MONGODB_KEYSET_READER`` (``plain`` / ``windowed``). Both return exactly the same pages (one shared test suite).
"""
from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from datetime import datetime
from typing import Any

from django.conf import settings

from tradesignals.kernel import keyset_windowed
from tradesignals.kernel.keyset_windowed import forget_hints, value_at

__all__ = ["PLAIN", "WINDOWED", "equals", "forget_hints", "newest_first", "oldest_first", "reader_for",
           "value_at"]

PLAIN, WINDOWED = "plain", "windowed"
_readers: dict[int, str] = {}
_lock = threading.Lock()


def reader_for(collection) -> str:
    """``PLAIN`` or ``WINDOWED`` for the server behind ``collection`` (asked once per client)."""
    forced = getattr(settings, "MONGODB_KEYSET_READER", "auto")
    if forced != "auto":
        return forced
    client = collection.database.client
    found = _readers.get(id(client))
    if found is None:
        info = client.admin.command("buildInfo")
        found = WINDOWED if "secantusVersion" in info else PLAIN
        with _lock:
            _readers[id(client)] = found
    return found


def _read(collection, server_query: dict, sort, need: int, found: list, residual, observe) -> None:
    if observe is not None:
        observe(server_query)
    cursor = collection.find(server_query).sort(sort)
    if residual is None:
        cursor = cursor.limit(need - len(found))
    for raw in cursor:
        if residual is None or residual(raw):
            found.append(raw)
            if len(found) >= need:
                break


def _walk(collection, *, query: dict, field: str, need: int, after, residual, observe, descending: bool) -> list:
    direction = -1 if descending else 1
    beyond = "$lt" if descending else "$gt"
    sort = [(field, direction), ("_id", direction)]
    found: list[dict] = []
    if after is None:
        _read(collection, dict(query), sort, need, found, residual, observe)
    else:
        moment, last_id = after
        _read(collection, {**query, field: moment, "_id": {beyond: last_id}}, sort, need, found, residual, observe)
        if len(found) < need:
            _read(collection, {**query, field: {beyond: moment}}, sort, need, found, residual, observe)
    return found[:need]


def newest_first(collection, *, query: dict, field: str, need: int, after: tuple[datetime, Any] | None = None,
                 residual: Callable[[dict], bool] | None = None, residual_key: Hashable = None,
                 now: datetime | None = None, observe: Callable[[dict], None] | None = None) -> list[dict]:
    """Up to ``need`` raw documents matching ``query`` (and ``residual``) in ``(field desc, _id desc)`` order,
    strictly after ``after``. ``residual_key`` and ``now`` only matter to the windowed reader (its placement
    hints and its first window); ``observe`` is called with each server query (diagnostics and tests)."""
    if reader_for(collection) == WINDOWED:
        return keyset_windowed.newest_first(collection, query=query, field=field, need=need, after=after,
                                            residual=residual, residual_key=residual_key, now=now, observe=observe)
    return _walk(collection, query=query, field=field, need=need, after=after, residual=residual, observe=observe,
                 descending=True)


def oldest_first(collection, *, query: dict, field: str, need: int, after: tuple[datetime, Any] | None = None,
                 residual: Callable[[dict], bool] | None = None,
                 observe: Callable[[dict], None] | None = None) -> list[dict]:
    """Up to ``need`` raw documents in ``(field asc, _id asc)`` order, strictly after ``after`` (the plain reader
    on every server: the lists read this way — one thread's comments, the open reports — have small prefixes)."""
    return _walk(collection, query=query, field=field, need=need, after=after, residual=residual, observe=observe,
                 descending=False)


def equals(expected: dict) -> Callable[[dict], bool] | None:
    """A residual predicate: every ``field == value`` of ``expected`` (``None`` when there is nothing to check)."""
    if not expected:
        return None
    items = list(expected.items())
    return lambda raw: all(raw.get(key) == value for key, value in items)
