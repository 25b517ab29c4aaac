"""Input and output shapes of the signals API, and the renderers of cached bodies."""
from __future__ import annotations

from rest_framework import serializers

from apps.signals import enums
from apps.signals.models import (
    SYMBOL_INPUT_MAX,
    Outcome,
    normalize_image_url,
    normalize_price,
    normalize_rationale,
    normalize_symbol,
)
from tradesignals.kernel.drf import filters
from tradesignals.kernel.drf.conditional import render_json
from tradesignals.kernel.drf.fields import (
    HTTPS_URL_PATTERN,
    WHITESPACE,
    StrictCharField,
    StrictChoiceField,
    StrictDecimalField,
    StrictIdentifierField,
    StrictInputSerializer,
    positive_decimal_schema,
    text_pattern,
)
from tradesignals.kernel.drf.pagination import PageSerializer

READ_ONLY = ("id", "owner_id", "owner_name", "status", "review", "version", "created_at", "updated_at",
             "risk_reward", "history", "owner_active", "outcome")


# What the normalisers take, for the OpenAPI document (each next to the field it describes), built from the
# constants the normalisers and the Document check against.
# normalize_symbol: the stored form (``enums.SYMBOL_PATTERN``) in either case, surrounding whitespace trimmed
# (the body's CharField trims every Unicode space before the normaliser reads it).
SYMBOL_CORE = enums.SYMBOL_PATTERN.removeprefix("^").removesuffix("$").replace("A-Z", "A-Za-z")
SYMBOL_PATTERN = f"^[{WHITESPACE}]*{SYMBOL_CORE}[{WHITESPACE}]*$"
# normalize_price: above 0, below 10^(digits - places), at most PRICE_MAX_PLACES decimal places.
PRICE_SCHEMA = positive_decimal_schema(integer_digits=enums.PRICE_MAX_DIGITS - enums.PRICE_MAX_PLACES,
                                       places=enums.PRICE_MAX_PLACES)


# A filter reads the raw query value: the length first, then normalize_symbol, which takes ASCII only, so only
# ASCII spaces are trimmed (no Unicode trimming before the normaliser's check).
_ASCII_SPACE = r"\u0009-\u000d\u001c-\u0020"  # what str.strip() removes from ASCII text
SYMBOL_FILTER_PATTERN = f"^[{_ASCII_SPACE}]*{SYMBOL_CORE}[{_ASCII_SPACE}]*$"


class PublicFilterSerializer(filters.FilterSerializer):
    """The filters of the public feed (and of every list): each exactly what its field takes."""

    symbol = StrictCharField(required=False, allow_blank=True, max_length=SYMBOL_INPUT_MAX, trim_whitespace=False,
                             normalize=normalize_symbol, schema={"pattern": SYMBOL_FILTER_PATTERN},
                             help_text="Exact symbol, e.g. BTC/USDT (case-insensitive).")
    direction = StrictChoiceField(choices=enums.DIRECTIONS, required=False, help_text="long or short (exactly)")
    timeframe = StrictChoiceField(choices=enums.TIMEFRAMES, required=False, help_text="Chart timeframe (exactly)")
    outcome = StrictChoiceField(choices=enums.OUTCOME_STATES, required=False,
                                help_text="Outcome state (exactly): " + ", ".join(enums.OUTCOME_STATES) + ".")


class OwnFilterSerializer(PublicFilterSerializer):
    """An owner's list: any status of their own."""

    status = StrictChoiceField(choices=enums.STATUSES, required=False, help_text="Review status (exactly)")


class AdminFilterSerializer(OwnFilterSerializer):
    """Every signal: also by owner."""

    owner_id = StrictIdentifierField(noun="a user id", required=False, help_text="Owner's user id")


def _price(**kwargs):
    return StrictDecimalField(normalize=normalize_price, schema=PRICE_SCHEMA, **kwargs)


