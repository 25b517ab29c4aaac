"""Admin console of the signals slice (mounted at /console/)."""
from django.urls import path

from apps.signals.console import views

app_name = "console"

urlpatterns = [
    path("", views.queue_page, name="queue"),
    path("signals/", views.signals_page, name="signals"),
    path("signals/<str:signal_id>/", views.signal_page, name="signal"),
    path("reviewed/", views.reviewed_page, name="reviewed"),
    path("overview/", views.overview_page, name="overview"),
]
