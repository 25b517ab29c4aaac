"""Prometheus metrics, correct across gunicorn workers (prometheus_client's multiprocess mode).

Under gunicorn, ``deploy/gunicorn.conf.py`` points ``PROMETHEUS_MULTIPROC_DIR`` at a fresh directory before
any worker starts; every worker writes its samples there and ``/metrics`` merges them, so a scrape that lands
on any worker sees the whole instance. Without it (``manage.py``, tests in one process) the default
in-process registry is used.
"""
from __future__ import annotations

import hmac
import os
import time

import pymongo
from django.conf import settings
from django.http import HttpResponse
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily

HTTP_REQUESTS = Counter("ts_http_requests_total", "HTTP requests by route and status",
                        ["method", "route", "status"])
HTTP_LATENCY = Histogram("ts_http_request_duration_seconds", "HTTP request latency by route",
                         ["method", "route"],
                         buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))
CACHE_LOOKUPS = Counter("ts_cache_lookups_total", "Response cache lookups", ["namespace", "result"])
EVENTS_PUBLISHED = Counter("ts_events_published_total", "Events recorded in an outbox", ["type"])
EVENTS_CONSUMED = Counter("ts_events_consumed_total", "Events handled by consumers", ["type", "consumer", "result"])


def cache_lookup(namespace: str, hit: bool) -> None:
    # Namespaces carry ids (trade-signal:{id}); keep the label bounded by dropping the id part.
    CACHE_LOOKUPS.labels(namespace.split(":{", 1)[0].rsplit(":", 1)[0] if ":" in namespace else namespace,
                         "hit" if hit else "miss").inc()


class OutboxCollector:
    """Outbox backlog (pending entries per producer), read at scrape time."""

    def collect(self):
        from tradesignals.kernel import events, mongo

        family = GaugeMetricFamily("ts_outbox_pending", "Outbox entries not yet delivered", labels=["alias"])
        for alias in settings.MONGODB_ALIASES:
            try:
                with pymongo.timeout(settings.HEALTH_CHECK_TIMEOUT):
                    count = mongo.database(alias)[events.OUTBOX_COLLECTION].count_documents({"status": "pending"})
            except Exception:  # noqa: S112 - a scrape never fails because the database is away
                continue
            family.add_metric([alias], count)
        yield family


def _registry() -> CollectorRegistry:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:
        from prometheus_client import REGISTRY

        registry = CollectorRegistry()
        for collector in list(REGISTRY._collector_to_names):
            registry.register(collector)
    registry.register(OutboxCollector())
    return registry


def metrics_view(request):
    token = settings.METRICS_TOKEN
    if token:
        supplied = request.META.get("HTTP_AUTHORIZATION", "").removeprefix("Bearer ").strip()
        if not hmac.compare_digest(supplied.encode(), token.encode()):
            return HttpResponse("forbidden\n", status=403, content_type="text/plain")
    return HttpResponse(generate_latest(_registry()), content_type=CONTENT_TYPE_LATEST)


class MetricsMiddleware:
    """Count and time every request by its route name (bounded label values, never the raw path)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.perf_counter()
        response = self.get_response(request)
        match = getattr(request, "resolver_match", None)
        route = (match.view_name or match._func_path) if match else "unmatched"
        if route == "metrics":
            return response
        HTTP_REQUESTS.labels(request.method, route, str(response.status_code)).inc()
        HTTP_LATENCY.labels(request.method, route).observe(time.perf_counter() - started)
        return response
