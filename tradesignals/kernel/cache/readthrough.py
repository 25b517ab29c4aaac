"""Read-through caching with stampede protection: the one way an app serves a cached read.

An app keeps its namespaces and key suffixes in its own ``cache.py`` and calls::

    found = read_through(namespace, suffix, build)   # build() -> the value to cache, or None
    found.value, found.hit

On a hit the stored value comes back without calling ``build``. On a miss one caller (cluster-wide) takes a
short lock and builds; the others poll for its result for at most ``CACHE_STAMPEDE_WAIT_MS`` and only then
build themselves, so an expired hot entry costs one MongoDB read, not one per waiting request. ``build``
returning ``None`` (not found, or not cacheable) is returned as a miss and never stored. The entry lives
under the namespace's current generation, so the app invalidates by bumping the namespace (from a Django-signal
receiver, after the write commits): a reader that fetched old data before the write stores it under a
generation nobody reads any more. With the cache unavailable every call builds.
"""
from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any, NamedTuple

from django.conf import settings

from tradesignals.kernel.cache.backends import entry_key
from tradesignals.kernel.cache.service import CacheService, get_cache


class Cached(NamedTuple):
    """What ``read_through`` found: the value (``None`` when ``build`` had nothing) and whether it came from
    the cache."""

    value: Any | None
    hit: bool


class _Stats:
    """Read-through hit/miss/build counters of this process (for diagnostics and tests)."""

    def __init__(self):
        self._lock = threading.Lock()
        self.hits = self.misses = self.builds = self.waits = 0

    def add(self, **counts):
        with self._lock:
            for name, value in counts.items():
                setattr(self, name, getattr(self, name) + value)


stats = _Stats()


def read_through(namespace: str, suffix: str, build: Callable[[], Any | None], *, ttl: int | None = None) -> Cached:
    """The entry ``suffix`` of ``namespace``'s current generation, built (once, cluster-wide) on a miss and
    stored for ``ttl`` seconds (default ``CACHE_TTL_SECONDS``)."""
    cache = get_cache()
    generation, entry = cache.current(namespace, suffix)  # one round trip: generation and entry
    if generation is None:  # cache unavailable: straight to the database
        stats.add(misses=1, builds=1)
        return Cached(build(), False)
    key = entry_key(namespace, generation, suffix)
    if entry is not None:
        stats.add(hits=1)
        return Cached(entry, True)
    lock_key = f"lock:{key}"
    leader = cache.add(lock_key, 1, ttl=settings.CACHE_STAMPEDE_LOCK_SECONDS)
    if leader is False:
        entry = _wait_for(cache, key)
        if entry is not None:
            stats.add(hits=1, waits=1)
            return Cached(entry, True)
    stats.add(misses=1, builds=1)
    try:
        entry = build()
        if entry is not None:
            cache.set(key, entry, ttl=ttl or settings.CACHE_TTL_SECONDS)
    finally:
        if leader:
            cache.delete(lock_key)
    return Cached(entry, False)


def _wait_for(cache: CacheService, key: str) -> Any | None:
    """Poll for the leader's entry with a growing interval, until ``CACHE_STAMPEDE_WAIT_MS`` have passed."""
    deadline = time.monotonic() + settings.CACHE_STAMPEDE_WAIT_MS / 1000
    interval = 0.005
    while time.monotonic() < deadline and cache.available:
        time.sleep(interval)
        entry = cache.get(key)
        if entry is not None:
            return entry
        interval = min(interval * 1.5, 0.05)
    return None
