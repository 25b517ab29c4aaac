"""Browser login for the browsable API and the admin console: tokens in HttpOnly cookies.

``/auth/login/`` and ``/auth/logout/`` are ordinary CSRF-protected forms. ``/auth/refresh/`` is where the
kernel's ``CookieRenewalMiddleware`` sends a page load whose access cookie has expired: it rotates the
refresh cookie and redirects back to ``next`` (local paths only — never an open redirect); a navigation
the site did not start itself is asked to confirm first (``RefreshView``).
"""
from __future__ import annotations

from django import forms
from django.conf import settings
from django.http import HttpResponseRedirect
from django.middleware.csrf import rotate_token
from django.shortcuts import render
from django.utils.decorators import method_decorator
from django.utils.http import url_has_allowed_host_and_scheme
from django.views import View
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect, ensure_csrf_cookie

from apps.accounts import services
from tradesignals.kernel import ratelimit, tokens
from tradesignals.kernel.drf.authentication import RENEWED_COOKIE
from tradesignals.kernel.errors import ApplicationError, Conflict, RateLimited, TokenInvalid
from tradesignals.kernel.identity import Principal

DEFAULT_NEXT = "/api/v1/auth/me"
LOGIN_PATH = "/auth/login/"


def safe_next(value: str | None) -> str:
    """A local path to go to after login, or the default. Absolute and scheme-relative URLs are refused."""
    if not value or not value.startswith("/") or value.startswith(("//", "/\\")):
        return DEFAULT_NEXT
    if any(ord(ch) < 32 or ch == "\\" for ch in value):
        return DEFAULT_NEXT
    if not url_has_allowed_host_and_scheme(value, allowed_hosts=None, require_https=False):
        return DEFAULT_NEXT
    return value


def _client(request) -> services.Client:
    return services.Client(ip=ratelimit.client_ip(request), user_agent=request.META.get("HTTP_USER_AGENT", ""))


def set_auth_cookies(response, pair) -> None:
    common = {"httponly": True, "secure": settings.AUTH_COOKIE_SECURE, "samesite": "Lax", "path": "/"}
    response.set_cookie(settings.AUTH_ACCESS_COOKIE, pair.access, max_age=settings.JWT_ACCESS_EXPIRY, **common)
    response.set_cookie(settings.AUTH_REFRESH_COOKIE, pair.refresh, max_age=settings.JWT_REFRESH_EXPIRY, **common)


def clear_auth_cookies(response) -> None:
    for name in (settings.AUTH_ACCESS_COOKIE, settings.AUTH_REFRESH_COOKIE):
        response.delete_cookie(name, path="/", samesite="Lax")


class LoginForm(forms.Form):
    email = forms.CharField(max_length=254, widget=forms.EmailInput(attrs={"autocomplete": "username",
                                                                           "autofocus": True}))
    password = forms.CharField(max_length=256, strip=False,
                               widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}))


def _page(request, form, *, next_url: str, error: str | None = None, status: int = 200, headers=None):
    response = render(request, "accounts/login.html",
                      {"form": form, "next": next_url, "error": error}, status=status)
    for name, value in (headers or {}).items():
        response[name] = value
    return response


@method_decorator([never_cache, csrf_protect], name="dispatch")
class LoginView(View):
    @method_decorator(ensure_csrf_cookie)
    def get(self, request):
        return _page(request, LoginForm(), next_url=safe_next(request.GET.get("next")))

    def post(self, request):
        next_url = safe_next(request.POST.get("next") or request.GET.get("next"))
        form = LoginForm(request.POST)
        if not form.is_valid():
            return _page(request, form, next_url=next_url, error=services.LOGIN_FAILED_MESSAGE, status=400)
        try:
            _user, pair = services.session_login(email=form.cleaned_data["email"],
                                                 password=form.cleaned_data["password"], client=_client(request))
        except RateLimited as limited:
            return _page(request, form, next_url=next_url, error=limited.message, status=429, headers=limited.headers)
        except ApplicationError as error:
            message = services.LOGIN_FAILED_MESSAGE if error.status == 401 else error.message
            return _page(request, form, next_url=next_url, error=message, status=error.status)
        rotate_token(request)  # a new CSRF secret for the new identity
        response = HttpResponseRedirect(next_url)
        set_auth_cookies(response, pair)
        return response


