"""OpenAPI glue shared by every slice: the kernel's two authentication schemes and the error envelope.

Imported from the kernel's AppConfig so every deployment (whatever its slices) documents both schemes.
"""
from __future__ import annotations

import copy

from django.conf import settings
from django.utils.module_loading import import_string
from drf_spectacular.extensions import (
    OpenApiAuthenticationExtension,
    OpenApiSerializerExtension,
    OpenApiSerializerFieldExtension,
)
from drf_spectacular.settings import spectacular_settings
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
    refuses is no valid value, and one the pattern takes would match both branches of the ``oneOf``.

    drf-spectacular merges the field's own facts (``minLength: 1`` of a non-blank field) over what an
    extension returns, so the declared facts ride along under a marker and are applied again, last, by
    ``apply_body_schemas``: a password's ``minLength`` is the policy's, not the 1 of "not blank"."""

    target_class = "tradesignals.kernel.drf.fields.StrictCharField"
    match_subclasses = True

    def map_serializer_field(self, auto_schema, direction):
        schema = auto_schema._map_serializer_field(self.target, direction, bypass_extensions=True)
        if direction == "request":
            facts = self.target.openapi_schema()
            schema.update(facts, **{_STRICT_TEXT: facts})
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
            _list_bounds(self.target, schema)
            if self.target.body_schema:
                schema[_BODY_SCHEMA] = self.target.body_schema
        return schema


def _list_bounds(serializer, schema: dict) -> None:
    """A nested list's ``min_length`` / ``max_length`` as ``minItems`` / ``maxItems``, which drf-spectacular leaves
    out for a list of serializers: a client must know an empty or oversized batch is refused."""
    fields = serializer.fields if isinstance(serializer, serializers.BaseSerializer) else serializer().fields
    for name, field in fields.items():
        prop = schema.get("properties", {}).get(name)
        if isinstance(field, serializers.ListSerializer) and isinstance(prop, dict):
            if field.min_length is not None:
                prop["minItems"] = field.min_length
            if field.max_length is not None:
                prop["maxItems"] = field.max_length


class ErrorBodySerializer(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()
    # Any JSON value (no type, so null too): null, or an object naming each refused field with its messages.
    details = serializers.JSONField(help_text="null, or an object naming each refused field with its messages.")
    request_id = serializers.CharField(allow_null=True)


class ErrorEnvelopeSerializer(serializers.Serializer):
    error = ErrorBodySerializer()


_DESCRIPTIONS = {
    400: "validation_error / malformed_request",
    401: "not_authenticated / token_invalid",
    403: "permission_denied",
    404: "not_found",
    405: "method_not_allowed (a method this path does not document; Allow names those it does)",
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
    """Document API paths without the trailing slash (the canonical spelling); the slashed form is still accepted."""
    result["paths"] = {
        (path.rstrip("/") if path.startswith("/api/v1/") else path): item for path, item in result["paths"].items()
    }
    return result


_ERROR_REF = {"$ref": "#/components/schemas/ErrorEnvelope"}
# Headers every error of a status carries, wherever it is answered (the app or the gateway).
_ERROR_HEADERS = {
    401: {"WWW-Authenticate": {"required": True, "schema": {"type": "string"},
                               "description": 'The scheme to authenticate with (Bearer realm="api").'}},
    405: {"Allow": {"required": True, "schema": {"type": "string"},
                    "description": "The methods this path documents."}},
    429: {"Retry-After": {"required": True, "schema": {"type": "integer", "minimum": 1},
                          "description": "Seconds to wait before retrying."}},
    503: {"Retry-After": {"required": False, "schema": {"type": "integer", "minimum": 1},
                          "description": "Seconds to wait before retrying (sent by the gateway)."}},
}


def document_common_errors(result, generator, request, public):
    """Document the errors any API operation can answer, whatever its view declares, with their headers.

    Every ``/api/v1`` operation passes the gateway budget (429) and needs its stores (503: MongoDB or the
    security store down), and the gateway refuses an over-long URL (414) or over-large headers (431) before
    any instance sees them (as the same envelope); every operation can meet an ``Accept`` that refuses JSON
    (406), and its path a method it does not document (405, with ``Allow``: OpenAPI has no place for an
    undocumented method's answer, so each operation of the path names it); every operation with a body can
    meet a too-large body (413), a wrong content type (415) or unparsable JSON (400); every authenticated one
    can meet a bad token (401, with ``WWW-Authenticate``).
    """
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    schemas.setdefault("ErrorEnvelope", _envelope_schema())
    for path, item in result.get("paths", {}).items():
        if not path.startswith("/api/v1/"):
            continue
        for method, operation in item.items():
            if method not in {"get", "put", "post", "patch", "delete"}:
                continue
            statuses = [405, 406, 414, 429, 431, 503]
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
            for status, headers in _ERROR_HEADERS.items():
                if str(status) in responses:
                    responses[str(status)].setdefault("headers", {}).update(copy.deepcopy(headers))
    return result


def inline_nullable_objects(result, generator, request, public):
    """A nullable nested object, which drf-spectacular writes as ``allOf: [$ref]`` + ``nullable``, becomes
    the referenced object itself with ``nullable: true``. Under OpenAPI 3.0.3 ``nullable`` only widens the
    ``type`` of its own schema object, and an ``allOf`` has none, so strict validators (openapi-core) refuse
    ``null`` there: every pending signal's ``"review": null``. Inlined, the object schema carries both."""
    components = result.get("components", {}).get("schemas", {})
    inlined: set[str] = set()

    def visit(node) -> None:
        if isinstance(node, list):
            for item in node:
                visit(item)
            return
        if not isinstance(node, dict):
            return
        branches = node.get("allOf")
        if node.get("nullable") is True and isinstance(branches, list) and len(branches) == 1 \
                and set(branches[0]) == {"$ref"}:
            name = node.pop("allOf")[0]["$ref"].rsplit("/", 1)[-1]
            inlined.add(name)
            target = components[name]
            own = dict(node)
            node.clear()
            node.update(copy.deepcopy(target), **own)
        for value in node.values():
            visit(value)

    visit(result.get("paths", {}))
    visit(components)
    # A component every use of which is now inline is referenced no more.
    referenced = set(_references(result))
    for name in inlined:
        if f"#/components/schemas/{name}" not in referenced:
            del components[name]
    return result


def _references(node):
    if isinstance(node, list):
        for item in node:
            yield from _references(item)
    elif isinstance(node, dict):
        if isinstance(node.get("$ref"), str):
            yield node["$ref"]
        for value in node.values():
            yield from _references(value)


def _vocabularies() -> dict[frozenset, tuple[str, list]]:
    """``ENUM_NAME_OVERRIDES`` read as vocabularies: the set of values → (component name, values in order)."""
    vocabularies = {}
    for name, choices in spectacular_settings.ENUM_NAME_OVERRIDES.items():
        choices = import_string(choices) if isinstance(choices, str) else choices
        values = [choice[0] if isinstance(choice, (list, tuple)) else choice for choice in choices]
        vocabularies[frozenset(values)] = (name, values)
    return vocabularies


def share_enums(result, generator, request, public):
    """Every enumerated query parameter refers to the named enum component of its vocabulary (the one its
    response fields use, named in ``ENUM_NAME_OVERRIDES``): one name and one order for a vocabulary
    everywhere, where drf-spectacular writes a parameter's members inline and sorted. Runs after
    ``postprocess_schema_enums``, which names the fields' enums the same way."""
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    vocabularies = _vocabularies()
    for item in result.get("paths", {}).values():
        for operation in item.values():
            for parameter in operation.get("parameters", []) if isinstance(operation, dict) else []:
                members = parameter.get("schema", {}).get("enum")
                if members is None or frozenset(members) not in vocabularies:
                    continue
                name, values = vocabularies[frozenset(members)]
                schemas.setdefault(name, {"type": "string", "enum": values})
                parameter["schema"] = {"$ref": f"#/components/schemas/{name}"}
    result["components"]["schemas"] = dict(sorted(schemas.items()))
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
    """Every strict text schema (marked by ``StrictTextSchema``) loses its blank branch, gets its declared
    facts back over drf-spectacular's, and loses a ``format`` it declared as none."""
    if isinstance(node, list):
        for item in node:
            _undo_blank_branches(item)
        return
    if not isinstance(node, dict):
        return
    branches = node.get("oneOf")
    if isinstance(branches, list) and len(branches) == 2 and branches[1] == _BLANK and _STRICT_TEXT in branches[0]:
        node.update(node.pop("oneOf")[0])
    facts = node.pop(_STRICT_TEXT, None)
    if facts is not None:
        node.update(facts)
        if "format" in node and node["format"] is None:
            del node["format"]  # a strict field that names no format (StrictURLField)
    for value in node.values():
        _undo_blank_branches(value)


def anonymous_is_no_security(result, generator, request, public):
    """An operation no credential takes part in (login, register, the public feed) says so with an empty
    ``security`` list; drf-spectacular writes ``[{}]`` ("anonymous is one way in"), which client generators
    read as "needs credentials". An operation where a token is optional keeps ``[..., {}]``."""
    for item in result.get("paths", {}).values():
        for operation in item.values():
            if isinstance(operation, dict) and operation.get("security") in ([{}], None) and "responses" in operation:
                operation["security"] = []
    return result


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
        "code": {"type": "string"}, "message": {"type": "string"}, "details": {},
        "request_id": {"type": "string", "nullable": True}}}
    return {"type": "object", "required": ["error"], "properties": {"error": body}}
