"""Strict Content-Security-Policy for the server-rendered pages (console, browser login).

Scripts run only from our own origin or with the per-response nonce (``request.csp_nonce``); no inline
styles, no framing, forms post only to us, images only from us or https (signal chart images).
"""
from __future__ import annotations

import secrets

from django.conf import settings

STRICT_PREFIXES = ("/console/", "/auth/")


def policy(nonce: str) -> str:
    return "; ".join([
        "default-src 'self'",
        f"script-src 'self' 'nonce-{nonce}'",
        "style-src 'self'",
        "img-src 'self' https: data:",
        "connect-src 'self'",
        "font-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ])


class ContentSecurityPolicyMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response
        self.prefixes = tuple(getattr(settings, "CSP_STRICT_PREFIXES", STRICT_PREFIXES))

    def __call__(self, request):
        request.csp_nonce = secrets.token_urlsafe(16)
        response = self.get_response(request)
        if request.path.startswith(self.prefixes) and response.get("Content-Type", "").startswith("text/html"):
            response["Content-Security-Policy"] = policy(request.csp_nonce)
        return response
