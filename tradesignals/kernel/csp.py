"""Content-Security-Policy on every HTML response: the console, the browser login, the DRF browsable API, the API
docs, error pages, and any page added later.

Strict by default: scripts run only from our own origin or with the per-response nonce (``request.csp_nonce``);
no inline styles, no framing, forms post only to us. Images come from us (``/media/`` on the file system), from
https (the external ``image_url`` a signal may link) and from the origin uploaded images are served from when
that is not us: the origin of the address ``kernel.images.storage.url`` gives (S3_PUBLIC_URL, the S3 endpoint's
path-style address, or an absolute MEDIA_URL), so a plain-http bucket such as a local SeaweedFS is allowed by
name, never by scheme. A response that is not HTML (JSON, the schema, static files) gets no policy: a policy
governs documents.

Relaxations, only for the third-party HTML served under ``/api/`` as its packages ship it (we do not fork
their templates), each allowed by the SHA-256 hash of the exact text, never by ``'unsafe-inline'``:

- The DRF browsable API inlines one ``<style>`` block (the Pygments stylesheet for code highlighting). All
  its scripts are files under /static/ (its CSRF settings sit in a ``type="application/json"`` block, which
  never executes). Its stock "Log out" link is an inline ``onclick`` handler; our page
  (``kernel/browsable_api.html``) replaces it with a form button, so no script runs by hash and the policy
  has no ``'unsafe-hashes'``.
- Swagger UI (``/api/docs/``, drf-spectacular's template) inlines one ``<style>`` block of page layout. Its
  init script must be a file too, which ``SpectacularSwaggerSplitView`` serves (``/api/docs/?script``); the
  stock ``SpectacularSwaggerView`` inlines it (with the CSRF token, so it cannot be hashed) and is refused.

The hashes are computed once from the installed packages, so an upgrade that changes a block yields a visible
violation in tests/kernel/test_csp_browser.py, never a wider policy.

Framing, per view and only between our own pages: a page made to be shown inside another of ours
(``framed_by_own_pages``: the discussions console's thread under a signal) answers ``frame-ancestors 'self'``
and ``X-Frame-Options: SAMEORIGIN``; the page that shows it (``frames_own_pages``: the signals console's signal
page) states ``frame-src 'self'``. Every other response keeps ``frame-ancestors 'none'`` and ``DENY``.
"""
from __future__ import annotations

import base64
import functools
import hashlib
import re
import secrets
from urllib.parse import urlsplit

THIRD_PARTY_PREFIX = "/api/"
_PROBE_KEY = "images/probe/" + "A" * 32 + ".png"  # any stored name: only the origin of its address is used


def image_origins() -> tuple[str, ...]:
    """The origin uploaded images are fetched from, when it is another than ours (none for ``/media/``)."""
    from tradesignals.kernel.images import storage

    parts = urlsplit(storage.url(_PROBE_KEY))
    if parts.scheme not in {"http", "https"} or not parts.netloc:
        return ()
    return (f"{parts.scheme}://{parts.netloc}",)


def policy(nonce: str, style_hashes: tuple[str, ...] = (), image_sources: tuple[str, ...] = (), *,
           frame_ancestors: str = "'none'", frame_src: str | None = None) -> str:
    styles = " ".join(["'self'", *(f"'sha256-{digest}'" for digest in style_hashes)])
    images = " ".join(["'self'", "https:", "data:", *image_sources])
    return "; ".join([
        "default-src 'self'",
        f"script-src 'self' 'nonce-{nonce}'",
        f"style-src {styles}",
        f"img-src {images}",
        "connect-src 'self'",
        "font-src 'self'",
        *([f"frame-src {frame_src}"] if frame_src else []),
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        f"frame-ancestors {frame_ancestors}",
    ])


SELF = "'self'"


def framed_by_own_pages(view):
    """Decorate a view whose pages are shown in an ``<iframe>`` of our own pages: only same-origin pages may frame
    it (``frame-ancestors 'self'``, and ``X-Frame-Options: SAMEORIGIN`` for browsers that read only that)."""

    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        response = view(request, *args, **kwargs)
        response.csp_frame_ancestors = SELF
        response["X-Frame-Options"] = "SAMEORIGIN"  # XFrameOptionsMiddleware keeps a header already set
        return response

    return wrapper


def frames_own_pages(view):
    """Decorate a view whose pages show one of our pages in an ``<iframe>``: ``frame-src 'self'``."""

    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        response = view(request, *args, **kwargs)
        response.csp_frame_src = SELF
        return response

    return wrapper


def _sha256(text: str) -> str:
    return base64.b64encode(hashlib.sha256(text.encode()).digest()).decode()


@functools.cache
def third_party_style_hashes() -> tuple[str, ...]:
    """The inline ``<style>`` blocks of the browsable API and of Swagger UI, as the browser will hash them."""
    from django.template.loader import get_template
    from django.utils.html import conditional_escape
    from rest_framework.compat import pygments_css

    from tradesignals.kernel.drf.renderers import BrowsableAPIRenderer

    blocks = []
    code_style = pygments_css(BrowsableAPIRenderer.code_style)  # None without Pygments: no block rendered
    if code_style:
        blocks.append(str(conditional_escape(code_style)))  # the template autoescapes it
    swagger = get_template("drf_spectacular/swagger_ui.html").template.source  # no template tags inside
    blocks.extend(re.findall(r"<style>(.*?)</style>", swagger, flags=re.DOTALL))
    return tuple(_sha256(block) for block in blocks)


class ContentSecurityPolicyMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.csp_nonce = secrets.token_urlsafe(16)
        response = self.get_response(request)
        if response.get("Content-Type", "").startswith("text/html"):
            styles = third_party_style_hashes() if request.path.startswith(THIRD_PARTY_PREFIX) else ()
            value = policy(request.csp_nonce, styles, image_origins(),
                           frame_ancestors=getattr(response, "csp_frame_ancestors", "'none'"),
                           frame_src=getattr(response, "csp_frame_src", None))
            response["Content-Security-Policy"] = value
        return response
