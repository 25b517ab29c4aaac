"""Input and output shapes of the signals API, and the renderers of cached bodies."""
from __future__ import annotations

from rest_framework import serializers
from rest_framework.renderers import JSONRenderer

from apps.signals import enums
from apps.signals.models import normalize_image_url, normalize_price, normalize_rationale, normalize_symbol
from tradesignals.kernel.drf.fields import (
    StrictCharField,
    StrictChoiceField,
    StrictDecimalField,
    StrictInputSerializer,
)

READ_ONLY = ("id", "owner_id", "owner_name", "status", "review", "version", "created_at", "updated_at",
             "risk_reward", "history", "owner_active")


def _price(**kwargs):
    return StrictDecimalField(normalize=normalize_price, **kwargs)


class SignalInputSerializer(StrictInputSerializer):
    """Create (every field required except image_url); ``partial=True`` for an edit."""

    read_only_names = READ_ONLY

    symbol = StrictCharField(normalize=normalize_symbol, max_length=64)
    direction = StrictChoiceField(choices=enums.DIRECTIONS)
    entry_price = _price()
    stop_loss = _price()
    take_profit = _price()
    timeframe = StrictChoiceField(choices=enums.TIMEFRAMES)
    rationale = StrictCharField(normalize=normalize_rationale, trim_whitespace=False, allow_blank=True,
                                max_length=enums.RATIONALE_MAX + 1000)
    image_url = StrictCharField(normalize=normalize_image_url, required=False, allow_null=True,
                                max_length=enums.IMAGE_URL_MAX + 100)


class ReviewInputSerializer(StrictInputSerializer):
    read_only_names = READ_ONLY
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

