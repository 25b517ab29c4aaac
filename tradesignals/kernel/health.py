"""Liveness (``/healthz``: no I/O) and readiness (``/health``: MongoDB and Redis, short timeouts)."""
from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

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


def _timed(check) -> dict:
    started = time.perf_counter()
    try:
        check()
    except Exception as exc:  # any failure is a failed check, reported by type only
        return {"status": "fail", "error": exc.__class__.__name__,
                "duration_ms": round((time.perf_counter() - started) * 1000, 1)}
    return {"status": "ok", "duration_ms": round((time.perf_counter() - started) * 1000, 1)}


def _redis_ping(alias: str):
    from django_redis import get_redis_connection

    return lambda: get_redis_connection(alias).ping()


def _mongo_ping(alias: str):
    def check():
        with pymongo.timeout(settings.HEALTH_CHECK_TIMEOUT):
            mongo.ping(alias)

    return check


_pool = ThreadPoolExecutor(max_workers=6, thread_name_prefix="health")


def health(request):
    probes = {f"mongodb:{alias}": _mongo_ping(alias) for alias in settings.MONGODB_ALIASES}
    if settings.REDIS_ENABLED:
        probes["redis:cache"] = _redis_ping("default")
        probes["redis:security"] = _redis_ping("security")
    else:
        probes["cache:local"] = lambda: caches["default"].get("ts:v1:health")
    # Probes run in parallel so one dead dependency costs one timeout, not the sum.
    futures = {name: _pool.submit(_timed, probe) for name, probe in probes.items()}
    checks = {name: future.result() for name, future in futures.items()}
    healthy = all(c["status"] == "ok" for c in checks.values())
    status = "ok" if healthy else "fail"
    if is_draining():
        status, healthy = "draining", False
    return JsonResponse(
        {"status": status, "slices": list(settings.TRADESIGNALS_SLICES), "checks": checks},
        status=200 if healthy else 503,
    )
