"""Market data: one-minute candles in (validated, stored once per symbol and minute) and read back.

The field rules are plain functions (``parse_minute``, ``parse_price``, ``clean_candle``) raising or returning
user-facing messages, so the API, the ``load_candles`` command and any other caller apply the same rules; the
service applies them again, because it is the one writer. No DRF here.

Writes are idempotent on ``(symbol, t)``: a candle already stored with the same prices is left alone, a
changed one replaces the stored prices, a new one is inserted. Prices compare by value ("64000.10" and
"64000.1" are the same price; the stored text keeps the scale it was first sent with). Whatever an ingest
stored or changed is announced by one ``market.candles_received`` event in the same transaction (the
evaluation of signals consumes it), and an ingest that changed nothing publishes nothing, so replaying a
batch wakes nobody.
"""
from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from operator import attrgetter

from bson.decimal128 import Decimal128
from pymongo import InsertOne, UpdateOne
from pymongo.errors import BulkWriteError, DuplicateKeyError, OperationFailure

from apps.signals import enums
from apps.signals import events as signal_events
from apps.signals.models import Candle, normalize_price, normalize_symbol
from tradesignals.kernel import events, mongo
from tradesignals.kernel.clock import isoformat, utcnow
from tradesignals.kernel.errors import Conflict, ValidationFailed
from tradesignals.kernel.numbers import MAX_DECIMAL_LENGTH, is_non_finite, parse_ascii_decimal
from tradesignals.kernel.pagination import Page, Position, paginate
from tradesignals.kernel.retry import WriteLost, is_write_conflict, retry_on_conflict

__all__ = ["CANDLE_FIELDS", "INDEX", "INSTANT_MAX", "PRICE_FIELDS", "Ingested", "candle_list", "candles_ingest",
           "clean_candle", "parse_instant", "parse_minute", "parse_price"]

PRICE_FIELDS = ("o", "h", "l", "c")
CANDLE_FIELDS = ("t", *PRICE_FIELDS)
INDEX = "symbol_minute"  # Candle's unique (symbol, t) index: every read and the ingest's lookup use it
INSTANT_MAX = 40  # characters of an RFC 3339 timestamp as sent; bounded before anything reads it
MINUTE_TEXT = "Must be an RFC 3339 UTC minute, e.g. 2026-01-02T03:04:00Z."
# Bounded input (INSTANT_MAX) and no nested quantifiers: linear. ASCII digits only (re.ASCII), UTC only.
_MINUTE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]{1,9})?(?:Z|\+00:00)",
                     re.ASCII)
_INSTANT = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]{1,6})?"
                      r"(?:Z|[+-][0-9]{2}:[0-9]{2})", re.ASCII)
# The same languages for the OpenAPI document (no \d: Rust's regex reads it as any Unicode digit).
MINUTE_PATTERN = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:00(?:\.0{1,9})?(?:Z|\+00:00)$"
INSTANT_PATTERN = (r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]{1,6})?"
                   r"(?:Z|[+-][0-9]{2}:[0-9]{2})$")


# -- field rules -------------------------------------------------------------------------------------------
def parse_minute(value) -> datetime:
    """The start of a UTC minute, from RFC 3339 text (``Z`` or ``+00:00``, seconds 0; a fraction only of
    zeros) or an aware datetime; ``ValueError`` otherwise. Not in the future is the caller's check
    (``clean_candle``), since it needs the request's clock."""
    if isinstance(value, datetime):
        if value.tzinfo is None or value.utcoffset().total_seconds() != 0:
            raise ValueError(MINUTE_TEXT)
        moment = value.astimezone(UTC)
    elif isinstance(value, str):
        if len(value) > INSTANT_MAX or not _MINUTE.fullmatch(value):
            raise ValueError(MINUTE_TEXT)
        rest = value[19:]
        fraction = rest[1:].removesuffix("Z").removesuffix("+00:00") if rest.startswith(".") else ""
        if value[17:19] != "00" or fraction.strip("0"):
            raise ValueError("Must be the start of a minute (seconds 0).")
        try:
            moment = datetime.fromisoformat(value[:19]).replace(tzinfo=UTC)
        except ValueError:
            raise ValueError(MINUTE_TEXT) from None
    else:
        raise ValueError(MINUTE_TEXT)
    if moment.second or moment.microsecond:
        raise ValueError("Must be the start of a minute (seconds 0).")
    return moment


