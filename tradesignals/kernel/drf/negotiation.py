"""Content negotiation with a shortcut for the requests almost every client sends, and HTTP's ``q=0``.

DRF parses the ``Accept`` header into media types and walks every renderer for each request. API clients send
no ``Accept``, ``*/*`` or ``application/json``; for those the answer is always the first renderer (JSON), so it
is returned without the parse. Anything else (a browser asking for HTML, ``?format=``, a format suffix, a
header with quality values) goes through DRF's negotiation, with one correction: DRF ignores ``q``, so
``Accept: application/json;q=0`` ("anything but JSON") got JSON with a 200. Here a renderer whose most
specific matching media range has ``q=0`` is refused (RFC 9110 §12.5.1), and when every renderer is refused
the answer is a 406 (``not_acceptable``, in the error envelope; the error body itself is JSON, as HTTP allows).
Among the renderers left, DRF chooses as before (the most specific media range first, then renderer order).

Cached views (stored bytes in a plain ``HttpResponse``) are ``APIView`` s: DRF negotiates in ``initial()``,
before the handler runs, so the same 406 applies to them.
"""
from __future__ import annotations

from rest_framework import exceptions
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.utils.mediatypes import _MediaType

_PLAIN = frozenset({None, "", "*/*", "application/json"})


def _refuses(media_range: _MediaType) -> bool:
    """``q=0`` (``0``, ``0.0``, ``0.000``); an unparsable ``q`` is ignored, as before."""
    try:
        return float(media_range.params.get("q", "1")) == 0
    except ValueError:
        return False


class ApiContentNegotiation(DefaultContentNegotiation):
    def select_renderer(self, request, renderers, format_suffix=None):
        first = renderers[0] if renderers else None
        if (first is not None and first.format == "json" and not format_suffix
                and request.META.get("HTTP_ACCEPT") in _PLAIN
                and self.settings.URL_FORMAT_OVERRIDE not in request.GET):
            return first, first.media_type
        ranges = [_MediaType(token) for token in super().get_accept_list(request)]
        if any(_refuses(media_range) for media_range in ranges):
            wanted = format_suffix or request.query_params.get(self.settings.URL_FORMAT_OVERRIDE)
            if wanted:  # ?format=json with JSON refused is a 406, not the 404 of an unknown format
                renderers = self.filter_renderers(renderers, wanted)
            allowed = [renderer for renderer in renderers if not self._refused(renderer, ranges)]
            if not allowed:
                raise exceptions.NotAcceptable(available_renderers=renderers)
            renderers = allowed
        return super().select_renderer(request, renderers, format_suffix)

    def get_accept_list(self, request):
        """The client's media ranges without the refused ones (refusal is applied to the renderers above)."""
        return [token for token in super().get_accept_list(request) if not _refuses(_MediaType(token))]

    @staticmethod
    def _refused(renderer, ranges: list[_MediaType]) -> bool:
        own = _MediaType(renderer.media_type)
        matching = [media_range for media_range in ranges if own.match(media_range)]
        if not matching:
            return False  # not asked for at all: DRF's own matching leaves it out
        return _refuses(max(matching, key=lambda media_range: media_range.precedence))
