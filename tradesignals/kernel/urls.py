"""Kernel routes: health probes and metrics (the OpenAPI document and Swagger UI: ``tradesignals/urls.py``)."""
from django.conf import settings
from django.urls import path

from tradesignals.kernel import health, metrics

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("health", health.health, name="health"),
    path("metrics", metrics.metrics_view, name="metrics"),
]

if settings.BENCH_MODE:
    from django.http import JsonResponse

    def bench_baseline(request):
        """The framework's ceiling on this machine: no auth, no database, no DRF."""
        return JsonResponse({"status": "ok"})

    urlpatterns.append(path("bench/baseline", bench_baseline))
