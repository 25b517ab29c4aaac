"""The trade-signal field rules (apps/signals/models.py): what a signal may hold, decided without a database.

The API tests prove these rules reach clients as 400s; here each rule's edges are checked directly."""
from decimal import Decimal

import pytest

from apps.signals import enums, models


@pytest.mark.parametrize("raw, symbol", [("btc/usdt", "BTC/USDT"), ("  eth ", "ETH"), ("a1/b2", "A1/B2"),
                                         ("X" * 15, "X" * 15)])
def test_symbols_are_trimmed_and_upper_cased(raw, symbol):
    assert models.normalize_symbol(raw) == symbol


@pytest.mark.parametrize("raw", ["", "   ", "BTC/", "/USDT", "BTC/USDT/X", "BTC-USDT", "X" * 16, "btcuſdt", "ıbm",
                                 "ＢＴＣ", "B TC"])
def test_symbols_outside_the_pattern_or_look_alikes_are_refused(raw):
    with pytest.raises(ValueError):
        models.normalize_symbol(raw)


def test_symbol_length_is_bounded_before_it_is_read():
    with pytest.raises(ValueError, match=f"at most {models.SYMBOL_INPUT_MAX}"):
        models.normalize_symbol("ı" * (models.SYMBOL_INPUT_MAX + 1))


@pytest.mark.parametrize("raw, price", [("64000.10", "64000.10"), ("0.00000001", "0.00000001"), ("1E+3", "1000"),
                                        ("5", "5")])
def test_prices_keep_the_clients_scale_and_never_a_positive_exponent(raw, price):
    normalized = models.normalize_price(Decimal(raw))
    assert normalized == Decimal(price)
    assert normalized.as_tuple().exponent == Decimal(price).as_tuple().exponent


@pytest.mark.parametrize("raw", ["0", "-1", "NaN", "Infinity", "0.000000001", "1e999999999",
                                 "1" * (enums.PRICE_MAX_DIGITS - enums.PRICE_MAX_PLACES + 1)])
def test_prices_that_are_not_positive_finite_and_bounded_are_refused(raw):
    with pytest.raises(ValueError):
        models.normalize_price(Decimal(raw))


def test_a_price_must_be_a_decimal():
    with pytest.raises(ValueError, match="decimal"):
        models.normalize_price(1.5)


def test_price_order_names_the_field_to_fix():
    d = Decimal
    assert models.price_order_errors(direction=enums.LONG, entry=d(100), stop=d(90), take=d(120)) == {}
    assert set(models.price_order_errors(direction=enums.LONG, entry=d(100), stop=d(110), take=d(90))) == {
        "stop_loss", "take_profit"}
    assert models.price_order_errors(direction=enums.SHORT, entry=d(100), stop=d(110), take=d(90)) == {}
    assert set(models.price_order_errors(direction=enums.SHORT, entry=d(100), stop=d(100), take=d(120))) == {
        "stop_loss", "take_profit"}


def test_risk_reward_is_a_two_place_ratio_and_zero_risk_is_zero():
    d = Decimal
    assert models.risk_reward(entry=d("64000.10"), stop=d("63000"), take=d("66000.50")) == "2.00"
    assert models.risk_reward(entry=d(100), stop=d(97), take=d(101)) == "0.33"
    assert models.risk_reward(entry=d(100), stop=d(100), take=d(120)) == "0.00"


def test_rationale_reason_and_image_url_rules():
    assert models.normalize_rationale("  why  ") == "why"
    with pytest.raises(ValueError, match="blank"):
        models.normalize_rationale("   ")
    with pytest.raises(ValueError, match="at most"):
        models.normalize_rationale("x" * (enums.RATIONALE_MAX + 1))
    assert models.normalize_reason("  ", required=False) is None
    with pytest.raises(ValueError, match="reason is required"):
        models.normalize_reason(None, required=True)
    with pytest.raises(ValueError, match="at most"):
        models.normalize_reason("x" * (enums.REASON_MAX + 1), required=False)
    assert models.normalize_image_url(" https://example.com/a.png ") == "https://example.com/a.png"
    assert models.normalize_image_url(None) is None
    for url in ("http://example.com/a.png", "https:///a.png", "https://exa mple.com/a", "javascript:alert(1)"):
        with pytest.raises(ValueError, match="https://"):
            models.normalize_image_url(url)
