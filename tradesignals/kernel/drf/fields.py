"""Strict input parsing: exact JSON types, decimals that keep their digits, no silently dropped fields.

DRF's defaults are lenient in ways that hurt money data: ``JSONParser`` turns ``64000.10`` into a float,
``CharField`` accepts numbers, ``DecimalField`` accepts ``true``, and unknown fields are ignored. These
classes refuse all of that with a per-field 400.
"""
from __future__ import annotations

import codecs
import json
import re
from collections.abc import Callable, Mapping
from decimal import Decimal, InvalidOperation

from django.conf import settings
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")
_NON_FINITE = re.compile(r"^[+-]?(nan|snan|inf|infinity)$", re.IGNORECASE)


class DuplicateKey(ValueError):
    def __init__(self, key: str):
        self.key = key
        super().__init__(key)


def _unique_keys(pairs: list[tuple[str, object]]) -> dict:
    """``object_pairs_hook`` refusing a key given twice: ``{"status": "pending", "status": "approved"}`` means
    different things to different parsers (first wins, last wins), so neither value is taken."""
    result = {}
    for key, value in pairs:
        if key in result:
            raise DuplicateKey(key)
        result[key] = value
    return result


class StrictJSONParser(JSONParser):
    """JSON with no duplicate keys; nesting too deep for the parser, an unknown charset, invalid UTF-8 or an
    integer beyond Python's digit limit is a 400 ``malformed_request``, never a 500. A duplicate key is a
    ``validation_error`` naming the key."""

    parse_options: dict = {}

    def parse(self, stream, media_type=None, parser_context=None):
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        try:
            reader = codecs.getreader(encoding)(stream)
        except LookupError:
            raise ParseError(f"Unknown charset {encoding[:40]!r}.") from None
        try:
            return json.load(reader, object_pairs_hook=_unique_keys, **self.parse_options)
        except DuplicateKey as exc:
            raise serializers.ValidationError({str(exc.key)[:100]: ["Duplicate key in the JSON object."]}) from None
        except RecursionError:
            raise ParseError("JSON parse error - nested too deeply.") from None
        except ValueError as exc:  # includes UnicodeDecodeError and the int digit limit
            raise ParseError(f"JSON parse error - {str(exc)[:200]}") from None


class UnrepresentableNumber:
    """A JSON number ``Decimal`` cannot hold (``1e999…9``): parsed as this marker so the field that received
    it refuses it by name instead of the whole body failing (or a 500)."""

    def __init__(self, text: str):
        self.text = text[:40]


def _decimal(text: str) -> Decimal | UnrepresentableNumber:
    try:
        return Decimal(text)
    except InvalidOperation:
        return UnrepresentableNumber(text)


class DecimalJSONParser(StrictJSONParser):
    """JSON numbers with a fraction or exponent become ``Decimal`` (never float); NaN/Infinity literals are
    parsed as non-finite Decimals so the field that received them can reject them by name."""

    parse_options = {"parse_float": _decimal, "parse_constant": Decimal}


def _apply(normalize: Callable | None, value):
    if normalize is None:
        return value
    try:
        return normalize(value)
    except ValueError as exc:
        raise serializers.ValidationError(str(exc)) from None


class StrictCharField(serializers.CharField):
    """Only a JSON string is a string (no numbers, booleans, arrays); an optional normaliser applies the
    domain rule and turns its ``ValueError`` into this field's message."""

    default_error_messages = {"invalid": "Must be a string."}

    def __init__(self, *, normalize: Callable[[str], object] | None = None, **kwargs):
        self.normalize = normalize
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return _apply(self.normalize, super().to_internal_value(data))


class StrictChoiceField(serializers.ChoiceField):
    default_error_messages = {
        "invalid": "Must be a string.",
        "invalid_choice": "Must be one of: {choices}.",
    }

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        if data not in self.choices:
            self.fail("invalid_choice", choices=", ".join(str(c) for c in self.choices))
        return data


@extend_schema_field({"type": "string", "format": "decimal", "example": "64000.50"})
class StrictDecimalField(serializers.Field):
    """A decimal sent as a JSON string or number (parsed as Decimal by ``DecimalJSONParser``), rendered as
    a string. Booleans, floats, arrays, objects, NaN and Infinity are refused."""

    default_error_messages = {
        "invalid": "Must be a decimal number, sent as a string or a JSON number.",
        "non_finite": "Must be a finite number.",
    }

    def __init__(self, *, normalize: Callable[[Decimal], Decimal] | None = None, **kwargs):
        self.normalize = normalize
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, (str, int, Decimal)):
            self.fail("invalid")
        if isinstance(data, str):
            text = data.strip()
            if _NON_FINITE.match(text):
                self.fail("non_finite")
            if not _NUMBER.match(text) or len(text) > 64:
                self.fail("invalid")
            try:
                data = Decimal(text)
            except InvalidOperation:
                self.fail("invalid")
        elif isinstance(data, int):
            data = Decimal(data)
        if not data.is_finite():
            self.fail("non_finite")
        return _apply(self.normalize, data)

    def to_representation(self, value):
        return None if value is None else format(value, "f")


class StrictInputSerializer(serializers.Serializer):
    """Refuses a body that is not an object, and every field it does not accept (read-only or unknown)."""

    read_only_names: tuple[str, ...] = ()

    def to_internal_value(self, data):
        if not isinstance(data, Mapping):
            raise serializers.ValidationError({"non_field_errors": ["Expected a JSON object."]})
        writable = {name for name, field in self.fields.items() if not field.read_only}
        errors = {}
        for name in data:
            if name in writable:
                continue
            known = name in self.read_only_names
            errors[str(name)[:100]] = ["This field is read-only." if known else "Unknown field."]
        if errors:
            raise serializers.ValidationError(errors)
        return super().to_internal_value(data)
