"""API routes accept an optional trailing slash, without a redirect: with or without one, a client reaches the
same view (a redirect would drop a POST body in some clients)."""
from django.urls import re_path


def api_route(pattern: str, view, name: str | None = None):
    """``api_route(r"sessions/(?P<session_id>[^/]+)", View.as_view())`` matches with or without ``/``."""
    pattern = pattern.strip("/")
    regex = rf"^{pattern}/?$" if pattern else r"^/?$"
    return re_path(regex, view, name=name)
