"""Field rules of a trade signal, table-driven, through the real API (create and edit)."""
import pytest

from tests.support.signals import BASE, VALID

# (field, value sent, expected stored/rendered value or None when it must be refused)
CASES = [
    ("symbol", "  eth  ", "ETH"),
    ("symbol", "btc/usdt", "BTC/USDT"),
    ("symbol", "A" * 15, "A" * 15),
    ("symbol", "A" * 16, None),
    ("symbol", "BTC-USD", None),
    ("symbol", "BTC/", None),
    ("symbol", "", None),
    ("symbol", 123, None),
    ("symbol", ["BTC"], None),
    ("direction", "sideways", None),
    ("direction", True, None),
    ("timeframe", "2h", None),
    ("timeframe", "1w", "1w"),
    ("rationale", "   ", None),
    ("rationale", "  why  ", "why"),
    ("rationale", "x" * 5000, "x" * 5000),
    ("rationale", "x" * 5001, None),
    ("rationale", ["a"], None),
    ("image_url", "https://img.example.com/chart.png", "https://img.example.com/chart.png"),
    ("image_url", "http://img.example.com/chart.png", None),
    ("image_url", "javascript:alert(1)", None),
    ("image_url", "https://e.com/" + "a" * 2040, None),
    ("image_url", None, None.__class__),  # null is allowed (no image)
]


@pytest.mark.parametrize(("field", "value", "expected"), CASES)
def test_field_rules_on_create(owner, field, value, expected):
    response = owner.send("POST", BASE, {**VALID, field: value})
    if expected is None:
        assert response.status_code == 400, response.content
        error = response.json()["error"]
        assert error["code"] == "validation_error"
        assert list(error["details"]) == [field]
    else:
        assert response.status_code == 201, response.content
        stored = response.json()[field]
        assert stored is None if expected is type(None) else stored == expected


# Prices: long needs stop < entry < take. Entry is 100 unless the case overrides it.
PRICE_CASES = [
    ("entry_price", "64000.10", "64000.10"),
    ("entry_price", 100.5, "100.5"),             # JSON number keeps its digits
    ("entry_price", 100, "100"),
    ("entry_price", "100.12345678", "100.12345678"),
    ("entry_price", "100.123456789", None),      # 9 places
    ("entry_price", "1234567890.12345678", "1234567890.12345678"),  # 18 significant digits
    ("entry_price", "12345678901.12345678", None),  # 19 significant digits / too large
    ("entry_price", "0", None),
    ("entry_price", "-5", None),
    ("entry_price", "NaN", None),
    ("entry_price", "Infinity", None),
    ("entry_price", "1e999999999", None),
    ("entry_price", "1e-999999999", None),
    ("entry_price", "1e2", "100"),
    ("entry_price", "1_00", None),
    ("entry_price", "abc", None),
    ("entry_price", True, None),
    ("entry_price", ["100"], None),
    ("entry_price", {"v": 1}, None),
]


@pytest.mark.parametrize(("field", "value", "expected"), PRICE_CASES)
def test_price_rules(owner, field, value, expected):
    body = {**VALID, "entry_price": "100", "stop_loss": "1", "take_profit": "9999999999", field: value}
    response = owner.send("POST", BASE, body)
    if expected is None:
        assert response.status_code == 400, response.content
        assert list(response.json()["error"]["details"]) == [field]
    else:
        assert response.status_code == 201, response.content
        assert response.json()[field] == expected


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity", "1e999999999"])
def test_non_finite_json_number_literals_are_a_field_error(owner, literal):
    raw = (f'{{"symbol":"BTC","direction":"long","entry_price":{literal},"stop_loss":"1","take_profit":"2",'
           '"timeframe":"1h","rationale":"r"}')
    response = owner.send("POST", BASE, raw=raw)
    assert response.status_code == 400, response.content
    assert list(response.json()["error"]["details"]) == ["entry_price"]


