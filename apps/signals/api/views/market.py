"""Market data over HTTP: a feed posts one-minute candles, anyone reads them back.

``POST market/candles`` (administrators and the ``feed`` role) answers 200 with what the ingest did —
``{"symbol", "received", "stored", "changed", "unchanged"}`` — on every valid request, a replay included: the
same body twice is one stored set of candles, so the answer is about the request, not a created resource.
A refused body is a 400 naming each bad candle by its index in ``candles``: ``{"candles": {"3": {"h": [...]}}}``.

``GET market/candles?symbol=&from=&to=`` reads them oldest first, a page of at most 100 (the kernel's page size,
as on every list), continued by ``next``.
"""
from __future__ import annotations

from django.conf import settings
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.parsers import BaseParser
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.signals import enums, market
from apps.signals.api.serializers import PRICE_SCHEMA, SYMBOL_FILTER_PATTERN, SYMBOL_PATTERN
from apps.signals.api.views.schema import TAG, errors
from apps.signals.models import SYMBOL_INPUT_MAX, normalize_symbol
from tradesignals.kernel import ratelimit
from tradesignals.kernel.drf import filters
from tradesignals.kernel.drf.fields import (
    StrictCharField,
    StrictDecimalField,
    StrictInputSerializer,
    StrictJSONParser,
    field_label,
)
from tradesignals.kernel.drf.pagination import PageSerializer
from tradesignals.kernel.errors import ValidationFailed


def _rate() -> str:
    """The per-account budget of candle posts (settings MARKET_CANDLES_RATE_MAX per _WINDOW)."""
    return ratelimit.rate(settings.MARKET_CANDLES_RATE_MAX, settings.MARKET_CANDLES_RATE_WINDOW)
# A full batch does not fit the default body limit (DATA_UPLOAD_MAX_MEMORY_SIZE, 64 KiB): a candle with
# 18-digit prices is some 130 bytes of JSON. 256 bytes a candle leaves room for whitespace, and no more.
MAX_BODY_BYTES = enums.CANDLES_PER_REQUEST * 256


class IsMarketFeed(AllowAny):
    """Posting needs the feed role or an administrator (``Principal.may_feed_market``): 401 anonymous, 403
    anyone else."""

    message = "The feed or administrator role is required to post market data."

    def has_permission(self, request, view) -> bool:
        user = request.user
        return bool(user and user.is_authenticated and user.may_feed_market)


class CandleInputSerializer(StrictInputSerializer):
    """One minute: ``t`` the minute's start (RFC 3339, UTC, seconds 0, not in the future), prices as decimal
    strings with ``l ≤ o, c ≤ h``. The rules are ``market.clean_candle``'s, so this serializer only states
    them for the document; validation runs through ``CandleListSerializer``."""

    class Meta:
        ref_name = "CandleInput"

    t = StrictCharField(max_length=market.INSTANT_MAX, schema={"pattern": market.MINUTE_PATTERN,
                                                              "format": "date-time"})
    o = StrictDecimalField(schema={**PRICE_SCHEMA["anyOf"][0], "description": "Open"})
    h = StrictDecimalField(schema={**PRICE_SCHEMA["anyOf"][0], "description": "High"})
    l = StrictDecimalField(schema={**PRICE_SCHEMA["anyOf"][0], "description": "Low"})  # noqa: E741
    c = StrictDecimalField(schema={**PRICE_SCHEMA["anyOf"][0], "description": "Close"})


class CandleListSerializer(serializers.ListSerializer):
    """The list of candles: each checked by ``market.clean_candle`` (the service's own rule), errors keyed by
    the candle's index as text, so a client finds the bad one at once."""

    def to_internal_value(self, data):
        if not isinstance(data, list):
            raise serializers.ValidationError(["Expected a list of candles."])
        if not 1 <= len(data) <= enums.CANDLES_PER_REQUEST:
            raise serializers.ValidationError([f"Send 1 to {enums.CANDLES_PER_REQUEST} candles."])
        return data  # checked (with the duplicate minutes) by the service, which names each bad candle

    def to_representation(self, data):
        return [self.child.to_representation(item) for item in data]


class CandlesInputSerializer(StrictInputSerializer):
    class Meta:
        ref_name = "CandlesInput"

    symbol = StrictCharField(max_length=SYMBOL_INPUT_MAX, normalize=normalize_symbol,
                             schema={"pattern": SYMBOL_PATTERN})
    candles = CandleListSerializer(child=CandleInputSerializer(), min_length=1, max_length=enums.CANDLES_PER_REQUEST,
                                   help_text=f"1 to {enums.CANDLES_PER_REQUEST} one-minute candles, each minute "
                                             "at most once.")


class IngestOutputSerializer(serializers.Serializer):
    symbol = serializers.CharField()
    received = serializers.IntegerField(help_text="Candles in the request.")
    stored = serializers.IntegerField(help_text="New minutes stored.")
    changed = serializers.IntegerField(help_text="Minutes already stored with other prices, now replaced.")
    unchanged = serializers.IntegerField(help_text="Minutes already stored with these prices (nothing done).")


class CandleOutputSerializer(serializers.Serializer):
    t = serializers.DateTimeField(help_text="The minute's start, UTC.")
    o = StrictDecimalField()
    h = StrictDecimalField()
    l = StrictDecimalField()  # noqa: E741
    c = StrictDecimalField()

    def to_representation(self, instance):
        return {"t": instance.t.strftime("%Y-%m-%dT%H:%M:%SZ"),
                **{name: format(getattr(instance, name), "f") for name in market.PRICE_FIELDS}}


