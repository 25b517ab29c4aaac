"""Conditional writes on signals: the If-Match a client sends (naming a version) and the response a write
answers with (its new version's strong tag). Cached reads and If-None-Match are the kernel's
(``kernel.drf.conditional``).
"""
from __future__ import annotations

from rest_framework import status as http
from rest_framework.response import Response

from apps.signals.api.serializers import SignalDetailOutputSerializer
from tradesignals.kernel.drf.conditional import MAX_TAG_HEADER_LENGTH, PRIVATE, CachedResponseMixin, entity_tags
from tradesignals.kernel.numbers import parse_ascii_int

__all__ = ["PRIVATE", "CachedResponseMixin", "parse_if_match", "written"]


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
    tags = entity_tags(header) if len(header) <= MAX_TAG_HEADER_LENGTH else None
    versions = (_version_of(tag) for weak, tag in tags or () if not weak)
    return frozenset(version for version in versions if version is not None)


def written(signal, *, status: int = http.HTTP_200_OK, headers: dict | None = None) -> Response:
    response = Response(SignalDetailOutputSerializer(signal).data, status=status)
    response["ETag"] = f'"v{signal.version}"'
    response["Cache-Control"] = "no-store"
    for name, value in (headers or {}).items():
        response[name] = value
    return response

