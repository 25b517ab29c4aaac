"""Thin views: parse → service/selector → render. Cached reads answer with stored bytes (and 304s)."""
from __future__ import annotations

import functools
import json

from django.conf import settings
from django.http import HttpResponse, HttpResponseNotModified
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status as http
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.signals import enums, selectors, services
from apps.signals.api.serializers import (
    SYMBOL_CORE,
    ReviewInputSerializer,
    SignalDetailOutputSerializer,
    SignalInputSerializer,
    SignalOutputSerializer,
    SignalPageOutputSerializer,
    render_detail,
    render_json,
)
from apps.signals.models import normalize_symbol
from tradesignals.kernel import ratelimit
from tradesignals.kernel.drf import pagination
from tradesignals.kernel.drf.fields import IDENTIFIER_SCHEMA, DecimalJSONParser, is_identifier
from tradesignals.kernel.drf.permissions import IsAdmin, IsAuthenticatedPrincipal
from tradesignals.kernel.drf.schema import ErrorEnvelopeSerializer
from tradesignals.kernel.errors import NotFound, ValidationFailed
from tradesignals.kernel.numbers import parse_ascii_int

TAG = "trade-signals"
_MAX_FILTER_LENGTH = 64  # no filter value is longer (a symbol is at most 31 characters, an id 64)
_MAX_IF_MATCH_LENGTH = 2048  # some 100 entity tags; a longer header names no version of ours


def _errors(*codes: int) -> dict:
    text = {400: "Validation error", 401: "Not authenticated", 403: "Permission denied", 404: "Not found",
            409: "Conflict", 412: "Precondition failed (stale If-Match)", 429: "Rate limited"}
    return {code: OpenApiResponse(ErrorEnvelopeSerializer, description=text[code]) for code in codes}


def _filter_param(name: str, description: str, enum=None, schema=str) -> OpenApiParameter:
    return OpenApiParameter(name, schema, OpenApiParameter.QUERY, required=False, description=description,
                            enum=enum)


PAGE_PARAMS = [
    OpenApiParameter("limit", pagination.LIMIT_SCHEMA, OpenApiParameter.QUERY, required=False,
                     description=f"Page size 1–{pagination.MAX_LIMIT} in ASCII digits (default "
                                 f"{pagination.DEFAULT_LIMIT}); anything else is a 400."),
    OpenApiParameter("cursor", pagination.CURSOR_SCHEMA, OpenApiParameter.QUERY, required=False,
                     description="Opaque cursor from a previous page's `next`; a forged cursor is a 400."),
]
# parse_filters: the length first, then normalize_symbol (ASCII only, so only ASCII spaces are trimmed).
_ASCII_SPACE = r"\u0009-\u000d\u001c-\u0020"  # what str.strip() removes from ASCII text
SYMBOL = _filter_param("symbol", "Exact symbol, e.g. BTC/USDT (case-insensitive).",
                       schema={"type": "string", "maxLength": _MAX_FILTER_LENGTH,
                               "pattern": f"^[{_ASCII_SPACE}]*{SYMBOL_CORE}[{_ASCII_SPACE}]*$"})
DIRECTION = _filter_param("direction", "long or short (exactly)", enums.DIRECTIONS)
TIMEFRAME = _filter_param("timeframe", "Chart timeframe (exactly)", enums.TIMEFRAMES)
STATUS = _filter_param("status", "Review status (exactly)", enums.STATUSES)
OWNER = _filter_param("owner_id", "Owner's user id", schema=IDENTIFIER_SCHEMA)
IF_MATCH = OpenApiParameter("If-Match", str, OpenApiParameter.HEADER, required=False,
                            description='The ETag of the version you edit, compared strongly (exactly "v3"; '
                                        'W/"v3" or v3 never match); stale → 412. A list matches if any tag does.')
IF_NONE_MATCH = OpenApiParameter("If-None-Match", str, OpenApiParameter.HEADER, required=False,
                                 description="A previously received ETag; unchanged → 304.")

# Response headers, each documented on exactly the responses that send it.
_ENTITY_TAG = {"type": "string", "pattern": '^(?:W/)?"[!#-~]*"$'}  # RFC 9110 entity-tag


def _read_headers(*statuses: int) -> list[OpenApiParameter]:
    """What ``cached_response`` sends with every answer it gives (a 304 included)."""
    return [
        OpenApiParameter("ETag", _ENTITY_TAG, OpenApiParameter.HEADER, required=True, response=list(statuses),
                         description="Tag of this representation, for If-None-Match (the gateway weakens it "
                                     "to W/ when it compresses a list)."),
        OpenApiParameter("X-Cache", {"type": "string", "enum": ["hit", "miss"]}, OpenApiParameter.HEADER,
                         required=True, response=list(statuses),
                         description="hit: served from the rendered-response cache; miss: read from MongoDB."),
    ]


