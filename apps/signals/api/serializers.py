"""Input and output shapes of the signals API, and the renderers of cached bodies."""
from __future__ import annotations

from rest_framework import serializers
from rest_framework.renderers import JSONRenderer

from apps.signals import enums
from apps.signals.models import normalize_image_url, normalize_price, normalize_rationale, normalize_symbol
from tradesignals.kernel.drf.fields import (
    HTTPS_URL_PATTERN,
    WHITESPACE,
    StrictCharField,
    StrictChoiceField,
    StrictDecimalField,
    StrictInputSerializer,
    text_pattern,
)

READ_ONLY = ("id", "owner_id", "owner_name", "status", "review", "version", "created_at", "updated_at",
             "risk_reward", "history", "owner_active")


# What the normalisers take, for the OpenAPI document (each next to the field it describes).
# normalize_symbol: 1-15 letters or digits, optionally /QUOTE, surrounding whitespace trimmed.
SYMBOL_PATTERN = f"^[{WHITESPACE}]*[A-Za-z0-9]{{1,15}}(?:/[A-Za-z0-9]{{1,15}})?[{WHITESPACE}]*$"
# normalize_price: above 0, below 10^10, at most 8 decimal places — as text (its plain form; a sign, an
# exponent or leading zeros are read as well) or as a JSON number.
_PLACES = "|".join(f"0{{{zeros}}}[1-9][0-9]{{0,{7 - zeros}}}" for zeros in range(8))
PRICE_SCHEMA = {
    "anyOf": [
        {"type": "string", "format": "decimal",
         "pattern": rf"^(?:[1-9][0-9]{{0,9}}(?:\.[0-9]{{1,8}})?|0?\.(?:{_PLACES}))$"},
        {"type": "number", "minimum": 0, "exclusiveMinimum": True, "maximum": 10**10, "exclusiveMaximum": True,
         "multipleOf": 0.00000001},
    ],
    "example": "64000.50",
}


def _price(**kwargs):
    return StrictDecimalField(normalize=normalize_price, schema=PRICE_SCHEMA, **kwargs)


class SignalInputSerializer(StrictInputSerializer):
    """Create (every field required except image_url); ``partial=True`` for an edit. Prices must be in the
    direction's order (long: stop < entry < take; short: take < entry < stop), counting the stored prices on
    an edit: no schema can compare two fields, so that rule is the 400 this body documents beyond its schema."""

    read_only_names = READ_ONLY
    body_schema = {"minProperties": 1}  # services.signal_update: an edit changes at least one field

    symbol = StrictCharField(normalize=normalize_symbol, max_length=64, schema={"pattern": SYMBOL_PATTERN})
    direction = StrictChoiceField(choices=enums.DIRECTIONS)
    entry_price = _price()
    stop_loss = _price()
    take_profit = _price()
    timeframe = StrictChoiceField(choices=enums.TIMEFRAMES)
    rationale = StrictCharField(normalize=normalize_rationale, trim_whitespace=False, allow_blank=True,
                                max_length=enums.RATIONALE_MAX + 1000,
                                schema={"pattern": text_pattern(stripped=True, blank=False,
                                                                stripped_max=enums.RATIONALE_MAX)})
    image_url = StrictCharField(normalize=normalize_image_url, required=False, allow_null=True,
                                max_length=enums.IMAGE_URL_MAX + 100,
                                schema={"pattern": HTTPS_URL_PATTERN, "maxLength": enums.IMAGE_URL_MAX})


class ReviewInputSerializer(StrictInputSerializer):
    """The whole decision, though sent with PATCH: a status, and a reason that is not blank to reject
    (services.signal_review)."""

    read_only_names = READ_ONLY
    body_schema = {
        "required": ["status"],
        "anyOf": [
            {"properties": {"status": {"enum": [enums.APPROVED]}}},
            {"properties": {"status": {"enum": [enums.REJECTED]},
                            "reason": {"type": "string", "pattern": text_pattern(stripped=True, blank=False)}},
             "required": ["reason"]},
        ],
    }
    status = StrictChoiceField(choices=enums.REVIEW_STATUSES)
    reason = StrictCharField(required=False, allow_null=True, allow_blank=True, max_length=enums.REASON_MAX)


class ReviewSerializer(serializers.Serializer):
    by = serializers.CharField()
    at = serializers.DateTimeField()
    reason = serializers.CharField(allow_null=True)


class TransitionSerializer(serializers.Serializer):
    # "from" is a keyword; declared below via fields mapping.
    to = serializers.CharField(source="to_status")
    by = serializers.CharField()
    at = serializers.DateTimeField()
    reason = serializers.CharField(allow_null=True)

    def get_fields(self):
        fields = super().get_fields()
        fields["from"] = serializers.CharField(source="from_status")
        return {"from": fields.pop("from"), **fields}


class SignalOutputSerializer(serializers.Serializer):
    id = serializers.CharField()
    owner_id = serializers.CharField()
    owner_name = serializers.CharField()
    symbol = serializers.CharField()
    direction = serializers.CharField()
    entry_price = StrictDecimalField()
    stop_loss = StrictDecimalField()
    take_profit = StrictDecimalField()
    risk_reward = serializers.CharField()
    timeframe = serializers.CharField()
    rationale = serializers.CharField()
    image_url = serializers.CharField(allow_null=True)
    status = serializers.CharField()
    review = ReviewSerializer(allow_null=True)
    version = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class SignalDetailOutputSerializer(SignalOutputSerializer):
    """Detail: ``history`` is present for the owner and admins only (absent for everyone else)."""

    history = TransitionSerializer(many=True, required=False)


class SignalPageOutputSerializer(serializers.Serializer):
    results = SignalOutputSerializer(many=True)
    next = serializers.CharField(allow_null=True)


_json = JSONRenderer()


def render_json(data) -> bytes:
    return _json.render(data)


def render_detail(signal, variant: str) -> bytes:
    data = SignalDetailOutputSerializer(signal).data
    if variant != "full":
        data.pop("history", None)
    return render_json(data)

