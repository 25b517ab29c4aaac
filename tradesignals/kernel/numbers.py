"""Numbers written by clients and operators: plain ASCII, bounded by length before anything reads them.

Python's ``int()`` and ``Decimal()`` accept digits of every script ("١٢", "１２"), underscores ("5_0") and
surrounding Unicode spaces, and ``str.isdigit`` is true for "²", which ``int()`` then refuses. A number here is
the ASCII digits 0-9 only, read by slicing in one linear pass — never by a regular expression, which a long run
of digits ending in a letter can make backtrack for seconds. No Django import: settings use it too.
"""
from __future__ import annotations

from decimal import Decimal

MAX_DECIMAL_LENGTH = 64  # characters of a decimal's text; far beyond any price, short enough to parse in µs
MAX_INTEGER_DIGITS = 18  # an int of 18 digits is cheap to convert and fits a signed 64-bit BSON integer
_NON_FINITE = frozenset({"nan", "snan", "inf", "infinity"})


def ascii_digits(text: str) -> bool:
    """Only 0-9: ``isdigit`` alone is also true for "²", "١" and "１"."""
    return text.isascii() and text.isdigit()


def parse_ascii_int(text: str, *, max_digits: int = MAX_INTEGER_DIGITS) -> int:
    """A non-negative integer written with the ASCII digits 0-9 only: no sign, spaces, underscores or other
    scripts' digits. ``ValueError`` otherwise; the length is checked before anything reads the text."""
    if not isinstance(text, str) or not 0 < len(text) <= max_digits or not ascii_digits(text):
        raise ValueError("Must be a whole number written with the digits 0-9.")
    return int(text)


def is_non_finite(text: str) -> bool:
    """``NaN``, ``sNaN``, ``Inf``, ``Infinity`` with an optional sign, in any case (``Decimal`` accepts them)."""
    body = text[1:] if text[:1] in ("+", "-") else text
    return len(body) <= 8 and body.lower() in _NON_FINITE


def parse_ascii_decimal(text: str, *, max_length: int = MAX_DECIMAL_LENGTH) -> Decimal:
    """``[+|-]digits[.digits][(e|E)[+|-]digits]`` in ASCII (at least one mantissa digit), at most
    ``max_length`` characters; ``ValueError`` otherwise. Read by slicing, in one linear pass."""
    if not isinstance(text, str) or not 0 < len(text) <= max_length or not text.isascii():
        raise ValueError("Must be a decimal number written with the digits 0-9.")
    body = text[1:] if text[0] in "+-" else text
    mantissa, marker, exponent = body.replace("E", "e").partition("e")
    if marker:
        digits = exponent[1:] if exponent[:1] in ("+", "-") else exponent
        if not digits.isdigit():
            raise ValueError("Must be a decimal number written with the digits 0-9.")
    whole, _, fraction = mantissa.partition(".")
    if not (whole or fraction) or (whole and not whole.isdigit()) or (fraction and not fraction.isdigit()):
        raise ValueError("Must be a decimal number written with the digits 0-9.")
    return Decimal(text)