def _written_headers(status: int, *, location: bool = False) -> list[OpenApiParameter]:
    """What ``_written`` sends: the strong tag of the new version (for If-Match), and a create's Location."""
    headers = [OpenApiParameter("ETag", {"type": "string", "pattern": '^"v[1-9][0-9]*"$'},
                                OpenApiParameter.HEADER, required=True, response=[status],
                                description='The new version\'s strong tag ("v<version>"); send it as If-Match '
                                            "with the next edit, review or delete.")]
    if location:
        headers.append(OpenApiParameter("Location", {"type": "string", "format": "uri"}, OpenApiParameter.HEADER,
                                        required=True, response=[status],
                                        description="The absolute URL of the created signal."))
    return headers


_ENUMERATED = {"direction": enums.DIRECTIONS, "timeframe": enums.TIMEFRAMES, "status": enums.STATUSES}


def parse_filters(request, allowed: tuple[str, ...]) -> dict:
    """Known filters only (other query parameters are ignored); each validated, 400 per field.

    The length is checked on the value as sent, before it is trimmed or read; an enumerated filter is exactly
    one of its members (no trimming: " long" or "long\u00a0" is not a direction)."""
    filters, errors = {}, {}
    for name in allowed:
        raw = request.query_params.get(name)
        if raw is None or raw == "":
            continue
        value = raw
        try:
            if len(raw) > _MAX_FILTER_LENGTH:
                raise ValueError(f"Must be at most {_MAX_FILTER_LENGTH} characters.")
            if name == "symbol":
                value = normalize_symbol(raw)
            elif name in _ENUMERATED and raw not in _ENUMERATED[name]:
                raise ValueError(f"Must be one of: {', '.join(_ENUMERATED[name])}.")
            elif name == "owner_id" and not is_identifier(raw):
                raise ValueError("Must be a user id (1–64 letters or digits).")
        except ValueError as exc:
            errors[name] = [str(exc)]
            continue
        filters[name] = value
    if errors:
        raise ValidationFailed(details=errors)
    return filters


def _entity_tags(header: str) -> list[tuple[bool, str]] | None:
    """``#entity-tag`` (RFC 9110 §8.8.3) as ``(weak, opaque-tag)`` pairs, or ``None`` if it is malformed.
    One pass with ``str.find``: every character is looked at a bounded number of times."""
    tags, position, length = [], 0, len(header)
    while True:
        while position < length and header[position] in " \t,":
            position += 1
        if position == length:
            return tags
        weak = header.startswith("W/", position)
        if weak:
            position += 2
        if not header.startswith('"', position):
            return None
        end = header.find('"', position + 1)
        if end < 0:
            return None
        tags.append((weak, header[position:end + 1]))
        position = end + 1
        while position < length and header[position] in " \t":
            position += 1
        if position < length and header[position] != ",":
            return None


def _version_of(tag: str) -> int | None:
    """The version a strong tag of ours names: exactly ``"v<n>"`` as ``_written`` sends it (no leading zero)."""
    digits = tag[2:-1]
    if not tag.startswith('"v') or (digits[:1] == "0" and digits != "0"):
        return None
    try:
        return parse_ascii_int(digits)
    except ValueError:
        return None


def parse_if_match(request) -> frozenset[int] | None:
    """The versions an ``If-Match`` names, compared strongly (RFC 9110 §13.1.1): only an exact strong tag of
    ours (``"v3"``) names a version; ``W/"v3"``, ``v3``, ``3`` or a malformed header name none, so they never
    match (412, like a stale tag). ``*`` or no header → no precondition. A list matches if any tag does."""
    header = request.META.get("HTTP_IF_MATCH")
    if header is None:
        return None
    if header.strip(" \t") == "*":
        return None
    tags = _entity_tags(header) if len(header) <= _MAX_IF_MATCH_LENGTH else None
    versions = (_version_of(tag) for weak, tag in tags or () if not weak)
    return frozenset(version for version in versions if version is not None)


def _not_modified(request, etag: str) -> bool:
    """``If-None-Match`` uses the weak comparison (RFC 9110 §13.1.2): ``W/"x"`` matches ``"x"``."""
    header = request.META.get("HTTP_IF_NONE_MATCH")  # META, not request.headers: no header dict per request
    if not header or len(header) > _MAX_IF_MATCH_LENGTH:
        return False
    if header.strip(" \t") == "*":
        return True
    # The same entity-tag reader as If-Match; a malformed header names nothing (a full 200 is always safe).
    return etag.removeprefix("W/") in {tag for _weak, tag in _entity_tags(header) or ()}


