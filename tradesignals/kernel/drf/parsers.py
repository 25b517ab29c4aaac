"""Strict JSON request parsing: no duplicate keys, decimals that keep their digits, a 400 for what a parser
cannot read (never a 500).

DRF's ``JSONParser`` turns ``64000.10`` into a float and lets the last of two equal keys win; these parsers
keep every number with a fraction as ``Decimal`` and refuse a key given twice, naming it. Kept apart from the
fields (``kernel.drf.fields``), which re-exports them under the names the settings use.
"""
from __future__ import annotations

import codecs
import json
from decimal import Decimal, InvalidOperation

from django.conf import settings
from rest_framework import serializers
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

from tradesignals.kernel.numbers import MAX_DECIMAL_LENGTH


def field_label(name) -> str:
    """A client-chosen key as an error message may name it: at most 100 characters, and a lone surrogate
    ("\\ud800" is valid JSON) spelled as its escape — rendered as is, it cannot be encoded as UTF-8 and the
    error response itself would fail (500)."""
    return str(name)[:100].encode("utf-8", "backslashreplace").decode("utf-8")


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
            raise serializers.ValidationError({field_label(exc.key): ["Duplicate key in the JSON object."]}) from None
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
    # The scanner hands over ASCII digits only; a number longer than any decimal field takes is refused by
    # that field without converting 64 KiB of digits.
    if len(text) > MAX_DECIMAL_LENGTH:
        return UnrepresentableNumber(text)
    try:
        return Decimal(text)
    except InvalidOperation:
        return UnrepresentableNumber(text)


class DecimalJSONParser(StrictJSONParser):
    """JSON numbers with a fraction or exponent become ``Decimal`` (never float); NaN/Infinity literals are
    parsed as non-finite Decimals so the field that received them can reject them by name."""

    parse_options = {"parse_float": _decimal, "parse_constant": Decimal}