class SignalInputSerializer(StrictInputSerializer):
    """Create (every field required except image_url); ``partial=True`` for an edit. Prices must be in the
    direction's order (long: stop < entry < take; short: take < entry < stop), counting the stored prices on
    an edit: no schema can compare two fields, so that rule is the 400 this body documents beyond its schema."""

    read_only_names = READ_ONLY
    body_schema = {"minProperties": 1}  # services.signal_update: an edit changes at least one field

    symbol = StrictCharField(normalize=normalize_symbol, max_length=SYMBOL_INPUT_MAX,
                             schema={"pattern": SYMBOL_PATTERN})
    direction = StrictChoiceField(choices=enums.DIRECTIONS)
    entry_price = _price()
    stop_loss = _price()
    take_profit = _price()
    timeframe = StrictChoiceField(choices=enums.TIMEFRAMES)
    # At most RATIONALE_MAX characters as sent (so also once trimmed), and not blank once trimmed.
    rationale = StrictCharField(normalize=normalize_rationale, trim_whitespace=False, allow_blank=True,
                                max_length=enums.RATIONALE_MAX,
                                schema={"pattern": text_pattern(stripped=True, blank=False)})
    image_url = StrictCharField(normalize=normalize_image_url, required=False, allow_null=True,
                                max_length=enums.IMAGE_URL_MAX, schema={"pattern": HTTPS_URL_PATTERN})
    image_id = StrictIdentifierField(noun="an image id", required=False, allow_null=True,
                                     help_text="An upload of yours (POST /api/v1/trade-signals/images) that no "
                                               "signal holds yet; null removes the signal's chart.")


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
    to = serializers.ChoiceField(choices=enums.STATUSES, source="to_status")
    by = serializers.CharField()
    at = serializers.DateTimeField()
    reason = serializers.CharField(allow_null=True)

    def get_fields(self):
        fields = super().get_fields()
        fields["from"] = serializers.ChoiceField(choices=enums.STATUSES, source="from_status")
        return {"from": fields.pop("from"), **fields}


class SignalImageSerializer(serializers.Serializer):
    """An uploaded chart as signals show it: the re-encoded image and its WebP thumbnail."""

    id = serializers.CharField()
    url = serializers.CharField(help_text="The full image (JPEG, PNG or WebP), cached for ever under a random name.")
    thumbnail_url = serializers.CharField(help_text="A WebP thumbnail about 480 pixels wide.")
    width = serializers.IntegerField()
    height = serializers.IntegerField()


class ImageUploadOutputSerializer(SignalImageSerializer):
    content_type = serializers.ChoiceField(choices=("image/jpeg", "image/png", "image/webp"),
                                           help_text="The stored image's type (a GIF is stored as PNG).")
    size = serializers.IntegerField(help_text="Bytes of the stored (re-encoded) image.")


class OutcomeSerializer(serializers.Serializer):
    """Where the signal stands against market data (apps.signals.outcomes); a signal stored before outcomes
    existed has none and shows as pending."""

    _PENDING = Outcome(state=enums.OUTCOME_PENDING)

    state = serializers.ChoiceField(choices=enums.OUTCOME_STATES,
                                    help_text="pending until approved (and again after an edit), then "
                                              "waiting_entry, open, and one of the final won, lost, expired.")
    entered_at = serializers.DateTimeField(allow_null=True, help_text="The minute the entry price was reached.")
    closed_at = serializers.DateTimeField(allow_null=True, help_text="When the outcome was decided.")
    exit_price = StrictDecimalField(allow_null=True, help_text="Take profit, stop loss, or the last close "
                                                               "before an open signal expired.")
    r_multiple = StrictDecimalField(allow_null=True, help_text="The result in units of risk, two places "
                                                               "(\"2.00\", \"-1.00\"); null without an entry.")

    def get_attribute(self, instance):
        return getattr(instance, "outcome", None) or self._PENDING


class SignalOutputSerializer(serializers.Serializer):
    id = serializers.CharField()
    owner_id = serializers.CharField()
    owner_name = serializers.CharField()
    symbol = serializers.CharField()
    direction = serializers.ChoiceField(choices=enums.DIRECTIONS)
    entry_price = StrictDecimalField()
    stop_loss = StrictDecimalField()
    take_profit = StrictDecimalField()
    risk_reward = serializers.CharField()
    timeframe = serializers.ChoiceField(choices=enums.TIMEFRAMES)
    rationale = serializers.CharField()
    image_url = serializers.CharField(allow_null=True)
    image = SignalImageSerializer(allow_null=True, help_text="The uploaded chart, or null.")
    status = serializers.ChoiceField(choices=enums.STATUSES)
    review = ReviewSerializer(allow_null=True,
                              help_text="The decision on the current version; null while pending (an edit clears it).")
    version = serializers.IntegerField()
    outcome = OutcomeSerializer()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class SignalDetailOutputSerializer(SignalOutputSerializer):
    """Detail: ``history`` is present for the owner and admins only (absent for everyone else)."""

    history = TransitionSerializer(many=True, required=False)


class SignalPageOutputSerializer(PageSerializer):
    results = SignalOutputSerializer(many=True)


def render_detail(signal, variant: str) -> bytes:
    data = SignalDetailOutputSerializer(signal).data
    if variant != "full":
        data.pop("history", None)
    return render_json(data)

