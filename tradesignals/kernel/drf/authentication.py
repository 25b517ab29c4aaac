"""Authentication classes: ``Authorization: Bearer`` and the HttpOnly access cookie.

Both verify the token locally (shared ``JWT_SECRET``) and check revocation in one store round trip.
Cookie-authenticated unsafe requests must carry a valid CSRF token.
"""
from __future__ import annotations

from django.conf import settings
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, CSRFCheck

from tradesignals.kernel import revocation, tokens
from tradesignals.kernel.errors import ApplicationError, PermissionDenied, TokenInvalid
from tradesignals.kernel.identity import Principal


class AuthError(exceptions.AuthenticationFailed):
    """Carries an ApplicationError through DRF's authentication machinery (it only catches APIException)."""

    def __init__(self, app_error: ApplicationError):
        self.app_error = app_error
        super().__init__(app_error.message)
        self.status_code = app_error.status


def principal_from_token(raw: str) -> Principal:
    """Verify an access token and its revocation state; raise an ApplicationError otherwise."""
    principal = Principal.from_claims(tokens.verify(raw, expected_type=tokens.ACCESS))
    revocation.check(principal)
    return principal


def _authenticate(raw: str):
    try:
        principal = principal_from_token(raw)
    except ApplicationError as error:
        raise AuthError(error) from None
    return principal, principal


class BearerTokenAuthentication(BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request):
        header = request.META.get("HTTP_AUTHORIZATION", "")
        if not header:
            return None
        parts = header.split()
        if len(parts) != 2 or parts[0].lower() != self.keyword.lower():
            raise AuthError(TokenInvalid("Use 'Authorization: Bearer <access token>'."))
        return _authenticate(parts[1])

    def authenticate_header(self, request):
        return f'{self.keyword} realm="api"'


class CookieTokenAuthentication(BaseAuthentication):
    """The browser path (browsable API, console): the access token in an HttpOnly cookie."""

    def authenticate(self, request):
        raw = request.COOKIES.get(settings.AUTH_ACCESS_COOKIE)
        if not raw:
            return None
        result = _authenticate(raw)
        self._enforce_csrf(request)
        return result

    def _enforce_csrf(self, request):
        def dummy_get_response(_request):  # pragma: no cover - never called
            return None

        check = CSRFCheck(dummy_get_response)
        check.process_request(request)
        reason = check.process_view(request, None, (), {})
        if reason:
            raise AuthError(PermissionDenied(f"CSRF failed: {reason}"))
