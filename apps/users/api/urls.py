"""HTTP API of the users slice (mounted at /api/v1/users/ when the slice is enabled)."""
from django.urls import re_path

from apps.users.api.views import UserDetailApi, UserListApi, UserMeApi, UserMeAvatarApi
from tradesignals.kernel.drf.urls import api_route

urlpatterns = [
    # The bare `/api/v1/users` reaches this route through the root URLconf's prefix delegate.
    re_path(r"^$", UserListApi.as_view(), name="users-list"),
    api_route("me", UserMeApi.as_view(), name="users-me"),
    api_route("me/avatar", UserMeAvatarApi.as_view(), name="users-me-avatar"),
    api_route(r"(?P<user_id>[^/]+)", UserDetailApi.as_view(), name="users-detail"),
]
