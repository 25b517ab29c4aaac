"""Admin console pages of the discussions slice (mounted at /console/discussions/)."""
from django.urls import path

from apps.discussions.console import views

app_name = "discussions-console"

urlpatterns = [
    path("", views.home_page, name="home"),
    path("threads/<str:thread_id>/", views.thread_page, name="thread"),
    path("signals/<str:signal_id>/", views.signal_thread_frame, name="signal-thread"),
]
