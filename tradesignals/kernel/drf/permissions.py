"""Function-level authorisation shared by every slice."""
from rest_framework.permissions import BasePermission


class IsAuthenticatedPrincipal(BasePermission):
    def has_permission(self, request, view) -> bool:
        return bool(request.user and request.user.is_authenticated)


class IsAdmin(BasePermission):
    message = "Administrator role required."

    def has_permission(self, request, view) -> bool:
        return bool(request.user and request.user.is_authenticated and request.user.is_admin)
