"""OpenAPI glue shared by every slice: the kernel's two authentication schemes and the error envelope.

Imported from the kernel's AppConfig so every deployment (whatever its slices) documents both schemes.
"""
from __future__ import annotations

from django.conf import settings
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers


class BearerTokenScheme(OpenApiAuthenticationExtension):
    target_class = "tradesignals.kernel.drf.authentication.BearerTokenAuthentication"
    name = "bearerAuth"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer", "bearerFormat": "JWT",
                "description": "An access token from `POST /api/v1/auth/login` (15 minutes)."}


class CookieTokenScheme(OpenApiAuthenticationExtension):
    target_class = "tradesignals.kernel.drf.authentication.CookieTokenAuthentication"
    name = "cookieAuth"

    def get_security_definition(self, auto_schema):
        return {"type": "apiKey", "in": "cookie", "name": settings.AUTH_ACCESS_COOKIE,
                "description": "Set by the browser login at `/auth/login/`; unsafe methods also need CSRF."}


class ErrorBodySerializer(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()
    details = serializers.JSONField(allow_null=True)
    request_id = serializers.CharField(allow_null=True)


class ErrorEnvelopeSerializer(serializers.Serializer):
    error = ErrorBodySerializer()


_DESCRIPTIONS = {
    400: "validation_error / malformed_request",
    401: "not_authenticated / token_invalid",
    403: "permission_denied",
    404: "not_found",
    409: "conflict",
    412: "precondition_failed",
    413: "payload_too_large",
    415: "unsupported_media_type",
    429: "rate_limited (see Retry-After)",
    503: "service_unavailable",
}


def error_responses(*statuses: int) -> dict[int, OpenApiResponse]:
    """``extend_schema(responses={200: Out, **error_responses(400, 401)})``: the one error envelope."""
    return {status: OpenApiResponse(ErrorEnvelopeSerializer, description=_DESCRIPTIONS.get(status, "error"))
            for status in statuses}


def strip_trailing_slashes(result, generator, request, public):
    """Document API paths without the trailing slash (DESIGN §4); the slashed form is still accepted."""
    result["paths"] = {
        (path.rstrip("/") if path.startswith("/api/v1/") else path): item for path, item in result["paths"].items()
    }
    return result
