"""The real URLconf plus ``/test/slow``: a request that stays in flight long enough to SIGTERM during it."""
import time

from django.core.cache import caches
from django.http import JsonResponse
from django.urls import path

from tradesignals.urls import handler400, handler403, handler404, handler500, urlpatterns  # noqa: F401

SLOW_STARTED_KEY = "test:slow-started"


def slow(request):
    caches["default"].set(SLOW_STARTED_KEY, request.GET.get("tag", "1"), 60)
    time.sleep(float(request.GET.get("seconds", "3")))
    return JsonResponse({"status": "finished"})


urlpatterns = [*urlpatterns, path("test/slow", slow)]
