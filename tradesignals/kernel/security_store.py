"""Where security state lives, and the guarantees it needs: a revoked token id or a rate-limit counter is never
dropped while it is live, only when it expires.

Two halves:

* ``SecurityStore``: the ``security`` cache alias of the embedded run (``REDIS_ENABLED=false``). Django's
  ``LocMemCache`` would do the wrong thing there: it holds ``MAX_ENTRIES`` (300) and silently culls the
  least-recently-used third when full, so a busy server forgets the oldest logouts (the revoked token works
  again) and resets rate-limit counters early. This backend has no count limit and evicts nothing.
* ``check_redis_eviction_policy``: with Redis, the same guarantee depends on the server. A security Redis
  whose ``maxmemory-policy`` evicts (``allkeys-*``, and ``volatile-*`` too, because every security key has a
  TTL) forgets revocations under memory pressure, so production refuses to start on one (settings.prod turns
  the check on; ``SECURITY_REDIS_ALLOW_EVICTION=true`` opts out).

Why memory stays bounded without a count limit. Every entry must expire (an entry without a timeout is
refused), and expired entries are purged as time passes, so the store holds at most what was written within
the longest lifetime of each kind of key:

* gateway budgets, one per client per window: ``RATE_LIMIT_WINDOW_MS`` (+5 s);
* login / register / refresh / password counters: their windows (``AUTH``/``LOGIN_*``/``REGISTER_*``/
  ``REFRESH_*``, at most an hour by default);
* revoked access tokens: the rest of the token's lifetime (``JWT_ACCESS_EXPIRY``, 15 min);
  revoked refresh families and user epochs: ``JWT_REFRESH_EXPIRY`` (7 days).

A hostile client can only add entries at the rate the server answers it: one gateway key per new client
address (IPv6 counted by prefix) per window, one counter per login attempt that the per-IP limit and the
Argon2 cost of every attempt already throttle, and one revocation per logout of a session it first had to log
in for. So memory is (write rate) × (lifetime), about 300 bytes an entry (100 000 live entries ≈ 30 MB), the
same bound a ``noeviction`` Redis lives with. Letting the attacker instead push the *oldest* entries out (what
a count limit does) would be the attack: flood with cheap keys, and a stolen-then-revoked token works again.

Expiry uses ``time.monotonic()``: a wall-clock step forward (NTP, a VM resume) cannot expire a revocation
early. Entries live in one store per ``LOCATION`` shared by every thread of the process (Django builds one
backend instance per thread). Expired entries are invisible at once and purged in expiry order on the next
operation (one-second buckets, so a purge costs only what has expired, never a scan of the whole store).
The state is process memory: a worker restart forgets it, which is why the embedded run serves from one
process and deploy/gunicorn.conf.py does not recycle that worker.
"""
from __future__ import annotations

import heapq
import logging
import pickle
import threading
import time
from contextlib import contextmanager
from urllib.parse import urlsplit

from django.core.cache.backends.base import DEFAULT_TIMEOUT, BaseCache

logger = logging.getLogger(__name__)


class _Shelf:
    """The entries of one ``LOCATION``: values, deadlines and expiry buckets, guarded by one lock."""

    def __init__(self):
        self.lock = threading.Lock()
        self.values: dict[str, bytes] = {}
        self.deadlines: dict[str, float] = {}
        # second → keys whose deadline falls in it; a heap of those seconds, each pushed once while its
        # bucket exists (a bucket is created only for a future second, and popped only once that second is past).
        self.buckets: dict[int, set[str]] = {}
        self.due: list[int] = []

    def live(self, key: str, now: float) -> bool:
        deadline = self.deadlines.get(key)
        if deadline is None:
            return False
        if deadline <= now:
            self.drop(key)
            return False
        return True

    def put(self, key: str, value: bytes, deadline: float) -> None:
        self.values[key] = value
        self.schedule(key, deadline)

    def schedule(self, key: str, deadline: float) -> None:
        old = self.deadlines.get(key)
        if old is not None:
            self.buckets.get(int(old), set()).discard(key)
        self.deadlines[key] = deadline
        second = int(deadline)
        bucket = self.buckets.get(second)
        if bucket is None:
            bucket = self.buckets[second] = set()
            heapq.heappush(self.due, second)
        bucket.add(key)

    def drop(self, key: str) -> bool:
        deadline = self.deadlines.pop(key, None)
        if deadline is None:
            return False
        del self.values[key]
        self.buckets.get(int(deadline), set()).discard(key)
        return True

    def purge(self, now: float) -> None:
        """Remove every entry of the seconds that are wholly past."""
        while self.due and self.due[0] < int(now):
            for key in self.buckets.pop(heapq.heappop(self.due), ()):
                self.values.pop(key, None)
                self.deadlines.pop(key, None)

    def clear(self) -> None:
        self.values.clear()
        self.deadlines.clear()
        self.buckets.clear()
        self.due.clear()


_shelves: dict[str, _Shelf] = {}
_shelves_lock = threading.Lock()


