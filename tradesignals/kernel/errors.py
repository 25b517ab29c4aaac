"""One application-error type, one error shape, one DRF exception handler.

Every error under ``/api/`` is ``{"error": {code, message, details, request_id}}`` — never a stack
trace, never HTML.
"""
from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent
from django.http import Http404, JsonResponse

from tradesignals.kernel.context import current_request_id

logger = logging.getLogger("tradesignals.errors")


class ApplicationError(Exception):
    """Base for every error the product raises on purpose."""

    code = "internal_error"
    status = 500
    default_message = "Something went wrong."

    def __init__(self, message: str | None = None, *, details: Any = None, headers: dict | None = None):
        self.message = message or self.default_message
        self.details = details
        self.headers = headers or {}
        super().__init__(self.message)


class ValidationFailed(ApplicationError):
    code, status, default_message = "validation_error", 400, "The request is invalid."


class MalformedRequest(ApplicationError):
    code, status, default_message = "malformed_request", 400, "The request body could not be parsed."


class NotAuthenticated(ApplicationError):
    code, status, default_message = "not_authenticated", 401, "Authentication credentials were not provided."


class TokenInvalid(ApplicationError):
    code, status, default_message = "token_invalid", 401, "The token is invalid or expired."


class PermissionDenied(ApplicationError):
    code, status, default_message = "permission_denied", 403, "You do not have permission to do this."


class NotFound(ApplicationError):
    code, status, default_message = "not_found", 404, "Not found."


class MethodNotAllowed(ApplicationError):
    code, status, default_message = "method_not_allowed", 405, "Method not allowed."


class Conflict(ApplicationError):
    code, status, default_message = "conflict", 409, "The request conflicts with the current state."


class PreconditionFailed(ApplicationError):
    code, status, default_message = "precondition_failed", 412, "The resource has changed; reload it."


class PayloadTooLarge(ApplicationError):
    code, status, default_message = "payload_too_large", 413, "The request body is too large."


class UnsupportedMediaType(ApplicationError):
    code, status, default_message = "unsupported_media_type", 415, "Unsupported media type."


class RateLimited(ApplicationError):
    code, status, default_message = "rate_limited", 429, "Too many requests; retry later."

    def __init__(self, message: str | None = None, *, retry_after: int = 60, **kwargs):
        super().__init__(message, **kwargs)
        self.headers["Retry-After"] = str(max(1, int(retry_after)))


class ServiceUnavailable(ApplicationError):
    code, status, default_message = "service_unavailable", 503, "A backing service is unavailable; retry later."


def error_body(code: str, message: str, details: Any = None) -> dict:
    return {"error": {"code": code, "message": message, "details": details, "request_id": current_request_id()}}


def error_response(code: str, message: str, status: int, details: Any = None, headers: dict | None = None):
    """A plain Django JSON error response (for middleware and handler404/500)."""
    response = JsonResponse(error_body(code, message, details), status=status)
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def _from_drf(exc) -> ApplicationError | None:
    from rest_framework import exceptions as drf

    if isinstance(exc, drf.ValidationError):
        details = exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail}
        return ValidationFailed(details=details)
    if isinstance(exc, drf.ParseError):
        return MalformedRequest(str(exc.detail))
    if isinstance(exc, drf.NotAuthenticated):
        return NotAuthenticated()
    if isinstance(exc, drf.AuthenticationFailed):
        return TokenInvalid(str(exc.detail))
    if isinstance(exc, drf.PermissionDenied):
        return PermissionDenied(str(exc.detail) if exc.detail != drf.PermissionDenied.default_detail else None)
    if isinstance(exc, drf.NotFound):
        return NotFound()
    if isinstance(exc, drf.MethodNotAllowed):
        return MethodNotAllowed(str(exc.detail))
    if isinstance(exc, drf.UnsupportedMediaType):
        return UnsupportedMediaType(str(exc.detail))
    if isinstance(exc, drf.Throttled):
        return RateLimited(retry_after=exc.wait or 60)
    return None


def to_application_error(exc: BaseException) -> ApplicationError | None:
    """Map any known exception to an ApplicationError; None means unexpected (→ 500)."""
    from django_ratelimit.exceptions import Ratelimited

    if isinstance(exc, ApplicationError):
        return exc
    if isinstance(getattr(exc, "app_error", None), ApplicationError):  # wrapped for DRF's auth machinery
        return exc.app_error
    if isinstance(exc, Ratelimited):
        return RateLimited()
    if isinstance(exc, (RequestDataTooBig, TooManyFieldsSent)):
        return PayloadTooLarge()
    if isinstance(exc, Http404):
        return NotFound()
    if isinstance(exc, DjangoPermissionDenied):
        return PermissionDenied()
    return _from_drf(exc)


def exception_handler(exc, context):
    """The one DRF exception handler: every error becomes the envelope."""
    from rest_framework.exceptions import NotAcceptable
    from rest_framework.response import Response

    if isinstance(exc, NotAcceptable):
        return Response(error_body("not_acceptable", str(exc.detail)), status=406)
    app_error = to_application_error(exc)
    if app_error is None:
        logger.exception("unhandled error", exc_info=exc)
        app_error = ApplicationError()
    elif app_error.status >= 500:
        logger.warning("service error: %s", app_error.message)
    response = Response(error_body(app_error.code, app_error.message, app_error.details), status=app_error.status)
    for name, value in app_error.headers.items():
        response[name] = value
    auth_header = getattr(exc, "auth_header", None)
    if app_error.status == 401:
        response["WWW-Authenticate"] = auth_header or 'Bearer realm="api"'
    return response
