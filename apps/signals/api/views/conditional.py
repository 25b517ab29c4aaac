"""Conditional requests on signals: the entity tags a client sends (If-Match, If-None-Match) and the responses
that carry ours — cached bytes answered as they are (or as a 304), and a write's new version.

Entity tags are read in one pass with ``str.find``, bounded before they are read: a hostile header costs
time linear in a length the gateway already limits, and a malformed one names no version (a 412 for
If-Match, a full 200 for If-None-Match — both always safe).
"""
from __future__ import annotations

import json

from django.http import HttpResponse, HttpResponseNotModified
from rest_framework import status as http
from rest_framework.response import Response

from apps.signals.api.serializers import SignalDetailOutputSerializer
from tradesignals.kernel.drf.fields import DecimalJSONParser
from tradesignals.kernel.numbers import parse_ascii_int

_MAX_IF_MATCH_LENGTH = 2048  # some 100 entity tags; a longer header names no version of ours
PRIVATE = "private, no-cache"


def _entity_tags(header: str) -> list[tuple[bool, str]] | None:
    """``#entity-tag`` (RFC 9110 §8.8.3) as ``(weak, opaque-tag)`` pairs, or ``None`` if it is malformed.
    One pass with ``str.find``: every character is looked at a bounded number of times."""
    tags, position, length = [], 0, len(header)
    while True:
        while position < length and header[position] in " \t,":
            position += 1
        if position == length:
            return tags
        weak = header.startswith("W/", position)
        if weak:
            position += 2
        if not header.startswith('"', position):
            return None
        end = header.find('"', position + 1)
        if end < 0:
            return None
        tags.append((weak, header[position:end + 1]))
        position = end + 1
        while position < length and header[position] in " \t":
            position += 1
        if position < length and header[position] != ",":
            return None


def _version_of(tag: str) -> int | None:
    """The version a strong tag of ours names: exactly ``"v<n>"`` as ``written`` sends it (no leading zero)."""
    digits = tag[2:-1]
    if not tag.startswith('"v') or (digits[:1] == "0" and digits != "0"):
        return None
    try:
        return parse_ascii_int(digits)
    except ValueError:
        return None


def parse_if_match(request) -> frozenset[int] | None:
    """The versions an ``If-Match`` names, compared strongly (RFC 9110 §13.1.1): only an exact strong tag of
    ours (``"v3"``) names a version; ``W/"v3"``, ``v3``, ``3`` or a malformed header name none, so they never
    match (412, like a stale tag). ``*`` or no header → no precondition. A list matches if any tag does."""
    header = request.META.get("HTTP_IF_MATCH")
    if header is None:
        return None
    if header.strip(" \t") == "*":
        return None
    tags = _entity_tags(header) if len(header) <= _MAX_IF_MATCH_LENGTH else None
    versions = (_version_of(tag) for weak, tag in tags or () if not weak)
    return frozenset(version for version in versions if version is not None)


def _not_modified(request, etag: str) -> bool:
    """``If-None-Match`` uses the weak comparison (RFC 9110 §13.1.2): ``W/"x"`` matches ``"x"``."""
    header = request.META.get("HTTP_IF_NONE_MATCH")  # META, not request.headers: no header dict per request
    if not header or len(header) > _MAX_IF_MATCH_LENGTH:
        return False
    if header.strip(" \t") == "*":
        return True
    # The same entity-tag reader as If-Match; a malformed header names nothing (a full 200 is always safe).
    return etag.removeprefix("W/") in {tag for _weak, tag in _entity_tags(header) or ()}


class CachedResponseMixin:
    parser_classes = [DecimalJSONParser]

    def cached_response(self, request, *, body: bytes, etag: str, hit: bool, cache_control: str):
        headers = {"ETag": etag, "Cache-Control": cache_control, "X-Cache": "hit" if hit else "miss",
                   "Vary": "Accept, Authorization, Cookie"}
        if _not_modified(request, etag):
            response = HttpResponseNotModified()
        elif getattr(request, "accepted_renderer", None) is None or request.accepted_renderer.format == "json":
            response = HttpResponse(body, content_type="application/json")
        else:  # the browsable API renders the same data as HTML
            response = Response(json.loads(body))
        for name, value in headers.items():
            response[name] = value
        return response


def written(signal, *, status: int = http.HTTP_200_OK, headers: dict | None = None) -> Response:
    response = Response(SignalDetailOutputSerializer(signal).data, status=status)
    response["ETag"] = f'"v{signal.version}"'
    response["Cache-Control"] = "no-store"
    for name, value in (headers or {}).items():
        response[name] = value
    return response

