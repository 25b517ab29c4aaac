"""ASCII-only numbers (kernel/numbers.py): what clients and operators may write, refused before any parsing."""
from decimal import Decimal

import pytest

from tradesignals.kernel import numbers


@pytest.mark.parametrize("text, value", [("0", 0), ("7", 7), ("000123", 123), ("9" * 18, int("9" * 18))])
def test_plain_ascii_integers_are_read(text, value):
    assert numbers.parse_ascii_int(text) == value


@pytest.mark.parametrize("text", ["", " 5", "5 ", "+5", "-5", "5_0", "１２", "١٢", "²", "1e3", "9" * 19, "12a"])
def test_anything_but_ascii_digits_is_refused_as_an_integer(text):
    with pytest.raises(ValueError, match="digits 0-9"):
        numbers.parse_ascii_int(text)


def test_integer_length_is_bounded_and_non_text_refused():
    assert numbers.parse_ascii_int("12345", max_digits=5) == 12345
    with pytest.raises(ValueError):
        numbers.parse_ascii_int("123456", max_digits=5)
    with pytest.raises(ValueError):
        numbers.parse_ascii_int(12)


@pytest.mark.parametrize("text, value", [("64000.10", Decimal("64000.10")), ("-1.5", Decimal("-1.5")),
                                         ("+.5", Decimal("0.5")), ("5.", Decimal("5")), ("1e3", Decimal("1000")),
                                         ("2.5E-2", Decimal("0.025"))])
def test_plain_ascii_decimals_are_read(text, value):
    assert numbers.parse_ascii_decimal(text) == value


@pytest.mark.parametrize("text", ["", ".", "-", "1.2.3", "1e", "1e+", "e5", "١٫٥", "１.5", "5_0.1", " 1.5", "0x10",
                                  "1" * 65])
def test_anything_else_is_refused_as_a_decimal(text):
    with pytest.raises(ValueError, match="digits 0-9"):
        numbers.parse_ascii_decimal(text)


@pytest.mark.parametrize("text", ["NaN", "-nan", "sNaN", "Inf", "+infinity", "INFINITY"])
def test_non_finite_spellings_are_recognised(text):
    assert numbers.is_non_finite(text)


@pytest.mark.parametrize("text", ["1", "nano", "infinite", "-", ""])
def test_finite_or_other_text_is_not_non_finite(text):
    assert not numbers.is_non_finite(text)


def test_ascii_digits_rejects_other_scripts_that_isdigit_accepts():
    assert "²".isdigit() and "١".isdigit()
    assert numbers.ascii_digits("0123456789")
    assert not numbers.ascii_digits("²") and not numbers.ascii_digits("١") and not numbers.ascii_digits("１")
