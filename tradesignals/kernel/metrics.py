"""Prometheus metrics, correct across gunicorn workers (prometheus_client's multiprocess mode).

Under gunicorn, ``deploy/gunicorn.conf.py`` points ``PROMETHEUS_MULTIPROC_DIR`` at a fresh directory before
any worker starts; every worker writes its samples there and ``/metrics`` merges them, so a scrape that lands
on any worker sees the whole instance. Without it (``manage.py``, tests in one process) the default
in-process registry is used.

Every label takes its value from a fixed set, never from what a client sends: a scanner trying made-up
methods on made-up paths must not create a series per request (each series costs memory in every worker's
file, in the scrape and in the time-series database, for as long as it is retained). Methods outside the
standard set count as ``other``, unmatched paths as the one route ``unmatched``, statuses as the codes the
product answers or else their class (``2xx`` … ``5xx``); event types, consumers and results come from the
event registry, the slices and the outcomes; cache namespaces are capped per process.
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

OTHER = "other"
UNMATCHED = "unmatched"
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
# The codes the product answers on purpose (the documented API statuses plus redirects, 304 and the HTML
# pages' 403): each is worth its own series (401 vs 403 vs 429 are different alerts). Anything else (a 418
# from a library, a 207) is counted in its class, so the label never has more than len(STATUSES) + 5 values.
STATUSES = frozenset({200, 201, 204, 301, 302, 303, 304, 400, 401, 403, 404, 405, 406, 409, 412, 413, 415, 429,
                      500, 503})
MAX_CACHE_NAMESPACES = 32


def method_label(method: str | None) -> str:
    return method if method in METHODS else OTHER


def status_label(status: int) -> str:
    if status in STATUSES:
        return str(status)
    return f"{status // 100}xx" if 100 <= status <= 599 else OTHER


class _CappedLabel:
    """The first ``limit`` distinct values seen in this process, then ``other``: for label values the code
    chooses but the kernel cannot list (cache namespaces belong to the apps)."""

    def __init__(self, limit: int):
        self.limit = limit
        self.seen: set[str] = set()

    def __call__(self, value: str) -> str:
        if value in self.seen:
            return value
        if len(self.seen) >= self.limit:
            return OTHER
        self.seen.add(value)
        return value


_namespace_label = _CappedLabel(MAX_CACHE_NAMESPACES)


def cache_lookup(namespace: str, hit: bool) -> None:
    # Namespaces carry ids (trade-signal:{id}); drop the id part, then cap what is left.
    base = namespace.split(":{", 1)[0].rsplit(":", 1)[0] if ":" in namespace else namespace
    CACHE_LOOKUPS.labels(_namespace_label(base), "hit" if hit else "miss").inc()


def _event_type_label(event_type: str) -> str:
    from tradesignals.kernel.events import registry

    return event_type if event_type in registry.known_types() else OTHER


def _consumer_results() -> set[str]:
    from tradesignals.kernel.events.processing import Outcome

    return {outcome.value for outcome in Outcome}


def event_published(event_type: str) -> None:
    EVENTS_PUBLISHED.labels(_event_type_label(event_type)).inc()


def event_consumed(event_type: str, consumer: str, result: str) -> None:
    """A consumed message: its type may come from a foreign producer, so only registered types are named."""
    EVENTS_CONSUMED.labels(
        _event_type_label(event_type),
        consumer if consumer in settings.TRADESIGNALS_SLICES else OTHER,
        result if result in _consumer_results() else OTHER,
    ).inc()


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
        # The URL pattern's name (or its view's dotted path), a fixed set; never the path the client sent.
        route = (match.view_name or match._func_path) if match else UNMATCHED
        if route == "metrics":
            return response
        method = method_label(request.method)
        HTTP_REQUESTS.labels(method, route, status_label(response.status_code)).inc()
        HTTP_LATENCY.labels(method, route).observe(time.perf_counter() - started)
        return response
