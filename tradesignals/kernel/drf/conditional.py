"""Cached responses over HTTP: the stored bytes answered as they are (or as a 304), the entity tags a client
sends, and what every cached read documents — the one way a view answers from ``kernel.cache.read_rendered``.

Entity tags are read in one pass with ``str.find``, bounded before they are read: a hostile header costs
time linear in a length the gateway already limits, and a malformed one names nothing (a full 200 for
If-None-Match, always safe; an app's If-Match reader turns it into a 412).
"""
from __future__ import annotations

import json

from django.http import HttpResponse, HttpResponseNotModified
from drf_spectacular.utils import OpenApiParameter
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response

from tradesignals.kernel.drf.fields import DecimalJSONParser

MAX_TAG_HEADER_LENGTH = 2048  # some 100 entity tags; a longer header names nothing of ours
PRIVATE = "private, no-cache"

_json = JSONRenderer()


def render_json(data) -> bytes:
    """The bytes a cached read stores and answers with (DRF's JSON renderer, as an uncached view would)."""
    return _json.render(data)


def entity_tags(header: str) -> list[tuple[bool, str]] | None:
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


def not_modified(request, etag: str) -> bool:
    """``If-None-Match`` uses the weak comparison (RFC 9110 §13.1.2): ``W/"x"`` matches ``"x"``."""
    header = request.META.get("HTTP_IF_NONE_MATCH")  # META, not request.headers: no header dict per request
    if not header or len(header) > MAX_TAG_HEADER_LENGTH:
        return False
    if header.strip(" \t") == "*":
        return True
    return etag.removeprefix("W/") in {tag for _weak, tag in entity_tags(header) or ()}


class CachedResponseMixin:
    """A view that answers cached reads: ``cached_response`` sends the stored bytes (JSON), the same data as
    the browsable API's HTML, or a 304 — with the entry's ETag, ``X-Cache`` and the ``Vary`` every cached
    read needs (the bytes differ by viewer class, never by anything else)."""

    parser_classes = [DecimalJSONParser]

    def cached_response(self, request, *, body: bytes, etag: str, hit: bool, cache_control: str):
        headers = {"ETag": etag, "Cache-Control": cache_control, "X-Cache": "hit" if hit else "miss",
                   "Vary": "Accept, Authorization, Cookie"}
        if not_modified(request, etag):
            response = HttpResponseNotModified()
        elif getattr(request, "accepted_renderer", None) is None or request.accepted_renderer.format == "json":
            response = HttpResponse(body, content_type="application/json")
        else:  # the browsable API renders the same data as HTML
            response = Response(json.loads(body))
        for name, value in headers.items():
            response[name] = value
        return response


# -- what every cached read documents ---------------------------------------------------------------------
IF_NONE_MATCH = OpenApiParameter("If-None-Match", str, OpenApiParameter.HEADER, required=False,
                                 description="A previously received ETag; unchanged → 304.")
_ENTITY_TAG = {"type": "string", "pattern": '^(?:W/)?"[!#-~]*"$'}  # RFC 9110 entity-tag


def read_headers(*statuses: int) -> list[OpenApiParameter]:
    """What ``cached_response`` sends with every answer it gives (a 304 included)."""
    return [
        OpenApiParameter("ETag", _ENTITY_TAG, OpenApiParameter.HEADER, required=True, response=list(statuses),
                         description="Tag of this representation, for If-None-Match (the gateway weakens it "
                                     "to W/ when it compresses a list)."),
        OpenApiParameter("X-Cache", {"type": "string", "enum": ["hit", "miss"]}, OpenApiParameter.HEADER,
                         required=True, response=list(statuses),
                         description="hit: served from the rendered-response cache; miss: read from MongoDB."),
    ]
