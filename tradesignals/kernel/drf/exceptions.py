"""The one DRF exception handler: every error a view raises becomes the error envelope.

Kept apart from ``kernel.errors`` so services and selectors can raise ApplicationErrors without importing DRF.
"""
from __future__ import annotations

import logging

from rest_framework import exceptions as drf
from rest_framework.response import Response

from tradesignals.kernel.errors import (
    ApplicationError,
    MalformedRequest,
    MethodNotAllowed,
    NotAcceptable,
    NotAuthenticated,
    NotFound,
    PermissionDenied,
    RateLimited,
    TokenInvalid,
    UnsupportedMediaType,
    ValidationFailed,
    error_body,
    to_application_error,
)

logger = logging.getLogger("tradesignals.errors")


def _from_drf(exc) -> ApplicationError | None:
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
    if isinstance(exc, drf.NotAcceptable):
        return NotAcceptable()
    if isinstance(exc, drf.UnsupportedMediaType):
        return UnsupportedMediaType(str(exc.detail))
    if isinstance(exc, drf.Throttled):
        return RateLimited(retry_after=exc.wait or 60)
    return None


def exception_handler(exc, context):
    """The one DRF exception handler: every error becomes the envelope."""
    app_error = to_application_error(exc) or _from_drf(exc)
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
