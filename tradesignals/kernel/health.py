"""Liveness (``/healthz``: no I/O) and readiness (``/health``: MongoDB and Redis, short timeouts).

Readiness is what a balancer acts on, so it answers one question: can *this* instance serve correctly?
Each check says whether it is ``critical``:

- MongoDB (every alias of the enabled slices) and the security Redis (revocation, login counters; it fails
  closed) are critical: one failing makes ``/health`` 503 (``"status": "fail"``).
- The cache Redis is not: every read survives its outage (a miss falls through to MongoDB). It is also one
  server shared by every instance, so answering 503 would pull the whole fleet out of the balancer at once for
  a slowdown. Its failure answers 200 with ``"status": "degraded"`` and the check marked failing.
  When the cache and the security store are the same Redis server, its outage *is* a security outage: the
  cache check is then critical too.
- On a Redis Cluster a Redis check pings every master (a key on a master that does not answer fails).
- Draining (SIGTERM) answers 503 ``"draining"`` whatever the checks say.
"""
from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlparse

import pymongo
from django.conf import settings
from django.core.cache import caches
from django.http import JsonResponse

from tradesignals.kernel import mongo

_draining = threading.Event()


def start_draining() -> None:
    """Called on SIGTERM: readiness turns 503 so the balancer stops sending, in-flight work finishes."""
    _draining.set()


def is_draining() -> bool:
    return _draining.is_set()


def healthz(request):
    return JsonResponse({"status": "ok"})


def _timed(check, critical: bool) -> dict:
    started = time.perf_counter()
    try:
        check()
    except Exception as exc:  # any failure is a failed check, reported by type only
        return {"status": "fail", "critical": critical, "error": exc.__class__.__name__,
                "duration_ms": round((time.perf_counter() - started) * 1000, 1)}
    return {"status": "ok", "critical": critical, "duration_ms": round((time.perf_counter() - started) * 1000, 1)}


def _redis_ping(alias: str):
    from django_redis import get_redis_connection

    from tradesignals.kernel.redis_cluster import ping

    return lambda: ping(get_redis_connection(alias))


def _mongo_ping(alias: str):
    def check():
        with pymongo.timeout(settings.HEALTH_CHECK_TIMEOUT):
            mongo.ping(alias)

    return check


def _redis_server(url: str) -> tuple:
    """The server a Redis URL names (host and port, or socket path); the db index does not matter."""
    parsed = urlparse(url)
    return (parsed.hostname, parsed.port or 6379) if parsed.hostname else (parsed.path,)


_pool = ThreadPoolExecutor(max_workers=6, thread_name_prefix="health")


def _probes() -> dict[str, tuple]:
    """``name -> (check, critical)``."""
    probes = {f"mongodb:{alias}": (_mongo_ping(alias), True) for alias in settings.MONGODB_ALIASES}
    if settings.REDIS_ENABLED:
        shared = _redis_server(settings.REDIS_URL) == _redis_server(settings.SECURITY_REDIS_URL)
        probes["redis:cache"] = (_redis_ping("default"), shared)
        probes["redis:security"] = (_redis_ping("security"), True)
    else:
        probes["cache:local"] = (lambda: caches["default"].get("ts:v1:health"), False)
    return probes


def health(request):
    # Probes run in parallel so one dead dependency costs one timeout, not the sum.
    futures = {name: _pool.submit(_timed, check, critical) for name, (check, critical) in _probes().items()}
    checks = {name: future.result() for name, future in futures.items()}
    failing = [check for check in checks.values() if check["status"] != "ok"]
    if is_draining():
        status = "draining"
    elif any(check["critical"] for check in failing):
        status = "fail"
    else:
        status = "degraded" if failing else "ok"
    return JsonResponse(
        {"status": status, "slices": list(settings.TRADESIGNALS_SLICES), "checks": checks},
        status=200 if status in {"ok", "degraded"} else 503,
    )