class SecurityStore(BaseCache):
    """Process-local, thread-safe cache backend that expires entries and never evicts a live one.

    ``CACHES = {"security": {"BACKEND": "tradesignals.kernel.security_store.SecurityStore", "LOCATION": ...}}``.
    ``MAX_ENTRIES``/``CULL_FREQUENCY`` are ignored on purpose (see the module docstring). Values are pickled,
    as in Django's other backends, so a caller never shares a mutable object with the store.
    """

    pickle_protocol = pickle.HIGHEST_PROTOCOL

    def __init__(self, name, params):
        super().__init__(params)
        with _shelves_lock:
            self._shelf = _shelves.setdefault(name, _Shelf())

    # -- helpers -------------------------------------------------------------------------------------------
    def _deadline(self, timeout, now: float) -> float:
        if timeout is DEFAULT_TIMEOUT:
            timeout = self.default_timeout
        if timeout is None:
            raise ValueError("the security store keeps only entries that expire: give every entry a timeout")
        return now + float(timeout)

    @contextmanager
    def _open(self):
        """Hold the shelf's lock, with what has expired by now purged first; yields now."""
        with self._shelf.lock:
            now = time.monotonic()  # read under the lock: every holder sees time move forward
            self._shelf.purge(now)
            yield now

    # -- the cache API -------------------------------------------------------------------------------------
    def add(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        key = self.make_and_validate_key(key, version=version)
        pickled = pickle.dumps(value, self.pickle_protocol)
        with self._open() as now:
            deadline = self._deadline(timeout, now)
            if self._shelf.live(key, now):
                return False
            if deadline > now:
                self._shelf.put(key, pickled, deadline)
            return True

    def get(self, key, default=None, version=None):
        key = self.make_and_validate_key(key, version=version)
        with self._open() as now:
            if not self._shelf.live(key, now):
                return default
            pickled = self._shelf.values[key]
        return pickle.loads(pickled)  # noqa: S301 - only this process wrote it

    def set(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        key = self.make_and_validate_key(key, version=version)
        pickled = pickle.dumps(value, self.pickle_protocol)
        with self._open() as now:
            self._set(key, pickled, self._deadline(timeout, now), now)

    def _set(self, key: str, pickled: bytes, deadline: float, now: float) -> None:
        if deadline > now:
            self._shelf.put(key, pickled, deadline)
        else:  # a timeout of zero or less: the entry is gone at once
            self._shelf.drop(key)

    def touch(self, key, timeout=DEFAULT_TIMEOUT, version=None):
        key = self.make_and_validate_key(key, version=version)
        with self._open() as now:
            deadline = self._deadline(timeout, now)
            if not self._shelf.live(key, now):
                return False
            if deadline > now:
                self._shelf.schedule(key, deadline)
            else:
                self._shelf.drop(key)
            return True

    def incr(self, key, delta=1, version=None):
        """Atomic within the process; keeps the entry's expiry. A missing key is ``ValueError`` (Django's rule)."""
        key = self.make_and_validate_key(key, version=version)
        with self._open() as now:
            if not self._shelf.live(key, now):
                raise ValueError(f"Key '{key}' not found")
            value = pickle.loads(self._shelf.values[key]) + delta  # noqa: S301 - only this process wrote it
            self._shelf.values[key] = pickle.dumps(value, self.pickle_protocol)
        return value

    def delete(self, key, version=None):
        key = self.make_and_validate_key(key, version=version)
        with self._open():
            return self._shelf.drop(key)

    def has_key(self, key, version=None):
        key = self.make_and_validate_key(key, version=version)
        with self._open() as now:
            return self._shelf.live(key, now)

    def get_many(self, keys, version=None):
        """One lock for all keys: the per-request revocation check reads its keys as of one instant."""
        made = {self.make_and_validate_key(key, version=version): key for key in keys}
        with self._open() as now:
            found = {made[key]: self._shelf.values[key] for key in made if self._shelf.live(key, now)}
        return {key: pickle.loads(pickled) for key, pickled in found.items()}  # noqa: S301

    def set_many(self, data, timeout=DEFAULT_TIMEOUT, version=None):
        pickled = {self.make_and_validate_key(key, version=version): pickle.dumps(value, self.pickle_protocol)
                   for key, value in data.items()}
        with self._open() as now:
            deadline = self._deadline(timeout, now)
            for key, value in pickled.items():
                self._set(key, value, deadline, now)
        return []

    def delete_many(self, keys, version=None):
        made = [self.make_and_validate_key(key, version=version) for key in keys]
        with self._open():
            for key in made:
                self._shelf.drop(key)

    def clear(self):
        with self._shelf.lock:
            self._shelf.clear()

    def entry_count(self) -> int:
        """Entries held right now (after purging the expired ones): what the store costs in memory."""
        with self._open() as now:
            return sum(1 for key in list(self._shelf.deadlines) if self._shelf.live(key, now))


# --- the security Redis -------------------------------------------------------------------------------------
SAFE_POLICY = "noeviction"
CHECK_TIMEOUT_SECONDS = 1.0  # connect and read: a Redis that is down delays a worker's start by ~1 s, no more


def _where(url: str) -> str:
    """host:port/db of a Redis URL, never its credentials."""
    parts = urlsplit(url)
    if parts.scheme == "unix":
        return parts.path
    return f"{parts.hostname or 'localhost'}:{parts.port or 6379}{parts.path or '/0'}"


def _policy(client) -> tuple[str | None, str]:
    """One Redis's ``maxmemory-policy`` (``None`` with the reason when it cannot be read)."""
    import redis

    try:
        try:
            policy = (client.config_get("maxmemory-policy") or {}).get("maxmemory-policy")
        except redis.ResponseError:
            # Managed services (ElastiCache, ACLs) refuse CONFIG but answer INFO, which reports the policy too.
            policy = (client.info("memory") or {}).get("maxmemory_policy")
    except redis.ResponseError as exc:
        return None, f"neither CONFIG GET nor INFO is permitted ({str(exc)[:80]})"
    except redis.RedisError as exc:
        return None, f"Redis is unreachable ({exc.__class__.__name__})"
    if isinstance(policy, bytes):
        policy = policy.decode()
    return policy, "the server did not report maxmemory-policy"


def _cluster_policies(url: str, timeout: float) -> dict[str, tuple[str | None, str]]:
    """``maxmemory-policy`` of every master of the cluster a seed URL names (``{where: (policy, reason)}``)."""
    import redis
    from redis.backoff import NoBackoff
    from redis.cluster import RedisCluster
    from redis.retry import Retry

    try:
        client = RedisCluster.from_url(url, socket_connect_timeout=timeout, socket_timeout=timeout,
                                       retry=Retry(NoBackoff(), 0))
    except (redis.RedisError, redis.exceptions.RedisClusterException) as exc:
        return {_where(url): (None, f"Redis is unreachable ({exc.__class__.__name__})")}
    try:
        return {node.name: _policy(client.get_redis_connection(node)) for node in client.get_primaries()}
    finally:
        client.close()


def check_redis_eviction_policy(url: str, *, allow_eviction: bool = False,
                                timeout: float = CHECK_TIMEOUT_SECONDS, cluster: bool | None = None) -> str | None:
    """Refuse (``ImproperlyConfigured``) a security Redis that may evict keys; return its policy.

    Runs at start-up (tradesignals/kernel/apps.py, when ``SECURITY_REDIS_CHECK_AT_START``). The policy comes from
    ``CONFIG GET``, or ``INFO memory`` where ``CONFIG`` is not permitted. When neither answers (both renamed or
    refused by ACLs), or Redis is unreachable right now —
    start-up goes on with one WARNING naming the fix: the operator must then make sure of it themselves.
    On a Redis Cluster (``cluster``; by default a ``+cluster`` URL or ``REDIS_CLUSTER``) every master is asked:
    any one that evicts is refused, as any one holds a share of the revocations.
    """
    if allow_eviction:
        return None
    import redis
    from django.core.exceptions import ImproperlyConfigured

    from tradesignals.kernel.redis_cluster import parse_url

    if cluster is None:
        from django.conf import settings

        url, cluster = parse_url(url, forced=getattr(settings, "REDIS_CLUSTER", False), setting="SECURITY_REDIS_URL")
    elif cluster:
        url, _ = parse_url(url, forced=True, setting="SECURITY_REDIS_URL")
    where = _where(url)
    if cluster:
        found = _cluster_policies(url, timeout)
    else:
        client = redis.Redis.from_url(url, socket_connect_timeout=timeout, socket_timeout=timeout)
        try:
            found = {where: _policy(client)}
        finally:
            client.close()
    unknown = {node: reason for node, (policy, reason) in found.items() if policy is None}
    if unknown:
        node, reason = next(iter(unknown.items()))
        logger.warning(
            "security Redis %s: eviction policy not verified, %s. Revoked tokens and rate-limit counters must "
            "never be evicted: make sure that Redis runs with maxmemory-policy %s, or set "
            "SECURITY_REDIS_ALLOW_EVICTION=true to accept the risk.", node, reason, SAFE_POLICY,
            extra={"security_redis": node},
        )
    evicting = {node: policy for node, (policy, _) in found.items() if policy is not None and policy != SAFE_POLICY}
    if evicting:
        node, policy = next(iter(evicting.items()))
        named = where if node == where else f"{where}, master {node}"
        raise ImproperlyConfigured(
            f"SECURITY_REDIS_URL ({named}) has maxmemory-policy {policy}: under memory pressure Redis would evict "
            "revoked tokens (a logged-out token would work again) and rate-limit counters (every security key "
            f"has a TTL, so volatile-* policies evict them too). Run that Redis with maxmemory-policy {SAFE_POLICY} "
            f"(redis-server --maxmemory-policy {SAFE_POLICY}, or CONFIG SET maxmemory-policy {SAFE_POLICY}), point "
            "SECURITY_REDIS_URL at one that does, or set SECURITY_REDIS_ALLOW_EVICTION=true to accept the risk."
        )
    if unknown:
        return None
    return SAFE_POLICY
