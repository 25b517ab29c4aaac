"""The real URLconf plus ``/api/v1/trade-signals/test-slow``: a GET that stays in flight and names its worker
(under the signals prefix, so the gateway routes it like any signals read)."""
import os
import time

from django.core.cache import caches
from django.http import JsonResponse
from django.urls import path

from tradesignals.urls import handler400, handler403, handler404, handler500, urlpatterns  # noqa: F401


def slow(request):
    caches["default"].set(f"test:slow-pid:{request.GET.get('tag', '')}", os.getpid(), 60)
    time.sleep(float(request.GET.get("seconds", "2")))
    return JsonResponse({"status": "finished", "pid": os.getpid()})


urlpatterns = [path("api/v1/trade-signals/test-slow", slow), *urlpatterns]
