"""This app's cache namespaces, read-through with stampede protection, and invalidation.

Entries are the rendered response bytes plus their ETag (and, for a detail, what authorisation needs:
owner, status, owner_active), so a hit — and a 304 — never touches MongoDB. Every key carries its
namespace's generation; invalidation bumps generations after a write commits, so a reader that fetched
old data before the write stores it under a generation nobody reads any more.
"""
from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Callable

from django.conf import settings

from tradesignals.kernel.cache import entry_key, get_cache

ADMIN_ALL = "trade-signals:admin:all"
PUBLIC_APPROVED = "trade-signals:public:approved"


def user_namespace(owner_id: str) -> str:
    return f"trade-signals:user:{owner_id}"


def detail_namespace(signal_id: str) -> str:
    return f"trade-signal:{signal_id}"


def etag_for(body: bytes) -> str:
    return '"' + hashlib.blake2b(body, digest_size=12).hexdigest() + '"'


def query_key(query: dict) -> str:
    canonical = json.dumps(sorted((k, v) for k, v in query.items() if v is not None), default=str)
    return hashlib.blake2b(canonical.encode(), digest_size=16).hexdigest()


class _Stats:
    """Cache hit/miss/build counters of this process (exposed for diagnostics and tests)."""

    def __init__(self):
        self._lock = threading.Lock()
        self.hits = self.misses = self.builds = self.waits = 0

    def add(self, **counts):
        with self._lock:
            for name, value in counts.items():
                setattr(self, name, getattr(self, name) + value)


stats = _Stats()


def read_through(namespace: str, query: dict, build: Callable[[], dict | None]) -> dict | None:
    """Return the cached entry for ``query`` in ``namespace``, building it (once, cluster-wide) on a miss.

    On a miss one caller takes a short lock and rebuilds; the others poll for its result for at most
    ``CACHE_STAMPEDE_WAIT_MS`` and only then build themselves. ``build`` returning ``None`` (not found)
    is not cached. The returned dict has ``hit`` set.
    """
    cache = get_cache()
    suffix = query_key(query)
    generation, entry = cache.current(namespace, suffix)  # one round trip: generation and entry
    if generation is None:  # cache unavailable: straight to MongoDB
        stats.add(misses=1, builds=1)
        return _with_hit(build(), False)
    key = entry_key(namespace, generation, suffix)
    if entry is not None:
        stats.add(hits=1)
        return _with_hit(entry, True)
    lock_key = f"lock:{key}"
    leader = cache.add(lock_key, 1, ttl=settings.CACHE_STAMPEDE_LOCK_SECONDS)
    if leader is False:
        entry = _wait_for(cache, key)
        if entry is not None:
            stats.add(hits=1, waits=1)
            return _with_hit(entry, True)
    stats.add(misses=1, builds=1)
    try:
        entry = build()
        if entry is not None:
            cache.set(key, entry, ttl=settings.CACHE_TTL_SECONDS)
    finally:
        if leader:
            cache.delete(lock_key)
    return _with_hit(entry, False)


def _wait_for(cache, key: str):
    deadline = time.monotonic() + settings.CACHE_STAMPEDE_WAIT_MS / 1000
    interval = 0.005
    while time.monotonic() < deadline and cache.available:
        time.sleep(interval)
        entry = cache.get(key)
        if entry is not None:
            return entry
        interval = min(interval * 1.5, 0.05)
    return None


def _with_hit(entry: dict | None, hit: bool) -> dict | None:
    if entry is None:
        return None
    return {**entry, "hit": hit}


def invalidate(*, owner_id: str, signal_id: str | None, public: bool) -> None:
    """Orphan every cached read a change to one of ``owner_id``'s signals can affect."""
    namespaces = [user_namespace(owner_id), ADMIN_ALL]
    if signal_id:
        namespaces.append(detail_namespace(signal_id))
    if public:
        namespaces.append(PUBLIC_APPROVED)
    get_cache().bump_many(namespaces)


def invalidate_owner(*, owner_id: str, signal_ids: list[str]) -> None:
    """A change to all of one owner's signals (name, activation) touches every read of them."""
    cache = get_cache()
    cache.bump_many([user_namespace(owner_id), ADMIN_ALL, PUBLIC_APPROVED])
    cache.bump_many(detail_namespace(signal_id) for signal_id in signal_ids)
