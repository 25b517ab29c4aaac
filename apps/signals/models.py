"""The TradeSignal document and its field-level rules.

Field rules live here as plain functions (``normalize_*``) that raise ``ValueError`` with a user-facing
message, so the API serializers, the services and the admin console all apply the same rules. Writes go
through ``TradeSignal._get_collection()`` inside a transaction (mongoengine's Document API has no session
support); the Document still defines the fields, the validation and the indexes.
"""
from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from urllib.parse import urlsplit

import mongoengine as me

from apps.signals import enums
from tradesignals.kernel.images.records import ImageRecord, ImageRef

_SYMBOL_PART_MAX = 15
SYMBOL_INPUT_MAX = 64  # characters a symbol may arrive with, surrounding spaces included
_QUANTUM = Decimal(1).scaleb(-enums.PRICE_MAX_PLACES)
RECENT = ("-created_at", "-id")

# One compound index per list query shape: equality fields first, then the keyset order. Optional
# filters without their own index (direction, timeframe, and symbol on the own list) are applied as
# residual predicates on the narrowed index range (see ``selectors.LIST_SHAPES``).
INDEXES = {
    "own_recent": ("owner_id", *RECENT),
    "own_status_recent": ("owner_id", "status", *RECENT),
    "public_recent": ("status", "owner_active", *RECENT),
    "public_symbol_recent": ("status", "owner_active", "symbol", *RECENT),
    "all_recent": RECENT,
    "status_recent": ("status", *RECENT),
    "symbol_recent": ("symbol", *RECENT),
    # Console reads: the review queue by symbol; recently reviewed by anyone / by one reviewer (newest review
    # first — these two do not end in RECENT, so ``selectors.index_for`` never picks them for a list shape).
    "status_symbol_recent": ("status", "symbol", *RECENT),
    "reviewed_recent": ("-review.at", "-id"),
    "reviewer_recent": ("review.by", "-review.at", "-id"),
    # Outcomes: the public feed filtered by outcome; the evaluation's candidates (live signals of a symbol);
    # the leaderboard's closed signals by closing time.
    "public_outcome_recent": ("status", "owner_active", "outcome.state", *RECENT),
    "outcome_live": ("outcome.state", "symbol", "outcome.starts_at"),
    "outcome_closed": ("outcome.closed_at", "owner_id"),
}


# -- field rules ---------------------------------------------------------------------------------------
def _symbol_part(part: str) -> bool:
    return 0 < len(part) <= _SYMBOL_PART_MAX and part.isalnum()  # ASCII already: isalnum is [A-Za-z0-9]


def normalize_symbol(value: str) -> str:
    """``enums.SYMBOL_PATTERN`` after trimming and upper-casing, checked by splitting, not by a pattern; the
    length is bounded before anything else reads the text."""
    if len(value) > SYMBOL_INPUT_MAX:
        raise ValueError(f"Must be at most {SYMBOL_INPUT_MAX} characters.")
    # ASCII before upper-casing: "btcuſdt".upper() is "BTCUSDT" and "ıbm".upper() is "IBM" — a look-alike must
    # be refused, never silently turned into the real symbol.
    if not value.isascii():
        raise ValueError("Use ASCII letters and digits only (look-alike characters are refused).")
    symbol = value.strip().upper()
    base, slash, quote = symbol.partition("/")
    if not _symbol_part(base) or (slash and not _symbol_part(quote)):
        raise ValueError("Use 1–15 letters or digits, optionally followed by /QUOTE (e.g. BTC/USDT).")
    return symbol


