"""OpenAPI glue shared by every slice: the kernel's two authentication schemes and the error envelope.

Imported from the kernel's AppConfig so every deployment (whatever its slices) documents both schemes.
"""
from __future__ import annotations

from django.conf import settings
from drf_spectacular.extensions import (
    OpenApiAuthenticationExtension,
    OpenApiSerializerExtension,
    OpenApiSerializerFieldExtension,
)
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


_STRICT_TEXT = "x-strict-text"
_BLANK = {"type": "string", "maxLength": 0}


class StrictTextSchema(OpenApiSerializerFieldExtension):
    """A strict text field's request schema says what the field takes (``StrictCharField.openapi_schema``:
    no NUL, no blank once trimmed, the normaliser's pattern); its responses stay plain strings.

    Its pattern decides about ``""`` too, so the ``oneOf: [..., {maxLength: 0}]`` drf-spectacular wraps
    around a patterned field with ``allow_blank`` is undone (``apply_body_schemas``): a blank the normaliser
    refuses is no valid value, and one the pattern takes would match both branches of the ``oneOf``."""

    target_class = "tradesignals.kernel.drf.fields.StrictCharField"
    match_subclasses = True

    def map_serializer_field(self, auto_schema, direction):
        schema = auto_schema._map_serializer_field(self.target, direction, bypass_extensions=True)
        if direction == "request":
            schema.update(self.target.openapi_schema(), **{_STRICT_TEXT: True})
        return schema


class StrictDecimalSchema(OpenApiSerializerFieldExtension):
    """A decimal is rendered as a string, and received as ``StrictDecimalField.openapi_schema`` says."""

    target_class = "tradesignals.kernel.drf.fields.StrictDecimalField"
    match_subclasses = True

    def map_serializer_field(self, auto_schema, direction):
        return self.target.openapi_schema(direction)


_BODY_SCHEMA = "x-body-schema"


class StrictBodySchema(OpenApiSerializerExtension):
    """Every strict request body refuses unknown fields (``additionalProperties: false``) and states what
    its serializer's ``body_schema`` declares about the whole body (merged by ``apply_body_schemas``, after
    drf-spectacular has made components of the fields' enums: its own enums are no fields)."""

    target_class = "tradesignals.kernel.drf.fields.StrictInputSerializer"
    match_subclasses = True

    def map_serializer(self, auto_schema, direction):
        schema = auto_schema._map_serializer(self.target, direction, bypass_extensions=True)
        if direction == "request":
            schema["additionalProperties"] = False
            if self.target.body_schema:
                schema[_BODY_SCHEMA] = self.target.body_schema
        return schema


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
    414: "uri_too_long (the gateway: a request line past 8 KiB)",
    415: "unsupported_media_type",
    429: "rate_limited (see Retry-After)",
    431: "headers_too_large (the gateway: headers past its buffers)",
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
    security store down), and the gateway refuses an over-long URL (414) or over-large headers (431) before
    any instance sees them (as the same envelope); every operation with a body can meet a too-large body
    (413), a wrong content type (415) or unparsable JSON (400); every authenticated one can meet a bad token
    (401).
    """
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    schemas.setdefault("ErrorEnvelope", _envelope_schema())
    for path, item in result.get("paths", {}).items():
        if not path.startswith("/api/v1/"):
            continue
        for method, operation in item.items():
            if method not in {"get", "put", "post", "patch", "delete"}:
                continue
            statuses = [414, 429, 431, 503]
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


def apply_body_schemas(result, generator, request, public):
    """Merge each strict body's ``body_schema`` (see ``StrictBodySchema``) into its component. A body that
    must hold something (a required field, ``minProperties``) is then a required body: sent without one,
    the request is read as ``{}`` and refused."""
    components = result.get("components", {}).get("schemas", {})
    for component in components.values():
        component.update(component.pop(_BODY_SCHEMA, {}))
    _undo_blank_branches(result)
    for item in result.get("paths", {}).values():
        for operation in item.values():
            body = operation.get("requestBody") if isinstance(operation, dict) else None
            for content in (body or {}).get("content", {}).values():
                ref = content.get("schema", {}).get("$ref", "")
                component = components.get(ref.rsplit("/", 1)[-1], {})
                if component.get("required") or component.get("minProperties"):
                    body["required"] = True
    return result


def _undo_blank_branches(node) -> None:
    """Every strict text schema (marked by ``StrictTextSchema``) loses its marker, its blank branch, and a
    ``format`` it declared as none."""
    if isinstance(node, list):
        for item in node:
            _undo_blank_branches(item)
        return
    if not isinstance(node, dict):
        return
    branches = node.get("oneOf")
    if isinstance(branches, list) and len(branches) == 2 and branches[1] == _BLANK and branches[0].get(_STRICT_TEXT):
        node.update(node.pop("oneOf")[0])
    if node.pop(_STRICT_TEXT, None) and "format" in node and node["format"] is None:
        del node["format"]  # a strict field that names no format (StrictURLField)
    for value in node.values():
        _undo_blank_branches(value)


def empty_query_is_absent(result, generator, request, public):
    """Every optional query parameter of the API reads an empty value as no value (``?status=`` filters
    nothing, ``?limit=`` is the default page, ``?cursor=`` the first page): ``allowEmptyValue`` says so."""
    for path, item in result.get("paths", {}).items():
        if not path.startswith("/api/v1/"):
            continue
        for operation in item.values():
            for parameter in operation.get("parameters", []) if isinstance(operation, dict) else []:
                if parameter.get("in") == "query" and not parameter.get("required"):
                    parameter["allowEmptyValue"] = True
    return result


def _envelope_schema() -> dict:
    body = {"type": "object", "required": ["code", "message", "details", "request_id"], "properties": {
        "code": {"type": "string"}, "message": {"type": "string"}, "details": {"nullable": True},
        "request_id": {"type": "string", "nullable": True}}}
    return {"type": "object", "required": ["error"], "properties": {"error": body}}
