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
from tradesignals.kernel.ratelimit import VERIFIED_ATTR  # (raw, claims, revocation values) left by the gateway


class AuthError(exceptions.AuthenticationFailed):
    """Carries an ApplicationError through DRF's authentication machinery (it only catches APIException)."""

    def __init__(self, app_error: ApplicationError):
        self.app_error = app_error
        super().__init__(app_error.message)
        self.status_code = app_error.status




def principal_from_token(raw: str, *, claims: dict | None = None, prefetched: dict | None = None) -> Principal:
    """Verify an access token and its revocation state; raise an ApplicationError otherwise.

    ``claims`` may carry the result of an earlier ``tokens.verify(raw)`` in the same request, ``prefetched``
    the revocation values read with it (see ``kernel.ratelimit``).
    """
    principal = Principal.from_claims(claims or tokens.verify(raw, expected_type=tokens.ACCESS))
    revocation.check(principal, prefetched=prefetched)
    return principal


def _authenticate(raw: str, request=None):
    cached = getattr(getattr(request, "_request", request), VERIFIED_ATTR, None)
    claims, prefetched = (cached[1], cached[2]) if cached and cached[0] == raw else (None, None)
    try:
        principal = principal_from_token(raw, claims=claims, prefetched=prefetched)
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
        return _authenticate(parts[1], request)

    def authenticate_header(self, request):
        return f'{self.keyword} realm="api"'


class CookieTokenAuthentication(BaseAuthentication):
    """The browser path (browsable API, console): the access token in an HttpOnly cookie."""

    def authenticate(self, request):
        raw = request.COOKIES.get(settings.AUTH_ACCESS_COOKIE)
        if not raw:
            return None
        result = _authenticate(raw, request)
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


RENEW_PATH = "/auth/refresh/"
RENEWED_COOKIE = "ts_renewed"  # set for a few seconds by the renewal view: never redirect twice in a row


def _needs_renewal(raw: str | None) -> bool:
    if not raw:
        return True
    try:
        revocation.check(Principal.from_claims(tokens.verify(raw, expected_type=tokens.ACCESS)))
    except tokens.TokenExpired:
        return True
    except revocation.TokenRevoked as error:
        # Superseded by an epoch bump (role or password change): the session may still mint a fresh token.
        return error.superseded
    except ApplicationError:
        return False  # store down → let the request fail with 503 rather than loop through redirects
    return False


class CookieRenewalMiddleware:
    """Renew an expired access cookie transparently for browser page loads.

    The kernel cannot sign tokens (and in a split deployment this slice may not host ``accounts``), so an
    HTML ``GET`` whose access cookie is missing, expired or superseded, but which still has a refresh
    cookie, is redirected to ``/auth/refresh/?next=<path>`` — served by the accounts slice behind the same
    gateway — which rotates the refresh token, sets new cookies and redirects back.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if self._should_renew(request):
            from urllib.parse import urlencode

            from django.http import HttpResponseRedirect

            response = HttpResponseRedirect(f"{RENEW_PATH}?{urlencode({'next': request.get_full_path()})}")
            response["Cache-Control"] = "no-store"
            return response
        return self.get_response(request)

    @staticmethod
    def _should_renew(request) -> bool:
        return (
            request.method in ("GET", "HEAD")
            and not request.path.startswith("/auth/")
            and bool(request.COOKIES.get(settings.AUTH_REFRESH_COOKIE))
            and not request.COOKIES.get(RENEWED_COOKIE)
            and not request.META.get("HTTP_AUTHORIZATION")
            and "text/html" in request.META.get("HTTP_ACCEPT", "")
            and _needs_renewal(request.COOKIES.get(settings.AUTH_ACCESS_COOKIE))
        )