class CandlePageOutputSerializer(PageSerializer):
    symbol = serializers.CharField()
    results = CandleOutputSerializer(many=True)


_INSTANT_HELP = ("RFC 3339 timestamp with an offset (Z, or a percent-encoded +hh:mm), e.g. "
                 "2026-01-02T03:04:00Z; inclusive.")


def _instant_text(value: str) -> str:
    """A bound as the link and the cursor keep it: canonical UTC text (JSON-safe, parses back)."""
    return market.parse_instant(value).isoformat().replace("+00:00", "Z")


class CandleFilterSerializer(filters.FilterSerializer):
    """``symbol`` (required), ``from`` and ``to`` (inclusive bounds on the minute), and the page as on every list
    (``limit`` 1–100, default 20, and ``cursor``: a day of minutes is 15 pages of 100). Undeclared parameters are
    ignored, as on every list."""

    symbol = StrictCharField(max_length=SYMBOL_INPUT_MAX, trim_whitespace=False, normalize=normalize_symbol,
                             schema={"pattern": SYMBOL_FILTER_PATTERN}, help_text="Exact symbol, e.g. BTC/USDT.")

    def get_fields(self):
        fields = super().get_fields()
        for name in ("from", "to"):
            fields[name] = StrictCharField(required=False, max_length=market.INSTANT_MAX, trim_whitespace=False,
                                           normalize=_instant_text, help_text=_INSTANT_HELP,
                                           schema={"pattern": market.INSTANT_PATTERN, "format": "date-time"})
        return fields

    def validate(self, attrs):
        low, high = attrs.get("from"), attrs.get("to")
        if low and high and market.parse_instant(low) > market.parse_instant(high):
            raise serializers.ValidationError({"to": ["Must not be before from."]})
        return attrs


def _candle_errors(exc: ValidationFailed) -> ValidationFailed:
    """The service's 400 as is, its keys made safe to render (a client-chosen field name)."""
    details = exc.details
    if isinstance(details, dict) and isinstance(details.get("candles"), dict):
        details = {**details, "candles": {index: {field_label(name): problems for name, problems in item.items()}
                                          for index, item in details["candles"].items()}}
    return ValidationFailed(exc.message, details=details)


class CandlesJSONParser(BaseParser):
    """``StrictJSONParser`` on the request stream itself. DRF hands a ``JSONParser`` the request's ``body``,
    which Django caps at ``DATA_UPLOAD_MAX_MEMORY_SIZE``; this route's larger limit is enforced before the view
    runs (``max_body_bytes``, on the declared length), so the stream read here is already bounded. JSON numbers
    stay floats and ints, which the price rule refuses by name: prices are strings."""

    media_type = "application/json"

    def parse(self, stream, media_type=None, parser_context=None):
        return StrictJSONParser().parse(stream, media_type, parser_context)


class MarketCandlesApi(APIView):
    """One-minute candles: a feed (or an administrator) stores them, idempotently per symbol and minute; anyone
    reads them back oldest first."""

    parser_classes = [CandlesJSONParser]

    @classmethod
    def max_body_bytes(cls) -> int:
        """Widens the kernel's early body limit (``BodySizeLimitMiddleware``) for this route alone."""
        return MAX_BODY_BYTES

    def get_permissions(self):
        # Only a post needs the role; any other method is either a read or one this route lacks (405, whoever asks).
        return [IsMarketFeed()] if self.request.method == "POST" else [AllowAny()]

    @extend_schema(tags=[TAG], operation_id="market_candles_list", summary="One symbol's one-minute candles",
                   auth=[], parameters=[CandleFilterSerializer],
                   responses={200: CandlePageOutputSerializer, **errors(400, 429)})
    def get(self, request):
        walk = CandleFilterSerializer.walk(request, name="market.candles")
        bounds = {name: market.parse_instant(walk.filters[name]) if walk.filters.get(name) else None
                  for name in ("from", "to")}
        page = market.candle_list(symbol=walk.filters["symbol"], since=bounds["from"], until=bounds["to"],
                                  after=walk.after, limit=walk.limit)
        response = Response({"symbol": walk.filters["symbol"],
                             "results": CandleOutputSerializer(page.items, many=True).data,
                             "next": walk.next_url(request.path, page)})
        response["Cache-Control"] = f"public, max-age={settings.CACHE_PUBLIC_MAX_AGE}"
        return response

    @extend_schema(tags=[TAG], operation_id="market_candles_ingest",
                   summary="Store one-minute candles (feed role or admin; idempotent)",
                   request=CandlesInputSerializer,
                   responses={200: IngestOutputSerializer, **errors(400, 401, 403, 429)})
    def post(self, request):
        ratelimit.hit(request, group="market:candles:user", key=request.user.user_id,
                      rate=_rate(), message="Too many candle posts; retry later.")
        serializer = CandlesInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        try:
            result = market.candles_ingest(symbol=data["symbol"], candles=data["candles"])
        except ValidationFailed as exc:
            raise _candle_errors(exc) from None
        response = Response(IngestOutputSerializer(result).data)
        response["Cache-Control"] = "no-store"
        return response


__all__ = ["MarketCandlesApi"]