class CachedResponseMixin:
    parser_classes = [DecimalJSONParser]

    def cached_response(self, request, *, body: bytes, etag: str, hit: bool, cache_control: str):
        headers = {"ETag": etag, "Cache-Control": cache_control, "X-Cache": "hit" if hit else "miss",
                   "Vary": "Accept, Authorization, Cookie"}
        if _not_modified(request, etag):
            response = HttpResponseNotModified()
        elif getattr(request, "accepted_renderer", None) is None or request.accepted_renderer.format == "json":
            response = HttpResponse(body, content_type="application/json")
        else:  # the browsable API renders the same data as HTML
            response = Response(json.loads(body))
        for name, value in headers.items():
            response[name] = value
        return response

    def list_response(self, request, *, name: str, filters: dict, rendered_selector, cache_control: str,
                      **selector_kwargs):
        limit = pagination.parse_limit(request.query_params.get("limit"))
        # The cursor scope is a digest: computed only when a cursor is read or written, not on a first-page hit.
        scope = functools.cache(lambda: pagination.scope_of(name, {**filters, **selector_kwargs}))
        raw_cursor = request.query_params.get("cursor")
        position = pagination.decode_cursor(raw_cursor, scope=scope()) if raw_cursor else None
        after = None if position is None else (position.created_at, position.id)

        def render(page: selectors.Page) -> bytes:
            cursor = None
            if page.next_after is not None:
                cursor = pagination.encode_cursor(pagination.Position(*page.next_after), scope=scope())
            query = {**filters, "limit": request.query_params.get("limit") or None}
            return render_json({
                "results": SignalOutputSerializer(page.items, many=True).data,
                "next": pagination.next_url(request.path, query=query, cursor=cursor),
            })

        entry = rendered_selector(filters=filters, after=after, limit=limit, render=render, **selector_kwargs)
        return self.cached_response(request, body=entry["body"], etag=entry["etag"], hit=entry["hit"],
                                    cache_control=cache_control)


def _written(signal, *, status: int = http.HTTP_200_OK, headers: dict | None = None) -> Response:
    response = Response(SignalDetailOutputSerializer(signal).data, status=status)
    response["ETag"] = f'"v{signal.version}"'
    response["Cache-Control"] = "no-store"
    for name, value in (headers or {}).items():
        response[name] = value
    return response


PRIVATE = "private, no-cache"


class SignalListCreateApi(CachedResponseMixin, APIView):
    permission_classes = [IsAuthenticatedPrincipal]

    @extend_schema(tags=[TAG], operation_id="trade_signals_list_own",
                   summary="List your own signals",
                   parameters=[STATUS, SYMBOL, DIRECTION, TIMEFRAME, *PAGE_PARAMS, IF_NONE_MATCH,
                               *_read_headers(200, 304)],
                   responses={200: SignalPageOutputSerializer, 304: None, **_errors(400, 401, 429)})
    def get(self, request):
        filters = parse_filters(request, ("status", "symbol", "direction", "timeframe"))
        return self.list_response(request, name="own", filters=filters, cache_control=PRIVATE,
                                  rendered_selector=selectors.signal_list_own_rendered,
                                  owner_id=request.user.user_id)

    @extend_schema(tags=[TAG], operation_id="trade_signals_create",
                   summary="Create a signal (always pending)", request=SignalInputSerializer,
                   parameters=_written_headers(201, location=True),
                   responses={201: SignalDetailOutputSerializer, **_errors(400, 401, 429)})
    def post(self, request):
        serializer = SignalInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        # Mass creation: a per-user budget of created signals (invalid bodies are bounded by the gateway budget).
        ratelimit.hit(request, group="signals:create:user", key=request.user.user_id,
                      rate=ratelimit.rate(settings.SIGNAL_CREATE_RATE_MAX, settings.SIGNAL_CREATE_RATE_WINDOW),
                      message="Too many signals created; retry later.")
        signal = services.signal_create(owner_id=request.user.user_id, owner_name=request.user.name,
                                        **serializer.validated_data)
        location = request.build_absolute_uri(f"{request.path.rstrip('/')}/{signal.id}")
        return _written(signal, status=http.HTTP_201_CREATED, headers={"Location": location})


class SignalPublicListApi(CachedResponseMixin, APIView):
    permission_classes = [AllowAny]

    @extend_schema(tags=[TAG], operation_id="trade_signals_list_public",
                   summary="The public feed of approved signals", auth=[],
                   parameters=[SYMBOL, DIRECTION, TIMEFRAME, *PAGE_PARAMS, IF_NONE_MATCH, *_read_headers(200, 304)],
                   responses={200: SignalPageOutputSerializer, 304: None, **_errors(400, 401, 429)})
    def get(self, request):
        filters = parse_filters(request, ("symbol", "direction", "timeframe"))
        return self.list_response(request, name="public", filters=filters,
                                  cache_control=f"public, max-age={settings.CACHE_PUBLIC_MAX_AGE}",
                                  rendered_selector=selectors.signal_list_public_rendered)


