"""Content negotiation with a shortcut for the requests almost every client sends.

DRF parses the ``Accept`` header into media types and walks every renderer for each request. API clients send
no ``Accept``, ``*/*`` or ``application/json``; for those the answer is always the first renderer (JSON), so it
is returned without the parse. Anything else (a browser asking for HTML, ``?format=``, a format suffix) goes
through DRF's full negotiation unchanged.
"""
from __future__ import annotations

from rest_framework.negotiation import DefaultContentNegotiation

_PLAIN = frozenset({None, "", "*/*", "application/json"})


class ApiContentNegotiation(DefaultContentNegotiation):
    def select_renderer(self, request, renderers, format_suffix=None):
        first = renderers[0] if renderers else None
        if (first is not None and first.format == "json" and not format_suffix
                and request.META.get("HTTP_ACCEPT") in _PLAIN
                and self.settings.URL_FORMAT_OVERRIDE not in request.GET):
            return first, first.media_type
        return super().select_renderer(request, renderers, format_suffix)
