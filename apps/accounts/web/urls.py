"""Browser login pages of the accounts slice (/auth/).

Named in the ``rest_framework`` namespace so the browsable API shows its "Log in" / "Log out" links.
"""
from django.urls import path

from apps.accounts.web import views

app_name = "rest_framework"

urlpatterns = [
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", views.LogoutView.as_view(), name="logout"),
    path("refresh/", views.RefreshView.as_view(), name="refresh"),
]
