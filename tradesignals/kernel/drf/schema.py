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
    406: "not_acceptable (the Accept header refuses JSON)",
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


_ERROR_REF = {"$ref": "#/components/schemas/ErrorEnvelope"}


def document_common_errors(result, generator, request, public):
    """Document the errors any API operation can answer, whatever its view declares.

    Every ``/api/v1`` operation passes the gateway budget (429) and needs its stores (503: MongoDB or the
    security store down); every operation with a body can meet a too-large body (413), a wrong content type
    (415) or unparsable JSON (400); every authenticated one can meet a bad token (401).
    """
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    schemas.setdefault("ErrorEnvelope", _envelope_schema())
    for path, item in result.get("paths", {}).items():
        if not path.startswith("/api/v1/"):
            continue
        for method, operation in item.items():
            if method not in {"get", "put", "post", "patch", "delete"}:
                continue
            statuses = [429, 503]
            if operation.get("requestBody"):
                statuses += [400, 413, 415]
            if any(requirement for requirement in operation.get("security", [{}])):
                statuses.append(401)
            responses = operation.setdefault("responses", {})
            for status in statuses:
                responses.setdefault(str(status), {
                    "content": {"application/json": {"schema": dict(_ERROR_REF)}},
                    "description": _DESCRIPTIONS[status],
                })
    return result


def _envelope_schema() -> dict:
    body = {"type": "object", "required": ["code", "message", "details", "request_id"], "properties": {
        "code": {"type": "string"}, "message": {"type": "string"}, "details": {"nullable": True},
        "request_id": {"type": "string", "nullable": True}}}
    return {"type": "object", "required": ["error"], "properties": {"error": body}}