def normalize_price(value: Decimal) -> Decimal:
    """A positive, finite decimal with at most 8 places and 18 significant digits."""
    if not isinstance(value, Decimal):
        raise ValueError("A decimal number is required.")
    if not value.is_finite():
        raise ValueError("Must be a finite number.")
    if value <= 0:
        raise ValueError("Must be greater than zero.")
    # Bound the magnitude before any arithmetic, so "1e999999999" costs nothing.
    if value.adjusted() >= enums.PRICE_MAX_DIGITS - enums.PRICE_MAX_PLACES:
        raise ValueError(f"Must be less than 10^{enums.PRICE_MAX_DIGITS - enums.PRICE_MAX_PLACES}.")
    if value.adjusted() < -enums.PRICE_MAX_PLACES:
        raise ValueError(f"Must have at most {enums.PRICE_MAX_PLACES} decimal places.")
    try:
        quantized = value.quantize(_QUANTUM)
    except InvalidOperation:
        raise ValueError(f"Must have at most {enums.PRICE_MAX_PLACES} decimal places.") from None
    if quantized != value:
        raise ValueError(f"Must have at most {enums.PRICE_MAX_PLACES} decimal places.")
    if len(value.normalize().as_tuple().digits) > enums.PRICE_MAX_DIGITS:
        raise ValueError(f"Must have at most {enums.PRICE_MAX_DIGITS} significant digits.")
    # Keep the client's scale ("64000.10" stays "64000.10") but never an exponent form.
    return value if value.as_tuple().exponent <= 0 else value.quantize(Decimal(1))


def normalize_rationale(value: str) -> str:
    text = value.strip()
    if not text:
        raise ValueError("Must not be blank.")
    if len(text) > enums.RATIONALE_MAX:
        raise ValueError(f"Must be at most {enums.RATIONALE_MAX} characters.")
    return text


def normalize_image_url(value: str | None) -> str | None:
    if value is None:
        return None
    url = value.strip()
    if len(url) > enums.IMAGE_URL_MAX:
        raise ValueError(f"Must be at most {enums.IMAGE_URL_MAX} characters.")
    parts = urlsplit(url)
    if parts.scheme != "https" or not parts.hostname or any(ch.isspace() for ch in url):
        raise ValueError("Must be an https:// URL.")
    return url


def normalize_reason(value: str | None, *, required: bool) -> str | None:
    text = (value or "").strip()
    if not text:
        if required:
            raise ValueError("A reason is required to reject a signal.")
        return None
    if len(text) > enums.REASON_MAX:
        raise ValueError(f"Must be at most {enums.REASON_MAX} characters.")
    return text


def price_order_errors(*, direction: str, entry: Decimal, stop: Decimal, take: Decimal) -> dict[str, list[str]]:
    """long: stop < entry < take; short: take < entry < stop. Errors name the field to fix."""
    errors: dict[str, list[str]] = {}
    if direction == enums.LONG:
        if not stop < entry:
            errors["stop_loss"] = ["For a long signal the stop loss must be below the entry price."]
        if not take > entry:
            errors["take_profit"] = ["For a long signal the take profit must be above the entry price."]
    else:
        if not stop > entry:
            errors["stop_loss"] = ["For a short signal the stop loss must be above the entry price."]
        if not take < entry:
            errors["take_profit"] = ["For a short signal the take profit must be below the entry price."]
    return errors


