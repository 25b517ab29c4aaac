"""What every slice's admin console shares: who is using it (the HttpOnly access cookie, verified exactly like
an API token), the admin-only decorator, and the context the shared layout (``console/base.html``) reads.

The console pages are plain Django views (not DRF), so they authenticate with the kernel's
``principal_from_token`` (signature, expiry, revocation) and authorise here: anonymous visitors go to the
accounts login page, signed-in non-admins get a 403 page, and a security-store outage is a 503 page —
never a silent pass. Unsafe requests are CSRF-checked by Django's middleware (every form has the token).

Each slice mounts its own pages (``/console/`` the signals slice, ``/console/discussions/`` the discussions
slice); the layout links them by path, so in a split deployment the gateway sends each link to its slice and
no page needs another slice's URL names.
"""
from __future__ import annotations

from functools import wraps
from urllib.parse import urlencode

from django.conf import settings
from django.http import HttpResponseRedirect
from django.shortcuts import render
from django.utils.cache import patch_vary_headers

from tradesignals.kernel.drf.authentication import RENEW_PATH, principal_from_token
from tradesignals.kernel.errors import ApplicationError, ServiceUnavailable
from tradesignals.kernel.identity import Principal

LOGIN_PATH = "/auth/login/"
LOGOUT_PATH = "/auth/logout/"
HOME_PATH = "/console/"


def console_principal(request) -> Principal | None:
    """The verified caller, or ``None`` for no, an invalid, an expired or a revoked access cookie."""
    raw = request.COOKIES.get(settings.AUTH_ACCESS_COOKIE)
    if not raw:
        return None
    try:
        return principal_from_token(raw)
    except ServiceUnavailable:
        raise
    except ApplicationError:
        return None


def _to_login(request) -> HttpResponseRedirect:
    """GETs come back to the same URL after login. A POST is never replayed: its page is shown again (after a
    renewal through the accounts slice when a refresh cookie exists), and the administrator decides again."""
    if request.method == "GET":
        return HttpResponseRedirect(f"{LOGIN_PATH}?{urlencode({'next': request.get_full_path()})}")
    if request.COOKIES.get(settings.AUTH_REFRESH_COOKIE):
        return HttpResponseRedirect(f"{RENEW_PATH}?{urlencode({'next': request.path})}", status=303)
    response = HttpResponseRedirect(f"{LOGIN_PATH}?{urlencode({'next': request.path})}")
    response.status_code = 303
    return response


def page_context(request, section: str, **extra) -> dict:
    """What the layout reads: the signed-in administrator, the current navigation ``section`` and the logout
    form's action. A slice adds its own (the signals pages add ``pending_count``, the badge in the navigation)."""
    return {"principal": getattr(request, "console_principal", None), "section": section,
            "logout_path": LOGOUT_PATH, **extra}


def admin_page(view):
    """Decorate a console view: admin only; the response is private and never cached."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        try:
            principal = console_principal(request)
        except ServiceUnavailable:
            response = render(request, "console/unavailable.html", status=503)
            response["Retry-After"] = "5"
        else:
            if principal is None:
                response = _to_login(request)
            elif not principal.is_admin:
                response = render(request, "console/forbidden.html",
                                  {"principal": principal, "logout_path": LOGOUT_PATH}, status=403)
            else:
                request.console_principal = principal
                response = view(request, *args, **kwargs)
        response["Cache-Control"] = "no-store"
        patch_vary_headers(response, ["Cookie"])
        return response

    return wrapper
