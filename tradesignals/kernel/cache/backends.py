"""Cache backends behind CacheService: Redis (the ``default`` django-redis alias), one process's memory, nothing.

A backend only speaks to its store; failure handling, key prefixes on the API side and generations' lifetimes
are CacheService's (tradesignals/kernel/cache/service.py). Keys here are already full (``ts:v1:`` prefixed).

Key layout: a namespace's generation (``ts:v1:gen:{ns}``) and its entries (``ts:v1:{ns}:g<generation>:<suffix>``,
stampede locks ``ts:v1:lock:{ns}:…``) share the hash tag ``{ns}``: on a Redis Cluster they live on one slot,
which is what lets ``current`` read the generation and the entry under it in one script. Operations over several
namespaces (``get_many``, ``generations``, ``incr_many``) are split per slot there and pipelined to the masters.
"""
from __future__ import annotations

import hashlib
import pickle
import threading
import time
from typing import Any

from redis.exceptions import NoScriptError

from tradesignals.kernel.redis_cluster import hash_tag, is_cluster

PREFIX = "ts:v1:"
_GEN = "gen:"


def _full(key: str) -> str:
    return f"{PREFIX}{key}"


def _gen_key(namespace: str) -> str:
    return f"{PREFIX}{_GEN}{hash_tag(namespace)}"


def _entry_head(namespace: str) -> str:
    """What every entry key of ``namespace`` starts with, before its generation (API side, unprefixed)."""
    return f"{hash_tag(namespace)}:g"


def entry_key(namespace: str, generation: int, suffix: str) -> str:
    """The key of an entry of ``namespace`` written under ``generation`` (what ``CacheService.current`` reads)."""
    return f"{_entry_head(namespace)}{generation}:{suffix}"


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

    def incr_many(self, keys: list[str], delta: int, ttl: int) -> list[int]:
        return [self.incr(key, delta, ttl) for key in keys]

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

    @staticmethod
    def _mget(client, keys):
        # One MGET on one Redis; on a cluster, one MGET per slot, pipelined to the masters in parallel.
        return client.mget_nonatomic(keys) if is_cluster(client) else client.mget(keys)

    def get_many(self, keys):
        if not keys:
            return {}
        raw = self._mget(self._client(), keys)
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
        pipe = self._client().pipeline(transaction=True)  # one key: one slot, a MULTI on a cluster too
        pipe.incrby(key, delta)
        pipe.expire(key, ttl)
        return int(pipe.execute()[0])

    def incr_many(self, keys, delta, ttl):
        """Every key moved on in one pipeline (on a cluster: one batch per master, sent in parallel)."""
        if not keys:
            return []
        pipe = self._client().pipeline(transaction=False)
        for key in keys:
            pipe.incrby(key, delta)
            pipe.expire(key, ttl)
        return [int(value) for value in pipe.execute()[::2]]

    # One round trip for a cached read: the namespace's generation (created when missing, as ``generations``
    # does) and the entry under it. The entry key is built inside the script from the generation; on a Redis
    # Cluster that is allowed because it carries the generation key's hash tag ``{namespace}`` (same slot).
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
        try:  # EVALSHA straight away (redis-py's Script wrapper adds work to every call on the hottest path)
            generation, raw = client.evalsha(self._current_sha, 1, *args)
        except NoScriptError:  # a restarted or flushed Redis: load it once, then as before
            client.script_load(self._CURRENT_LUA)
            generation, raw = client.evalsha(self._current_sha, 1, *args)
        # Only this service writes these keys (as django-redis itself does, values are pickles).
        return int(generation), (None if raw is None else pickle.loads(raw))  # noqa: S301

    def generations(self, keys, ttl):
        client = self._client()
        raw = self._mget(client, keys)
        missing = [key for key, value in zip(keys, raw, strict=True) if value is None]
        if missing:
            pipe = client.pipeline(transaction=False)  # SET NX per key: each is atomic on its own
            for key in missing:
                pipe.set(key, _fresh_generation(), ex=ttl, nx=True)
            pipe.execute()
            raw = self._mget(client, keys)
        return [int(value or 0) for value in raw]