def parse_instant(value: str) -> datetime:
    """Any RFC 3339 timestamp with an offset (the bounds of a read), as an aware UTC datetime."""
    if not isinstance(value, str) or len(value) > INSTANT_MAX or not _INSTANT.fullmatch(value):
        raise ValueError("Must be an RFC 3339 timestamp with an offset, e.g. 2026-01-02T03:04:00Z.")
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError("Must be an RFC 3339 timestamp with an offset, e.g. 2026-01-02T03:04:00Z.") from None
    return moment.astimezone(UTC)


def parse_price(value) -> Decimal:
    """A price sent as a decimal string (or already a ``Decimal``): ASCII digits, at most 64 characters,
    finite, then ``models.normalize_price``. JSON numbers are refused: a feed sends prices as text, so no
    client's float ever rounds a price on its way here."""
    if isinstance(value, str):
        if is_non_finite(value):
            raise ValueError("Must be a finite number.")
        try:
            value = parse_ascii_decimal(value, max_length=MAX_DECIMAL_LENGTH)
        except (ValueError, InvalidOperation):
            raise ValueError("Must be a decimal number written as a string with the digits 0-9 "
                             f"(at most {MAX_DECIMAL_LENGTH} characters).") from None
    elif not isinstance(value, Decimal):
        raise ValueError("Must be a decimal number sent as a string, e.g. \"64000.10\".")
    return normalize_price(value)


def clean_candle(raw, *, now: datetime) -> tuple[dict | None, dict[str, list[str]]]:
    """``(values, errors)`` of one candle: ``values`` (``t`` a datetime, prices Decimals) when ``errors`` is
    empty. Exactly the fields t, o, h, l, c; ``l ≤ o, c ≤ h``; a minute that has not started at ``now`` is
    in the future."""
    if not isinstance(raw, Mapping):
        return None, {"non_field_errors": ["Expected a JSON object with t, o, h, l, c."]}
    errors: dict[str, list[str]] = {}
    for name in raw:
        if name not in CANDLE_FIELDS:
            errors[str(name)[:100].encode("utf-8", "backslashreplace").decode("utf-8")] = ["Unknown field."]
    values: dict = {}
    for name in CANDLE_FIELDS:
        if name not in raw:
            errors[name] = ["This field is required."]
            continue
        try:
            values[name] = parse_minute(raw[name]) if name == "t" else parse_price(raw[name])
        except ValueError as exc:
            errors[name] = [str(exc)]
    if "t" in values and values["t"] > now:
        errors["t"] = ["Must not be in the future: this minute has not started yet."]
    if all(name in values for name in PRICE_FIELDS):
        o, h, low, c = (values[name] for name in PRICE_FIELDS)
        if low > o or low > c:
            errors["l"] = ["The low must not be above the open or the close."]
        if h < o or h < c:
            errors["h"] = ["The high must not be below the open or the close."]
    return (None, errors) if errors else (values, {})


def _clean_batch(symbol, candles) -> tuple[str, list[dict]]:
    """The normalised symbol and candles, or one ``ValidationFailed`` naming every bad candle by its index
    (``{"candles": {"3": {"h": [...]}}}``) and a minute sent twice."""
    errors: dict = {}
    try:
        if not isinstance(symbol, str):
            raise ValueError("Must be a string.")
        symbol = normalize_symbol(symbol)
    except ValueError as exc:
        errors["symbol"] = [str(exc)]
    if isinstance(candles, (str, bytes, Mapping)) or not isinstance(candles, Sequence):
        errors["candles"] = ["Expected a list of candles."]
    elif not 1 <= len(candles) <= enums.CANDLES_PER_REQUEST:
        errors["candles"] = [f"Send 1 to {enums.CANDLES_PER_REQUEST} candles."]
    if errors:
        raise ValidationFailed(details=errors)
    now, cleaned, bad, seen = utcnow(), [], {}, {}
    for index, raw in enumerate(candles):
        values, problems = clean_candle(raw, now=now)
        if values is not None and values["t"] in seen:
            problems = {"t": [f"The same minute as candle {seen[values['t']]} of this request."]}
        if problems:
            bad[str(index)] = problems
            continue
        seen[values["t"]] = index
        cleaned.append(values)
    if bad:
        raise ValidationFailed(details={"candles": bad})
    return symbol, cleaned


