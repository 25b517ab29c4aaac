"""HTTP API of the accounts slice (mounted at /api/v1/auth/ when the slice is enabled)."""
from apps.accounts.api import views
from tradesignals.kernel.drf.urls import api_route

urlpatterns = [
    api_route("register", views.UserRegisterApi.as_view(), name="auth-register"),
    api_route("login", views.UserLoginApi.as_view(), name="auth-login"),
    api_route("refresh", views.TokenRefreshApi.as_view(), name="auth-refresh"),
    api_route("verify", views.TokenVerifyApi.as_view(), name="auth-verify"),
    api_route("logout", views.SessionLogoutApi.as_view(), name="auth-logout"),
    api_route("logout-all", views.SessionLogoutAllApi.as_view(), name="auth-logout-all"),
    api_route("me", views.UserMeApi.as_view(), name="auth-me"),
    api_route("password", views.UserPasswordChangeApi.as_view(), name="auth-password"),
    api_route("sessions", views.SessionListApi.as_view(), name="auth-sessions"),
    api_route(r"sessions/(?P<session_id>[A-Za-z0-9]{1,64})", views.SessionDeleteApi.as_view(), name="auth-session"),
    api_route(r"admin/users/(?P<user_id>[A-Za-z0-9]{1,64})", views.UserAdminUpdateApi.as_view(),
              name="auth-admin-user"),
    api_route("admin/audit", views.AuditListApi.as_view(), name="auth-admin-audit"),
]
