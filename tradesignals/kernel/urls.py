"""Kernel routes: health probes, OpenAPI schema and offline Swagger UI."""
from django.conf import settings
from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from tradesignals.kernel import health, metrics

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("health", health.health, name="health"),
    path("metrics", metrics.metrics_view, name="metrics"),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="swagger-ui"),
]

if settings.BENCH_MODE:
    from django.http import JsonResponse

    def bench_baseline(request):
        """The framework's ceiling on this machine: no auth, no database, no DRF."""
        return JsonResponse({"status": "ok"})

    urlpatterns.append(path("bench/baseline", bench_baseline))
