"""Authentication classes: ``Authorization: Bearer`` and the HttpOnly access cookie.

Both are djangorestframework-simplejwt's ``JWTStatelessUserAuthentication``: the token is verified locally
(shared ``JWT_SECRET``, the kernel's ``AccessToken``) and the user is the token's ``TokenPrincipal`` — no
database lookup. Added here: revocation (token, family, user epoch) in one store round trip, claims the
gateway already verified in this request are not verified again, our error envelope for every refusal, and
cookie-authenticated unsafe requests must carry a valid CSRF token.
"""
from __future__ import annotations

from django.conf import settings
from rest_framework import HTTP_HEADER_ENCODING, exceptions
from rest_framework.authentication import CSRFCheck
from rest_framework_simplejwt.authentication import JWTStatelessUserAuthentication

from tradesignals.kernel import revocation, tokens
from tradesignals.kernel.errors import ApplicationError, PermissionDenied, TokenInvalid
from tradesignals.kernel.identity import Principal
from tradesignals.kernel.ratelimit import verified_access


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


class _PrincipalAuthentication(JWTStatelessUserAuthentication):
    """simplejwt's stateless authentication with our revocation check, memo and error envelope."""

    def raw_token(self, request) -> str | None:  # pragma: no cover - each subclass says where the token is
        raise NotImplementedError

    def authenticate(self, request):
        raw = self.raw_token(request)
        if raw is None:
            return None
        gateway = verified_access(request, raw)  # what the gateway verified and read for this token
        prefetched = gateway.revocation if gateway is not None else None
        try:
            if gateway is not None:
                validated = tokens.AccessToken.from_verified_claims(raw, gateway.claims)
            else:
                validated = self.get_validated_token(raw)
            user = self.get_user(validated)
            revocation.check(user, prefetched=prefetched)
        except ApplicationError as error:
            raise AuthError(error) from None
        return user, validated

    def get_validated_token(self, raw_token):
        """The kernel's ``AccessToken`` (``AUTH_TOKEN_CLASSES``), through the verified-claims memo."""
        if isinstance(raw_token, bytes):
            raw_token = raw_token.decode(HTTP_HEADER_ENCODING)
        try:
            return tokens.validated(raw_token, expected_type=tokens.ACCESS)
        except ApplicationError as error:
            raise AuthError(error) from None


class BearerTokenAuthentication(_PrincipalAuthentication):
    keyword = "Bearer"

    def raw_token(self, request) -> str | None:
        # The header as text (simplejwt's get_header encodes it to Latin-1 bytes, which a test client's
        # non-Latin-1 header could not survive); the name is SIMPLE_JWT's AUTH_HEADER_NAME, pinned.
        header = request.META.get(tokens.AUTH_HEADER_NAME, "")
        if not header:
            return None
        parts = header.split()
        if len(parts) != 2 or parts[0].lower() != self.keyword.lower():
            # simplejwt would pass over another scheme silently; a client that sent credentials learns they
            # were not understood instead of being treated as anonymous.
            raise AuthError(TokenInvalid("Use 'Authorization: Bearer <access token>'."))
        return parts[1]

    def authenticate_header(self, request):
        return f'{self.keyword} realm="{self.www_authenticate_realm}"'


class CookieTokenAuthentication(_PrincipalAuthentication):
    """The browser path (browsable API, console): the access token in an HttpOnly cookie."""

    def raw_token(self, request) -> str | None:
        return request.COOKIES.get(settings.AUTH_ACCESS_COOKIE) or None

    def authenticate(self, request):
        result = super().authenticate(request)
        if result is not None:
            self._enforce_csrf(request)
        return result

    def authenticate_header(self, request):
        return None  # a cookie has no challenge (DRF asks the first class, Bearer, for WWW-Authenticate)

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
