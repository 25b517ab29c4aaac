"""Request-level middleware: request ids, access log, early body-size refusal, no-store by default."""
from __future__ import annotations

import logging
import re
import time
import uuid

from django.conf import settings

from tradesignals.kernel.context import request_id_var
from tradesignals.kernel.errors import error_response
from tradesignals.kernel.numbers import parse_ascii_int

# fullmatch, after a length check: with ``$`` a trailing newline matched too, and "abcdefgh\n" echoed into
# the X-Request-ID response header fails the response (Django refuses a newline in a header value).
_VALID_REQUEST_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:\-]{7,127}")
_REQUEST_ID_MAX = 128
access_logger = logging.getLogger("tradesignals.access")


class RequestIdMiddleware:
    """Keep a well-formed incoming ``X-Request-ID``; replace anything else with a fresh one."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        incoming = request.META.get("HTTP_X_REQUEST_ID", "")
        valid = len(incoming) <= _REQUEST_ID_MAX and _VALID_REQUEST_ID.fullmatch(incoming)
        request_id = incoming if valid else uuid.uuid4().hex
        request.request_id = request_id
        token = request_id_var.set(request_id)
        try:
            response = self.get_response(request)
        finally:
            request_id_var.reset(token)
        response["X-Request-ID"] = request_id
        return response


class AccessLogMiddleware:
    """One JSON line per request: method, path, status, duration."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.perf_counter()
        response = self.get_response(request)
        access_logger.info(
            "request",
            extra={
                "method": request.method,
                "path": request.path,
                "status": response.status_code,
                "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                "request_id": getattr(request, "request_id", None),
            },
        )
        return response


class BodySizeLimitMiddleware:
    """Refuse a declared oversize body with 413 before anything reads it.

    The limit is ``DATA_UPLOAD_MAX_MEMORY_SIZE`` unless the routed view widens it with a ``max_body_bytes()``
    class method (the image upload routes); a body beyond every route's limit is refused before routing.
    Bodies without a Content-Length (chunked) are still capped when read: by Django's
    ``DATA_UPLOAD_MAX_MEMORY_SIZE`` (the exception handler maps it to 413) or by the upload handler.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def _length(self, request) -> int | None:
        raw = request.META.get("CONTENT_LENGTH") or ""
        return parse_ascii_int(raw) if raw else 0  # ASCII digits only: int() would read " 5", "5_0" and "５"

    def __call__(self, request):
        try:
            length = self._length(request)
        except ValueError:
            return error_response("malformed_request", "Invalid Content-Length header.", 400)
        ceiling = max(settings.DATA_UPLOAD_MAX_MEMORY_SIZE, settings.IMAGE_UPLOAD_MAX_BODY_BYTES)
        if length > ceiling:
            return _too_large(_route_limit(request.path_info))
        request._ts_body_length = length
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        widen = getattr(getattr(view_func, "cls", None), "max_body_bytes", None)
        limit = widen() if widen is not None else settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        if getattr(request, "_ts_body_length", 0) > limit:
            return _too_large(limit)
        return None


def _route_limit(path: str) -> int:
    """The limit the route of ``path`` has (resolved only for a body already refused: the message names the
    limit that applies, so a client is not told to shrink an upload below what its route accepts)."""
    from django.urls import Resolver404, resolve

    try:
        widen = getattr(getattr(resolve(path).func, "cls", None), "max_body_bytes", None)
    except Resolver404:
        widen = None
    return widen() if widen is not None else settings.DATA_UPLOAD_MAX_MEMORY_SIZE


def _too_large(limit: int):
    return error_response("payload_too_large", f"The request body exceeds {limit} bytes.", 413)


class NoStoreByDefaultMiddleware:
    """``Cache-Control: no-store`` on every API response that does not choose its own caching.

    Tokens (register, login, refresh), sessions, audit entries and profiles must never sit in a shared or
    browser cache. Making ``no-store`` the default means a new endpoint is safe until it opts into caching
    deliberately (the signal lists and details set ``public``/``private`` policies with ETags themselves).
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if request.path.startswith(("/api/", "/auth/")) and not response.has_header("Cache-Control"):
            response["Cache-Control"] = "no-store"
        return response