@method_decorator([never_cache, csrf_protect], name="dispatch")
class LogoutView(View):
    """GET shows a confirmation form (a logout link must not be CSRF-able); POST ends the session."""

    def get(self, request):
        return render(request, "accounts/logout.html", {"next": safe_next(request.GET.get("next"))})

    def post(self, request):
        client = _client(request)
        access = request.COOKIES.get(settings.AUTH_ACCESS_COOKIE)
        refresh = request.COOKIES.get(settings.AUTH_REFRESH_COOKIE)
        done = False
        try:
            if access:
                try:
                    principal = Principal.from_claims(tokens.verify(access))
                    services.session_logout(principal=principal, client=client)
                    done = True
                except TokenInvalid:
                    pass
            if refresh and not done:
                services.session_logout_refresh(refresh_token=refresh, client=client)
        except ApplicationError as error:  # the store is down: say so, keep the cookies for a retry
            return render(request, "accounts/logout.html", {"next": safe_next(request.GET.get("next")),
                                                            "error": error.message}, status=error.status)
        response = HttpResponseRedirect(LOGIN_PATH)
        clear_auth_cookies(response)
        return response


# ``Sec-Fetch-Site`` values of navigations the site itself started (a link or redirect of ours) or the user
# did (a typed address, a bookmark). Anything else — another site, a sibling subdomain, a browser that sends
# no fetch metadata — could be a page making the browser rotate tokens behind the user's back.
OWN_NAVIGATIONS = frozenset({"same-origin", "none"})


@method_decorator([never_cache, csrf_protect], name="dispatch")
class RefreshView(View):
    """Rotate the refresh cookie and go back to ``next``; on a dead session, to the login page.

    A GET rotates only for the site's own navigations (``OWN_NAVIGATIONS``); any other GET gets a
    "Continue" form whose CSRF-protected POST rotates. Otherwise a cross-site page could navigate the
    browser here (SameSite=Lax cookies ride along on top-level GETs), rotate the cookie at will, or fire
    two rotations that race into reuse detection and log the user out.
    """

    def get(self, request):
        next_url = safe_next(request.GET.get("next"))
        if request.META.get("HTTP_SEC_FETCH_SITE") not in OWN_NAVIGATIONS:
            return render(request, "accounts/refresh.html", {"next": next_url})
        return _renew(request, next_url)

    def post(self, request):
        return _renew(request, safe_next(request.POST.get("next") or request.GET.get("next")))


def _renew(request, next_url: str):
    raw = request.COOKIES.get(settings.AUTH_REFRESH_COOKIE)
    try:
        if not raw:
            raise TokenInvalid()
        pair = services.session_refresh(refresh_token=raw, client=_client(request))
    except Conflict:
        # Another tab renewed with the same cookie a moment ago and won: the browser's cookie jar holds the
        # winner's pair, so going back to ``next`` is all there is to do.
        return _back_to(next_url)
    except TokenInvalid:
        response = HttpResponseRedirect(f"{LOGIN_PATH}?{_query(next_url)}")
        clear_auth_cookies(response)
        return response
    except ApplicationError as error:  # rate limited or store down: explain, keep the cookies
        return _page(request, LoginForm(), next_url=next_url, error=error.message, status=error.status,
                     headers=error.headers)
    response = _back_to(next_url)
    set_auth_cookies(response, pair)
    return response


def _back_to(next_url: str) -> HttpResponseRedirect:
    response = HttpResponseRedirect(next_url)
    # Loop guard: the page we return to must not bounce here again within a few seconds.
    response.set_cookie(RENEWED_COOKIE, "1", max_age=5, httponly=True, secure=settings.AUTH_COOKIE_SECURE,
                        samesite="Lax", path="/")
    return response


def _query(next_url: str) -> str:
    from urllib.parse import urlencode

    return urlencode({"next": next_url})
