"""CacheService: the one cache API every app uses, over a Redis, local-memory or null backend.

Keys are prefixed and versioned (``ts:v1:``) so a deploy can change value formats by bumping the version.
The cache is an optimisation, never a dependency: every backend error becomes a miss (or a no-op write),
a warning is logged at most once per ``CACHE_WARN_INTERVAL_SECONDS``, and after a failure the Redis
backend stops trying for ``CACHE_RETRY_SECONDS`` (a small circuit breaker) so a dead or slow Redis costs
one socket timeout per interval, not one per call. Generation bumps that could not reach Redis are kept
and replayed when it answers again, so an outage never leaves a stale generation behind.

List caches use *generations*: ``generation(ns)`` is part of every key of the namespace and ``bump(ns)``
moves it on, which orphans every older entry at once (no ``KEYS``/``SCAN``). A missing generation starts
at the current time in microseconds, so a generation that expired can never come back to an old value.
"""
from __future__ import annotations

import logging
import threading
import time
from typing import Any

from django.conf import settings

from tradesignals.kernel.cache.backends import (
    LocalMemoryBackend,
    NullBackend,
    RedisBackend,
    _Backend,
    _entry_head,
    _full,
    _gen_key,
)

# The package's name, as before the split: operators' logging configuration refers to it.
logger = logging.getLogger("tradesignals.kernel.cache")


class CacheService:
    """Prefixed, versioned, failure-tolerant cache operations over one backend."""

    def __init__(self, backend: _Backend, *, default_ttl: int, retry_seconds: float, warn_interval: float):
        self.backend = backend
        self.default_ttl = default_ttl
        self.retry_seconds = retry_seconds
        self.warn_interval = warn_interval
        self._down_until = 0.0
        self._last_warning = 0.0
        self._pending_bumps: set[str] = set()
        self._lock = threading.Lock()

    # -- failure handling ----------------------------------------------------------------------
    @property
    def available(self) -> bool:
        return time.monotonic() >= self._down_until

    def _failed(self, exc: BaseException) -> None:
        now = time.monotonic()
        with self._lock:
            self._down_until = now + self.retry_seconds
            warn = now - self._last_warning >= self.warn_interval
            if warn:
                self._last_warning = now
        if warn:
            logger.warning("cache backend %s unavailable (%s); serving without cache", self.backend.name,
                           exc.__class__.__name__)

    def _run(self, operation, default):
        if not self.available:
            return default
        try:
            result = operation()
        except Exception as exc:  # redis errors, timeouts, unpicklable data: the cache is never an error
            self._failed(exc)
            return default
        if self._pending_bumps:
            self._replay_bumps()
        return result

    def _replay_bumps(self) -> None:
        with self._lock:
            pending, self._pending_bumps = self._pending_bumps, set()
        if pending:
            self.bump_many(pending)

    # -- the API -----------------------------------------------------------------------------------
    def get(self, key: str) -> Any | None:
        return self.get_many([key]).get(key)

    def get_many(self, keys: list[str]) -> dict[str, Any]:
        full = {_full(key): key for key in keys}
        found = self._run(lambda: self.backend.get_many(list(full)), {})
        return {full[key]: value for key, value in found.items()}

    def set(self, key: str, value: Any, ttl: int | None = None) -> None:
        self._run(lambda: self.backend.set(_full(key), value, int(ttl or self.default_ttl)), None)

    def add(self, key: str, value: Any, ttl: int) -> bool | None:
        """Set only if absent (a lock). ``None`` means the cache is unavailable."""
        return self._run(lambda: self.backend.add(_full(key), value, int(ttl)), None)

    def delete(self, key: str) -> None:
        self._run(lambda: self.backend.delete(_full(key)), None)

    def incr(self, key: str, delta: int = 1, ttl: int | None = None) -> int | None:
        return self._run(lambda: self.backend.incr(_full(key), delta, int(ttl or self.default_ttl)), None)

    def _generation_ttl(self) -> int:
        # A generation must outlive every entry written under it.
        return max(86_400, 2 * self.default_ttl)

    def generations(self, namespaces: list[str]) -> dict[str, int] | None:
        """Current generation of each namespace (one round trip when all exist); ``None`` if unavailable."""
        keys = [_gen_key(ns) for ns in namespaces]
        values = self._run(lambda: self.backend.generations(keys, self._generation_ttl()), None)
        if values is None:
            return None
        return dict(zip(namespaces, values, strict=True))

    def current(self, namespace: str, suffix: str) -> tuple[int | None, Any | None]:
        """The namespace's generation and the entry at ``entry_key(namespace, generation, suffix)`` — one round
        trip on Redis (the hot path of every cached read). ``(None, None)`` when the cache is unavailable."""
        head, tail = _full(_entry_head(namespace)), f":{suffix}"
        gen_key = _gen_key(namespace)
        found = self._run(lambda: self.backend.current(gen_key, head, tail, self._generation_ttl()), None)
        return (None, None) if found is None else found

    def generation(self, namespace: str) -> int | None:
        found = self.generations([namespace])
        return None if found is None else found[namespace]

    def bump(self, namespace: str) -> None:
        """Move the namespace to a new generation: every entry written under an older one is orphaned."""
        key = _gen_key(namespace)  # a malformed namespace is the caller's error, not a cache outage
        result = self._run(lambda: self.backend.incr(key, 1, self._generation_ttl()), None)
        if result is None:
            with self._lock:
                self._pending_bumps.add(namespace)

    def bump_many(self, namespaces) -> None:
        """Bump several namespaces in one pipeline (on a Redis Cluster: one batch per master, in parallel)."""
        unique = list(dict.fromkeys(namespaces))
        if not unique:
            return
        keys = [_gen_key(ns) for ns in unique]
        result = self._run(lambda: self.backend.incr_many(keys, 1, self._generation_ttl()), None)
        if result is None:
            with self._lock:
                self._pending_bumps.update(unique)

    def reset_state(self) -> None:
        """Forget breaker state and pending bumps (tests, and after a deliberate reconfiguration)."""
        with self._lock:
            self._down_until = 0.0
            self._last_warning = 0.0
            self._pending_bumps.clear()


_service: CacheService | None = None
_service_lock = threading.Lock()


def _build() -> CacheService:
    kind = getattr(settings, "CACHE_BACKEND", None) or ("redis" if settings.REDIS_ENABLED else "locmem")
    backends = {"redis": RedisBackend, "locmem": LocalMemoryBackend, "null": NullBackend}
    if kind not in backends:
        from django.core.exceptions import ImproperlyConfigured

        raise ImproperlyConfigured(f"CACHE_BACKEND must be redis, locmem or null; got {kind!r}")
    return CacheService(
        backends[kind](),
        default_ttl=settings.CACHE_TTL_SECONDS,
        retry_seconds=float(getattr(settings, "CACHE_RETRY_SECONDS", 2.0)),
        warn_interval=float(getattr(settings, "CACHE_WARN_INTERVAL_SECONDS", 60.0)),
    )


def get_cache() -> CacheService:
    """The process-wide CacheService for the configured backend."""
    global _service
    if _service is None:
        with _service_lock:
            if _service is None:
                _service = _build()
    return _service


def reset_cache() -> None:
    """Drop the process-wide service so the next ``get_cache()`` follows the current settings."""
    global _service
    with _service_lock:
        _service = None
