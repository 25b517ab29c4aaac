"""One application-error type and one error shape (the DRF handler is ``kernel.drf.exceptions``).

Every error under ``/api/`` is ``{"error": {code, message, details, request_id}}`` — never a stack
trace, never HTML.
"""
from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.http import Http404, JsonResponse

from tradesignals.kernel.context import current_request_id


def must_be_one_of(choices) -> str:
    """The one wording for a value outside its vocabulary (fields, filters and services alike); it names the
    choices and never echoes the input."""
    return f"Must be one of: {', '.join(str(choice) for choice in choices)}."


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


class NotAcceptable(ApplicationError):
    """The ``Accept`` header refuses every representation we have (``application/json;q=0``, ``image/png``)."""

    code, status, default_message = "not_acceptable", 406, "Could not satisfy the request Accept header."


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


TOO_MANY_FILES = "The form holds too many file parts; send one file."


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
    if isinstance(exc, TooManyFilesSent):  # a form of empty file parts (filename=""), which no handler sees
        return MalformedRequest(TOO_MANY_FILES)
    if isinstance(exc, Http404):
        return NotFound()
    if isinstance(exc, DjangoPermissionDenied):
        return PermissionDenied()
    if _is_database_unavailable(exc):
        return ServiceUnavailable("The database is unavailable; retry later.")
    if _is_write_conflict(exc):
        return Conflict("A concurrent change to the same data won; retry the request.")
    return None


def _is_write_conflict(exc: BaseException) -> bool:
    """A transaction lost to a concurrent one (WriteConflict, TransientTransactionError): the request may
    simply be retried, so it is a 409 ``conflict`` rather than a 500. Services retry where it is safe."""
    from pymongo.errors import OperationFailure

    return isinstance(exc, OperationFailure) and (
        exc.code == 112 or exc.has_error_label("TransientTransactionError"))


def _is_database_unavailable(exc: BaseException) -> bool:
    """MongoDB unreachable, timing out or electing a primary: a 503 the client may retry, never a 500.

    ``ConnectionFailure`` covers ServerSelectionTimeoutError, AutoReconnect, NetworkTimeout and pool wait
    timeouts; ``ExecutionTimeout`` is a query stopped by its ``maxTimeMS``.
    """
    from pymongo.errors import ConnectionFailure, ExecutionTimeout

    return isinstance(exc, (ConnectionFailure, ExecutionTimeout))