def risk_reward(*, entry: Decimal, stop: Decimal, take: Decimal) -> str:
    """|take − entry| / |entry − stop| as a 2-place decimal string."""
    risk = abs(entry - stop)
    if not risk:
        return "0.00"
    return str((abs(take - entry) / risk).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


# -- documents ------------------------------------------------------------------------------------------
class Review(me.EmbeddedDocument):
    by = me.StringField(required=True)
    at = me.DateTimeField(required=True)
    reason = me.StringField(max_length=enums.REASON_MAX, null=True)


class Transition(me.EmbeddedDocument):
    from_status = me.StringField(db_field="from", choices=enums.STATUSES, required=True)
    to_status = me.StringField(db_field="to", choices=enums.STATUSES, required=True)
    by = me.StringField(required=True)
    at = me.DateTimeField(required=True)
    reason = me.StringField(max_length=enums.REASON_MAX, null=True)


class Outcome(me.EmbeddedDocument):
    """Where the signal stands against market data (``apps.signals.outcomes`` holds the rules). ``starts_at`` is
    the approval the evaluation counts from; everything else is what the API shows."""

    state = me.StringField(required=True, choices=enums.OUTCOME_STATES, default=enums.OUTCOME_PENDING)
    starts_at = me.DateTimeField(null=True)
    entered_at = me.DateTimeField(null=True)
    closed_at = me.DateTimeField(null=True)
    exit_price = me.Decimal128Field(null=True)
    r_multiple = me.Decimal128Field(null=True)


class TradeSignal(me.Document):
    owner_id = me.StringField(required=True)
    owner_name = me.StringField(default="")
    # False while the owner is deactivated: hidden from the public feed and public detail.
    owner_active = me.BooleanField(default=True)
    symbol = me.StringField(required=True, regex=enums.SYMBOL_PATTERN)
    direction = me.StringField(required=True, choices=enums.DIRECTIONS)
    entry_price = me.Decimal128Field(required=True, min_value=Decimal(0))
    stop_loss = me.Decimal128Field(required=True, min_value=Decimal(0))
    take_profit = me.Decimal128Field(required=True, min_value=Decimal(0))
    timeframe = me.StringField(required=True, choices=enums.TIMEFRAMES)
    rationale = me.StringField(required=True, min_length=1, max_length=enums.RATIONALE_MAX)
    image_url = me.StringField(max_length=enums.IMAGE_URL_MAX, null=True)
    image = me.EmbeddedDocumentField(ImageRef, null=True)
    status = me.StringField(required=True, choices=enums.STATUSES, default=enums.PENDING)
    review = me.EmbeddedDocumentField(Review, null=True)
    history = me.EmbeddedDocumentListField(Transition)
    version = me.IntField(required=True, min_value=1, default=1)
    # Absent on signals stored before outcomes existed: read as pending (``services.outcome_state``).
    outcome = me.EmbeddedDocumentField(Outcome, null=True)
    created_at = me.DateTimeField(required=True)
    updated_at = me.DateTimeField(required=True)

    meta = {
        "collection": "trade_signals",
        "db_alias": "signals",
        "indexes": [{"fields": list(fields), "name": name} for name, fields in INDEXES.items()],
    }

    @property
    def risk_reward(self) -> str:
        return risk_reward(entry=self.entry_price, stop=self.stop_loss, take=self.take_profit)


class ChartImage(ImageRecord):
    """One uploaded chart (``kernel.images.records``) and the signal holding it: ``signal_id`` is null until a
    signal takes it, and an upload never taken is collected after IMAGE_ORPHAN_TTL."""

    signal_id = me.ObjectIdField(null=True)

    meta = {
        "collection": "signal_images",
        "db_alias": "signals",
        "indexes": [
            {"fields": ["signal_id", "discarded_at", "created_at"], "name": "unattached_by_age"},
            {"fields": ["discarded_at"], "name": "discarded"},
            {"fields": ["key"], "name": "key", "unique": True},
            {"fields": ["thumbnail_key"], "name": "thumbnail_key"},  # the sweep's "is this file named?"
        ],
    }


class Candle(me.Document):
    """One minute of one symbol's market data (open, high, low, close), stored once per (symbol, minute): the
    same candle again is a no-op and a changed one replaces it. ``t`` is the minute's start, UTC."""

    symbol = me.StringField(required=True, regex=enums.SYMBOL_PATTERN)
    t = me.DateTimeField(required=True)
    o = me.Decimal128Field(required=True)
    h = me.Decimal128Field(required=True)
    l = me.Decimal128Field(required=True)  # noqa: E741 — the field is the candle's low, named as clients send it
    c = me.Decimal128Field(required=True)
    received_at = me.DateTimeField(required=True)

    meta = {
        "collection": "market_candles",
        "db_alias": "signals",
        "indexes": [{"fields": ["symbol", "t"], "name": "symbol_minute", "unique": True}],
    }
