"""CacheService: the one cache API every app uses, with Redis, local-memory and null backends.

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

import hashlib
import logging
import pickle
import threading
import time
from typing import Any

from django.conf import settings
from redis.exceptions import NoScriptError

logger = logging.getLogger(__name__)

PREFIX = "ts:v1:"
_GEN = "gen:"


def _full(key: str) -> str:
    return f"{PREFIX}{key}"


def _gen_key(namespace: str) -> str:
    return f"{PREFIX}{_GEN}{namespace}"


def entry_key(namespace: str, generation: int, suffix: str) -> str:
    """The key of an entry of ``namespace`` written under ``generation`` (what ``CacheService.current`` reads)."""
    return f"{namespace}:g{generation}:{suffix}"


def _fresh_generation() -> int:
    return time.time_ns() // 1000


class _Backend:
    name = "base"

    def get_many(self, keys: list[str]) -> dict[str, Any]:
        raise NotImplementedError

    def set(self, key: str, value: Any, ttl: int) -> None:
        raise NotImplementedError

    def add(self, key: str, value: Any, ttl: int) -> bool:
        raise NotImplementedError

    def delete(self, key: str) -> None:
        raise NotImplementedError

    def incr(self, key: str, delta: int, ttl: int) -> int:
        raise NotImplementedError

    def generations(self, keys: list[str], ttl: int) -> list[int]:
        raise NotImplementedError

    def current(self, gen_key: str, head: str, tail: str, ttl: int) -> tuple[int, Any | None]:
        """The generation stored at ``gen_key`` (created when missing) and the value at ``head + gen + tail``."""
        generation = self.generations([gen_key], ttl)[0]
        key = f"{head}{generation}{tail}"
        return generation, self.get_many([key]).get(key)


class NullBackend(_Backend):
    """Caches nothing: every read is a miss, every lock is granted."""

    name = "null"

    def get_many(self, keys):
        return {}

    def set(self, key, value, ttl):
        return None

    def add(self, key, value, ttl):
        return True

    def delete(self, key):
        return None

    def incr(self, key, delta, ttl):
        return delta

    def generations(self, keys, ttl):
        return [0 for _ in keys]


class LocalMemoryBackend(_Backend):
    """One process's memory (Django's locmem cache): the embedded default without Redis."""

    name = "locmem"

    def __init__(self, location: str = "ts-cache"):
        from django.core.cache.backends.locmem import LocMemCache

        self._cache = LocMemCache(location, {"OPTIONS": {"MAX_ENTRIES": 10_000}})
        self._lock = threading.Lock()

    def get_many(self, keys):
        return self._cache.get_many(keys)

    def set(self, key, value, ttl):
        self._cache.set(key, value, timeout=ttl)

    def add(self, key, value, ttl):
        return self._cache.add(key, value, timeout=ttl)

    def delete(self, key):
        self._cache.delete(key)

    def incr(self, key, delta, ttl):
        with self._lock:
            value = int(self._cache.get(key) or 0) + delta
            self._cache.set(key, value, timeout=ttl)
            return value

    def generations(self, keys, ttl):
        with self._lock:
            found = self._cache.get_many(keys)
            result = []
            for key in keys:
                if key not in found:
                    found[key] = _fresh_generation()
                    self._cache.set(key, found[key], timeout=ttl)
                result.append(int(found[key]))
            return result

    def clear(self):
        self._cache.clear()


class RedisBackend(_Backend):
    """The ``default`` django-redis alias's connection pool (its short socket timeouts), raw commands.

    Values are pickled (they are rendered response bytes plus a little metadata, written only by us);
    integers (generations, counters) are stored as plain numbers so ``INCR`` works on them.
    """

    name = "redis"

    def __init__(self, alias: str = "default"):
        self.alias = alias

    def _client(self):
        from django_redis import get_redis_connection

        return get_redis_connection(self.alias)

    def get_many(self, keys):
        raw = self._client().mget(keys)
        # Only this service writes these keys (as django-redis itself does, values are pickles).
        return {key: pickle.loads(value)  # noqa: S301
                for key, value in zip(keys, raw, strict=True) if value is not None}

    def set(self, key, value, ttl):
        self._client().set(key, pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL), ex=ttl)

    def add(self, key, value, ttl):
        return bool(self._client().set(key, pickle.dumps(value), ex=ttl, nx=True))

    def delete(self, key):
        self._client().delete(key)

    def incr(self, key, delta, ttl):
        pipe = self._client().pipeline()
        pipe.incrby(key, delta)
        pipe.expire(key, ttl)
        return int(pipe.execute()[0])

    # One round trip for a cached read: the namespace's generation (created when missing, as ``generations``
    # does) and the entry under it. The entry key is built inside the script from the generation, so this
    # needs one Redis (not Redis Cluster, where undeclared keys may live on another shard).
    _CURRENT_LUA = """
local generation = redis.call('GET', KEYS[1])
if not generation then
  generation = ARGV[3]
  redis.call('SET', KEYS[1], generation, 'EX', ARGV[4])
  return {generation, false}
end
return {generation, redis.call('GET', ARGV[1] .. generation .. ARGV[2])}
"""
    _current_sha = hashlib.sha1(_CURRENT_LUA.encode()).hexdigest()  # noqa: S324 (Redis names scripts by SHA-1)

    def current(self, gen_key, head, tail, ttl):
        client = self._client()
        args = (gen_key, head, tail, _fresh_generation(), ttl)
        try:  # EVALSHA straight away (redis-py's Script wrapper costs a few µs per call on the hottest path)
            generation, raw = client.evalsha(self._current_sha, 1, *args)
        except NoScriptError:  # a restarted or flushed Redis: load it once, then as before
            client.script_load(self._CURRENT_LUA)
            generation, raw = client.evalsha(self._current_sha, 1, *args)
        # Only this service writes these keys (as django-redis itself does, values are pickles).
        return int(generation), (None if raw is None else pickle.loads(raw))  # noqa: S301

    def generations(self, keys, ttl):
        client = self._client()
        raw = client.mget(keys)
        missing = [key for key, value in zip(keys, raw, strict=True) if value is None]
        if missing:
            pipe = client.pipeline()
            for key in missing:
                pipe.set(key, _fresh_generation(), ex=ttl, nx=True)
            pipe.execute()
            raw = client.mget(keys)
        return [int(value or 0) for value in raw]


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
        for namespace in pending:
            self.bump(namespace)

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
        head, tail = _full(f"{namespace}:g"), f":{suffix}"
        found = self._run(lambda: self.backend.current(_gen_key(namespace), head, tail, self._generation_ttl()),
                          None)
        return (None, None) if found is None else found

    def generation(self, namespace: str) -> int | None:
        found = self.generations([namespace])
        return None if found is None else found[namespace]

    def bump(self, namespace: str) -> None:
        """Move the namespace to a new generation: every entry written under an older one is orphaned."""
        result = self._run(lambda: self.backend.incr(_gen_key(namespace), 1, self._generation_ttl()), None)
        if result is None:
            with self._lock:
                self._pending_bumps.add(namespace)

    def bump_many(self, namespaces) -> None:
        for namespace in dict.fromkeys(namespaces):
            self.bump(namespace)

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