class SignalAdminListApi(CachedResponseMixin, APIView):
    permission_classes = [IsAdmin]

    @extend_schema(tags=[TAG], operation_id="trade_signals_list_admin",
                   summary="All signals (admin)",
                   parameters=[OWNER, STATUS, SYMBOL, DIRECTION, TIMEFRAME, *PAGE_PARAMS, IF_NONE_MATCH,
                               *_read_headers(200, 304)],
                   responses={200: SignalPageOutputSerializer, 304: None, **_errors(400, 401, 403, 429)})
    def get(self, request):
        filters = parse_filters(request, ("owner_id", "status", "symbol", "direction", "timeframe"))
        return self.list_response(request, name="admin", filters=filters, cache_control=PRIVATE,
                                  rendered_selector=selectors.signal_list_admin_rendered)


class SignalDetailApi(CachedResponseMixin, APIView):
    def get_permissions(self):
        if self.request.method in ("GET", "HEAD", "OPTIONS"):
            return [AllowAny()]
        return [IsAuthenticatedPrincipal()]

    def action_allowed(self, request, method: str, data) -> bool:
        """What the browsable API offers on this signal's page (kernel.drf.renderers): the service's rules."""
        signal = selectors.signal_get(signal_id=self.kwargs["signal_id"])
        if signal is None:
            return False
        if method == "PATCH":
            return services.signal_may_update(actor=request.user, owner_id=signal.owner_id)
        if method == "DELETE":
            return services.signal_may_delete(actor=request.user, owner_id=signal.owner_id)
        return False

    @extend_schema(tags=[TAG], operation_id="trade_signal_retrieve",
                   summary="One signal (history for owner and admins)",
                   parameters=[IF_NONE_MATCH, *_read_headers(200, 304)],
                   responses={200: SignalDetailOutputSerializer, 304: None, **_errors(401, 404, 429)})
    def get(self, request, signal_id: str):
        entry = selectors.signal_detail_rendered(signal_id=signal_id, render=render_detail)
        if entry is None:
            raise NotFound("Trade signal not found.")
        user = request.user
        meta = entry["meta"]
        # Authorisation runs on every read, cached or not.
        variant = selectors.signal_visibility(
            viewer_id=user.user_id if user else None, viewer_is_admin=bool(user and user.is_admin),
            owner_id=meta["owner_id"], status=meta["status"], owner_active=meta["owner_active"])
        if variant is None:
            raise NotFound("Trade signal not found.")
        return self.cached_response(request, body=entry[variant], etag=entry["etags"][variant],
                                    hit=entry["hit"], cache_control=PRIVATE)

    @extend_schema(tags=[TAG], operation_id="trade_signal_update",
                   summary="Edit your signal (approved/rejected go back to pending)",
                   request=SignalInputSerializer, parameters=[IF_MATCH, *_written_headers(200)],
                   responses={200: SignalDetailOutputSerializer, **_errors(400, 401, 403, 404, 409, 412, 429)})
    def patch(self, request, signal_id: str):
        serializer = SignalInputSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        signal = services.signal_update(signal_id=signal_id, actor=request.user, data=serializer.validated_data,
                                        if_match=parse_if_match(request))
        return _written(signal)

    @extend_schema(tags=[TAG], operation_id="trade_signal_delete",
                   summary="Delete a signal (owner or admin)", parameters=[IF_MATCH],
                   responses={204: None, **_errors(401, 403, 404, 409, 412, 429)})
    def delete(self, request, signal_id: str):
        services.signal_delete(signal_id=signal_id, actor=request.user, if_match=parse_if_match(request))
        return Response(status=http.HTTP_204_NO_CONTENT)


class SignalStatusApi(CachedResponseMixin, APIView):
    permission_classes = [IsAdmin]

    def action_allowed(self, request, method: str, data) -> bool:
        """The review form only for an administrator who may decide on this signal (not their own)."""
        signal = selectors.signal_get(signal_id=self.kwargs["signal_id"])
        return signal is not None and services.signal_may_review(actor=request.user, owner_id=signal.owner_id)

    @extend_schema(tags=[TAG], operation_id="trade_signal_review",
                   summary="Approve or reject a signal (admin)", request=ReviewInputSerializer,
                   parameters=[IF_MATCH, *_written_headers(200)],
                   responses={200: SignalDetailOutputSerializer, **_errors(400, 401, 403, 404, 409, 412, 429)})
    def patch(self, request, signal_id: str):
        serializer = ReviewInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        signal = services.signal_review(signal_id=signal_id, actor=request.user,
                                        status=serializer.validated_data["status"],
                                        reason=serializer.validated_data.get("reason"),
                                        if_match=parse_if_match(request))
        return _written(signal)
