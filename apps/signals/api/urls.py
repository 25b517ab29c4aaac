"""HTTP API of the signals slice (mounted at /api/v1/trade-signals/ when the slice is enabled)."""
from django.urls import re_path

from apps.signals.api import views
from tradesignals.kernel.drf.urls import api_route

urlpatterns = [
    # The bare `/api/v1/trade-signals` reaches this route through the root URLconf's prefix delegate.
    re_path(r"^$", views.SignalListCreateApi.as_view(), name="trade-signals"),
    api_route("public", views.SignalPublicListApi.as_view(), name="trade-signals-public"),
    api_route("images", views.SignalImageUploadApi.as_view(), name="trade-signal-images"),
    api_route("admin", views.SignalAdminListApi.as_view(), name="trade-signals-admin"),
    # Before the catch-all below, which would take "market" and "leaderboard" for signal ids.
    api_route("market/candles", views.MarketCandlesApi.as_view(), name="market-candles"),
    api_route("leaderboard", views.LeaderboardApi.as_view(), name="trade-signals-leaderboard"),
    api_route(r"(?P<signal_id>[^/]+)/status", views.SignalStatusApi.as_view(), name="trade-signal-status"),
    api_route(r"(?P<signal_id>[^/]+)", views.SignalDetailApi.as_view(), name="trade-signal"),
]