@pytest.mark.parametrize(("direction", "entry", "stop", "take", "bad"), [
    ("long", "100", "90", "120", []),
    ("long", "100", "100", "120", ["stop_loss"]),
    ("long", "100", "110", "120", ["stop_loss"]),
    ("long", "100", "90", "95", ["take_profit"]),
    ("long", "100", "110", "95", ["stop_loss", "take_profit"]),
    ("short", "100", "110", "80", []),
    ("short", "100", "90", "80", ["stop_loss"]),
    ("short", "100", "110", "120", ["take_profit"]),
])
def test_price_order_per_direction(owner, direction, entry, stop, take, bad):
    body = {**VALID, "direction": direction, "entry_price": entry, "stop_loss": stop, "take_profit": take}
    response = owner.send("POST", BASE, body)
    if not bad:
        assert response.status_code == 201, response.content
    else:
        assert response.status_code == 400
        assert sorted(response.json()["error"]["details"]) == bad


def test_risk_reward_is_derived_as_two_place_string(owner):
    signal = owner.create(entry_price="100", stop_loss="97", take_profit="110")
    assert signal["risk_reward"] == "3.33"
    short = owner.create(direction="short", entry_price="100", stop_loss="104", take_profit="90")
    assert short["risk_reward"] == "2.50"


@pytest.mark.parametrize("field", ["status", "owner_id", "owner_name", "review", "version", "id",
                                   "created_at", "updated_at", "risk_reward", "history", "surprise"])
def test_fields_a_client_may_not_set_are_refused_on_create_and_edit(owner, field):
    response = owner.send("POST", BASE, {**VALID, field: "approved"})
    assert response.status_code == 400
    assert list(response.json()["error"]["details"]) == [field]
    signal = owner.create()
    response = owner.send("PATCH", f"{BASE}/{signal['id']}", {"rationale": "new", field: "x"})
    assert response.status_code == 400
    assert list(response.json()["error"]["details"]) == [field]
    assert owner.get(f"{BASE}/{signal['id']}").json()["rationale"] == VALID["rationale"]


def test_missing_fields_are_named(owner):
    response = owner.send("POST", BASE, {"symbol": "BTC"})
    assert response.status_code == 400
    assert set(response.json()["error"]["details"]) == {"direction", "entry_price", "stop_loss", "take_profit",
                                                        "timeframe", "rationale"}


@pytest.mark.parametrize("raw", ['["a"]', '"text"', "12", '{"a": ', "null"])
def test_body_that_is_not_an_object_is_400(owner, raw):
    response = owner.send("POST", BASE, raw=raw)
    assert response.status_code == 400
    assert response.json()["error"]["code"] in {"validation_error", "malformed_request"}


def test_edit_validates_against_the_stored_values(owner):
    signal = owner.create(entry_price="100", stop_loss="90", take_profit="120")
    response = owner.send("PATCH", f"{BASE}/{signal['id']}", {"stop_loss": "101"})
    assert response.status_code == 400
    assert list(response.json()["error"]["details"]) == ["stop_loss"]
    response = owner.send("PATCH", f"{BASE}/{signal['id']}", {"direction": "short", "stop_loss": "110",
                                                              "take_profit": "80"})
    assert response.status_code == 200, response.content
    assert response.json()["direction"] == "short"


def test_image_url_is_cleared_with_null(owner):
    signal = owner.create(image_url="https://img.example.com/a.png")
    assert signal["image_url"] == "https://img.example.com/a.png"
    response = owner.send("PATCH", f"{BASE}/{signal['id']}", {"image_url": None})
    assert response.status_code == 200
    assert response.json()["image_url"] is None
    assert owner.get(f"{BASE}/{signal['id']}").json()["image_url"] is None


def test_prices_are_stored_as_decimal128(owner):
    from bson import Decimal128

    from apps.signals.models import TradeSignal

    raw_body = ('{"symbol":"BTC","direction":"long","entry_price":64000.10,"stop_loss":63000,'
                '"take_profit":"66000.50","timeframe":"1h","rationale":"r"}')
    response = owner.send("POST", BASE, raw=raw_body)  # a JSON number, sent with its trailing zero
    assert response.status_code == 201, response.content
    signal = response.json()
    raw = TradeSignal._get_collection().find_one({})
    assert isinstance(raw["entry_price"], Decimal128) and str(raw["entry_price"]) == "64000.10"
    assert signal["entry_price"] == "64000.10"


def test_empty_edit_is_400(owner):
    signal = owner.create()
    response = owner.send("PATCH", f"{BASE}/{signal['id']}", {})
    assert response.status_code == 400