# -- the service -------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Ingested:
    """What one ingest did: candles received, newly stored, changed (replaced), unchanged (already stored
    with the same prices)."""

    symbol: str
    received: int
    stored: int
    changed: int
    unchanged: int


def _same(stored: dict, values: dict) -> bool:
    return all(stored[name].to_decimal() == values[name] for name in PRICE_FIELDS)


def _prices(values: dict) -> dict:
    return {name: Decimal128(values[name]) for name in PRICE_FIELDS}


def _lost(exc: OperationFailure) -> bool:
    """A concurrent ingest of the same minutes won: a write conflict, or its insert came first (11000)."""
    if is_write_conflict(exc) or isinstance(exc, DuplicateKeyError):
        return True
    if isinstance(exc, BulkWriteError):
        return any(error.get("code") == 11000 for error in exc.details.get("writeErrors", ()))
    return exc.code == 11000


def candles_ingest(*, symbol: str, candles: Sequence[Mapping]) -> Ingested:
    """Validate and store one symbol's candles (1–``CANDLES_PER_REQUEST``; ``t`` an RFC 3339 minute or an aware
    datetime, prices decimal strings or Decimals), idempotent on ``(symbol, t)``; ``ValidationFailed`` naming
    every bad candle stores none of them. Publishes ``market.candles_received`` ``{symbol, first, last,
    count}`` over the minutes it stored or changed, in the same transaction, when there are any."""
    symbol, cleaned = _clean_batch(symbol, candles)
    minutes = [values["t"] for values in cleaned]
    collection = Candle._get_collection()  # before the transaction: a first use builds the indexes

    def attempt() -> Ingested:
        moment = utcnow()
        outcome: list[Ingested] = []

        def write(session) -> None:
            stored = {raw["t"]: raw for raw in collection.find({"symbol": symbol, "t": {"$in": minutes}},
                                                               session=session).hint(INDEX)}
            operations, touched, changed = [], [], 0
            for values in cleaned:
                old = stored.get(values["t"])
                if old is None:
                    operations.append(InsertOne({"symbol": symbol, "t": values["t"], **_prices(values),
                                                 "received_at": moment}))
                elif _same(old, values):
                    continue
                else:
                    operations.append(UpdateOne({"symbol": symbol, "t": values["t"]},
                                                {"$set": {**_prices(values), "received_at": moment}}))
                    changed += 1
                touched.append(values["t"])
            if operations:
                collection.bulk_write(operations, ordered=True, session=session)
                events.publish(signal_events.CANDLES_RECEIVED, key=symbol, producer=signal_events.PRODUCER, data={
                    "symbol": symbol, "first": isoformat(min(touched)), "last": isoformat(max(touched)),
                    "count": len(touched)})
            outcome.append(Ingested(symbol=symbol, received=len(cleaned), stored=len(touched) - changed,
                                    changed=changed, unchanged=len(cleaned) - len(touched)))

        try:
            with events.atomic("signals") as session:
                write(session)
        except OperationFailure as exc:
            if not _lost(exc):
                raise
            raise WriteLost() from None
        return outcome[-1]

    return retry_on_conflict(attempt, conflict=Conflict("These candles are being stored concurrently; retry."))


# -- the selector ------------------------------------------------------------------------------------------
def candle_list(*, symbol: str, since: datetime | None = None, until: datetime | None = None,
                after: Position | None = None, limit: int = enums.CANDLES_PER_REQUEST) -> Page[Candle]:
    """One symbol's candles with ``since ≤ t ≤ until`` (either open), oldest first, continuing after a
    position (a minute is unique per symbol, so the position's time alone says where). One range scan of
    the (symbol, t) index; may read a secondary, like every public read."""
    bounds: dict = {}
    if after is not None:
        bounds["$gt"] = after[0]
    elif since is not None:
        bounds["$gte"] = since
    if until is not None:
        bounds["$lte"] = until
    query: dict = {"symbol": symbol, **({"t": bounds} if bounds else {})}
    cursor = (mongo.collection(Candle, mongo.PUBLIC).find(query).sort([("t", 1)]).limit(limit + 1)
              .hint(INDEX))
    return paginate([Candle._from_son(raw) for raw in cursor], limit=limit, key=attrgetter("t"))
