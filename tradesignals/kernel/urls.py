"""Kernel routes: health probes, metrics and, when the app serves them itself, the stored images (the OpenAPI
document and Swagger UI: ``tradesignals/urls.py``)."""
import re
from urllib.parse import urlsplit

from django.conf import settings
from django.urls import path, re_path

from tradesignals.kernel import health, metrics

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("health", health.health, name="health"),
    path("metrics", metrics.metrics_view, name="metrics"),
]

if settings.MEDIA_SERVE and settings.STORAGE_BACKEND == "filesystem":
    from tradesignals.kernel.images.media import media_file

    # MEDIA_URL's path (it may be absolute, http://host/media/): the prefix this process answers under.
    _media_prefix = re.escape(urlsplit(settings.MEDIA_URL).path.lstrip("/"))
    urlpatterns.append(re_path(rf"^{_media_prefix}(?P<key>images/.+)$", media_file, name="media-file"))

if settings.BENCH_MODE:
    from django.http import JsonResponse

    def bench_baseline(request):
        """The framework's ceiling on this machine: no auth, no database, no DRF."""
        return JsonResponse({"status": "ok"})

    urlpatterns.append(path("bench/baseline", bench_baseline))
