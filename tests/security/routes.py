"""The URL resolver as data: every route of the running configuration, with its view and an OpenAPI-style path.

Abuse-case tests enumerate routes from here rather than from a hand-written list, so a route added later is
covered (or makes a test fail until someone decides how it is covered).
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from django.urls import URLPattern, URLResolver, get_resolver

_GROUP = re.compile(r"\(\?P<(\w+)>[^)]*\)")
_CONVERTER = re.compile(r"<(?:\w+:)?(\w+)>")
METHODS = ("get", "post", "put", "patch", "delete")


@dataclass(frozen=True)
class Route:
    path: str          # "/api/v1/trade-signals/{signal_id}/status"
    callback: object
    name: str | None

    @property
    def view_class(self):
        return getattr(self.callback, "cls", None) or getattr(self.callback, "view_class", None)

    def methods(self) -> list[str]:
        cls = self.view_class
        if cls is None:
            return []
        return [m for m in METHODS if hasattr(cls, m)]


def _clean(piece: str) -> str:
    piece = piece.lstrip("^").rstrip("$")
    if piece.endswith("/?"):
        piece = piece[:-2]
    piece = _GROUP.sub(lambda m: "{" + m.group(1) + "}", piece)
    return _CONVERTER.sub(lambda m: "{" + m.group(1) + "}", piece)


def _walk(patterns, prefix: str):
    for pattern in patterns:
        piece = _clean(str(pattern.pattern))
        if isinstance(pattern, URLResolver):
            yield from _walk(pattern.url_patterns, prefix + piece)
        elif isinstance(pattern, URLPattern):
            path = "/" + (prefix + piece)
            yield Route(path=path.rstrip("/") if path.startswith("/api/v1/") else path,
                        callback=pattern.callback, name=pattern.name)


def all_routes() -> list[Route]:
    return list(_walk(get_resolver().url_patterns, ""))


def api_operations() -> list[tuple[str, str, object]]:
    """(METHOD, path, view class) of every DRF operation under /api/v1/."""
    result = []
    for route in all_routes():
        if route.path.startswith("/api/v1/") and route.view_class is not None:
            result.extend((method.upper(), route.path, route.view_class) for method in route.methods())
    return result


def concrete(path: str, **values) -> str:
    """Fill ``{name}`` placeholders (default: a well-formed id that exists nowhere)."""
    return re.sub(r"\{(\w+)\}", lambda m: values.get(m.group(1), "a" * 24), path)
