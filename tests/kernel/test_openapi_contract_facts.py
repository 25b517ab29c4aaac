"""The OpenAPI document states the server's contract, each bound taken from the code that enforces it:
the password policy's minimum length, the rationale's and the symbol's bounds, the price bounds, every
list's page parameters, closed request bodies, nullable objects a strict OpenAPI 3.0 validator accepts,
one named enum per vocabulary in the code's order, and the headers and statuses the server really sends.

Where a bound is a pattern, the same probes go to both sides (the document's schema and the code that
decides), as tests/kernel/test_openapi_request_facts.py does for the text fields.
"""
from __future__ import annotations

from decimal import Decimal

import jsonschema_rs
import pytest
from rest_framework import serializers

JSON = "application/json"
CACHED_READS = ("trade_signals_list_own", "trade_signals_list_public", "trade_signals_list_admin",
                "trade_signal_retrieve")
WRITES = {"trade_signals_create": "201", "trade_signal_update": "200", "trade_signal_review": "200"}


@pytest.fixture(scope="module")
def document():
    from drf_spectacular.generators import SchemaGenerator

    return SchemaGenerator().get_schema(request=None, public=True)


def _operations(document):
    for path, item in document["paths"].items():
        for method, operation in item.items():
            yield path, method, operation


def _operation(document, operation_id: str) -> dict:
    return next(op for _path, _method, op in _operations(document) if op["operationId"] == operation_id)


def _component(document, ref: str) -> dict:
    return document["components"]["schemas"][ref.rsplit("/", 1)[-1]]


def _validator(document, schema) -> jsonschema_rs.Draft4Validator:
    return jsonschema_rs.Draft4Validator({**schema, "components": document["components"]})


def _takes(field, value) -> bool:
    """The field takes the value, its normaliser included (the service runs it again, where a blank
    rationale is refused)."""
    try:
        value = field.run_validation(value)
        if getattr(field, "normalize", None) is not None:
            field.normalize(value)
    except (serializers.ValidationError, ValueError):
        return False
    return True


def _parameter(operation: dict, name: str) -> dict:
    return next(parameter for parameter in operation["parameters"] if parameter["name"] == name)


def test_new_passwords_state_the_policy_minimum(document):
    from django.contrib.auth import password_validation

    minimum = max(validator.min_length for validator in password_validation.get_default_password_validators()
                  if isinstance(validator, password_validation.MinimumLengthValidator))
    schemas = document["components"]["schemas"]
    assert minimum == 12
    assert schemas["RegisterInputRequest"]["properties"]["password"]["minLength"] == minimum
    assert schemas["PasswordChangeInputRequest"]["properties"]["new_password"]["minLength"] == minimum
    from tradesignals.kernel.drf.fields import password_policy_schema

    policy = password_policy_schema()["description"]
    assert "12 characters" in policy
    assert schemas["RegisterInputRequest"]["properties"]["password"]["description"] == policy
    assert schemas["PasswordChangeInputRequest"]["properties"]["new_password"]["description"] == policy
    # Logging in or confirming the current password takes any non-blank text (a wrong one is a 401).
    assert schemas["LoginInputRequest"]["properties"]["password"]["minLength"] == 1


def test_the_password_policy_schema_is_the_validators():
    from django.contrib.auth import password_validation

    from tradesignals.kernel.drf.fields import password_policy_schema

    schema = password_policy_schema()
    assert schema["minLength"] == 12
    for text in password_validation.password_validators_help_texts():
        assert str(text) in schema["description"]


def test_rationale_is_at_most_its_maximum_and_not_blank(document):
    from apps.signals import enums
    from apps.signals.api.serializers import SignalInputSerializer

    rationale = document["components"]["schemas"]["SignalInputRequest"]["properties"]["rationale"]
    assert rationale["maxLength"] == enums.RATIONALE_MAX
    validator = _validator(document, rationale)
    field = SignalInputSerializer().fields["rationale"]
    for probe in ("x" * enums.RATIONALE_MAX, "x" * (enums.RATIONALE_MAX + 1), " x" + " " * (enums.RATIONALE_MAX - 2),
                  " " * 10, "\u3000\n", "", "ok"):
        assert validator.is_valid(probe) is _takes(field, probe), (probe[:10], len(probe))


SYMBOL_PROBES = ["BTC/USDT", "btc/usdt", " ETH ", "\tETH\n", "\u3000ETH", "\u00a0ETH", "A" * 15, "A" * 16,
                 "A" * 15 + "/" + "B" * 15, "BTC/", "/USDT", "BTC-USDT", "ｂｔｃ", "", " ", "B" + " " * 63,
                 "B" + " " * 64, "BTC/USDT/X"]


def test_symbol_bounds_are_the_normaliser(document):
    from apps.signals.api.serializers import PublicFilterSerializer, SignalInputSerializer
    from apps.signals.models import SYMBOL_INPUT_MAX

    body = document["components"]["schemas"]["SignalInputRequest"]["properties"]["symbol"]
    assert body["maxLength"] == SYMBOL_INPUT_MAX
    field = SignalInputSerializer().fields["symbol"]
    body_validator = _validator(document, body)
    for probe in SYMBOL_PROBES:
        assert body_validator.is_valid(probe) is _takes(field, probe), probe

    # The filter reads the raw query value (no Unicode trimming before the normaliser's ASCII check).
    request = type("Request", (), {})()
    for operation_id in ("trade_signals_list_own", "trade_signals_list_public", "trade_signals_list_admin"):
        schema = _parameter(_operation(document, operation_id), "symbol")["schema"]
        assert schema["maxLength"] == SYMBOL_INPUT_MAX
        filter_validator = _validator(document, schema)
        for probe in [p for p in SYMBOL_PROBES if p]:  # an empty value is an absent filter
            request.query_params = {"symbol": probe}
            try:
                PublicFilterSerializer.from_request(request)
                accepted = True
            except Exception:  # noqa: BLE001 - ValidationFailed, the 400 of the filter
                accepted = False
            assert filter_validator.is_valid(probe) is accepted, (operation_id, probe)


# Exponent notation is read as well, within the same bounds; no pattern can bound it by its value.
PRICE_TEXT = ["64000.50", "1", "0.00000001", "9999999999.99999999", "+5", "007.5", "1.", ".5", "+.5",
              "1.000000000", "0.10", "0", "0.0", "0.", ".", "0.000000001", "10000000000", "9999999999.999999999",
              "-1", "1e3", "abc", " 1", "1 ", "１", "1_0", "NaN", "Infinity", "0x10", "", "1.2.3"]
EXPONENT_FORMS = {"1e3"}


def test_prices_are_the_normaliser(document):
    from apps.signals import enums
    from apps.signals.api.serializers import SignalInputSerializer

    price = document["components"]["schemas"]["SignalInputRequest"]["properties"]["entry_price"]
    number = next(branch for branch in price["anyOf"] if branch["type"] == "number")
    integer_digits = enums.PRICE_MAX_DIGITS - enums.PRICE_MAX_PLACES
    assert (number["minimum"], number["exclusiveMinimum"]) == (0, True)
    assert (number["maximum"], number["exclusiveMaximum"]) == (10**integer_digits, True)
    assert Decimal(str(number["multipleOf"])) == Decimal(1).scaleb(-enums.PRICE_MAX_PLACES)

    validator = _validator(document, price)
    field = SignalInputSerializer().fields["entry_price"]
    for probe in PRICE_TEXT:
        accepted = _takes(field, probe)
        if probe in EXPONENT_FORMS:
            assert accepted and not validator.is_valid(probe), probe
        else:
            assert validator.is_valid(probe) is accepted, probe


def test_every_list_documents_its_page_parameters(document):
    from tradesignals.kernel.drf import pagination

    lists = 0
    for path, method, operation in _operations(document):
        ok = operation["responses"].get("200", {}).get("content", {}).get(JSON, {}).get("schema", {})
        if method != "get" or "next" not in _component(document, ok.get("$ref", "/none")).get("properties", {}):
            continue
        lists += 1
        limit = _parameter(operation, "limit")["schema"]
        assert (limit["type"], limit["minimum"], limit["maximum"], limit["default"]) == (
            "integer", 1, pagination.MAX_LIMIT, pagination.DEFAULT_LIMIT), path
        assert _parameter(operation, "cursor")["schema"]["maxLength"] == pagination.MAX_CURSOR_LENGTH, path
    assert lists >= 6


def test_every_request_body_is_closed(document):
    bodies = 0
    for path, method, operation in _operations(document):
        for content in operation.get("requestBody", {}).get("content", {}).values():
            bodies += 1
            assert _component(document, content["schema"]["$ref"])["additionalProperties"] is False, (method, path)
    assert bodies >= 9


def _walk(node, trail=()):
    if isinstance(node, dict):
        yield trail, node
        for key, value in node.items():
            yield from _walk(value, (*trail, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _walk(value, (*trail, index))


def test_nullable_objects_are_ones_a_strict_validator_accepts(document):
    from openapi_schema_validator import OAS30Validator

    for trail, node in _walk(document):
        if node.get("nullable") is True:
            assert "type" in node, trail  # OpenAPI 3.0.3: nullable widens the type of its own schema only
    for component in ("SignalOutput", "SignalDetailOutput"):
        review = document["components"]["schemas"][component]["properties"]["review"]
        validator = OAS30Validator({**review, "components": document["components"]})
        assert validator.is_valid(None)
        assert validator.is_valid({"by": "a1", "at": "2026-11-01T12:00:00Z", "reason": None})
        assert not validator.is_valid({"by": "a1"}) and not validator.is_valid("approved")


def test_each_vocabulary_is_one_named_enum_in_the_codes_order(document):
    from apps.accounts.enums import AUDIT_TYPES
    from apps.signals import enums
    from tradesignals.kernel.identity import ROLES

    schemas = document["components"]["schemas"]
    expected = {"DirectionEnum": enums.DIRECTIONS, "TimeframeEnum": enums.TIMEFRAMES,
                "SignalStatusEnum": enums.STATUSES, "ReviewDecisionEnum": enums.REVIEW_STATUSES,
                "RoleEnum": ROLES, "AuditTypeEnum": AUDIT_TYPES}
    for name, values in expected.items():
        assert schemas[name] == {"type": "string", "enum": list(values)}, name
    # No inline enum anywhere but the enum components themselves, the single-member discriminators of a
    # body rule (the review's anyOf) and a response header's values (X-Cache).
    for trail, node in _walk(document):
        if "enum" in node and not (len(trail) == 3 and trail[:2] == ("components", "schemas")):
            assert "anyOf" in trail or "headers" in trail, trail
    refs = {
        ("SignalOutput", "direction"): "DirectionEnum", ("SignalOutput", "timeframe"): "TimeframeEnum",
        ("SignalOutput", "status"): "SignalStatusEnum", ("Transition", "from"): "SignalStatusEnum",
        ("Transition", "to"): "SignalStatusEnum", ("SignalInputRequest", "direction"): "DirectionEnum",
        ("PatchedReviewInputRequest", "status"): "ReviewDecisionEnum", ("User", "role"): "RoleEnum",
        ("Profile", "role"): "RoleEnum", ("AuditEntry", "type"): "AuditTypeEnum",
    }
    for (component, field), enum in refs.items():
        assert schemas[component]["properties"][field] == {"$ref": f"#/components/schemas/{enum}"}, (component, field)
    filters = {("trade_signals_list_own", "status"): "SignalStatusEnum",
               ("trade_signals_list_admin", "status"): "SignalStatusEnum",
               ("trade_signals_list_public", "direction"): "DirectionEnum",
               ("trade_signals_list_own", "timeframe"): "TimeframeEnum",
               ("users_list", "role"): "RoleEnum", ("auth_admin_audit_list", "type"): "AuditTypeEnum"}
    for (operation_id, name), enum in filters.items():
        assert _parameter(_operation(document, operation_id), name)["schema"] == {
            "$ref": f"#/components/schemas/{enum}"}, (operation_id, name)


def test_headers_and_statuses_the_server_sends_are_documented(document):
    for path, method, operation in _operations(document):
        responses = operation["responses"]
        for status in ("405", "406", "429"):
            assert status in responses, (method, path, status)
        assert responses["405"]["headers"]["Allow"]["required"] is True
        assert responses["429"]["headers"]["Retry-After"]["required"] is True
        if "401" in responses:
            assert responses["401"]["headers"]["WWW-Authenticate"]["required"] is True
    for operation_id in CACHED_READS:
        responses = _operation(document, operation_id)["responses"]
        for status in ("200", "304"):
            assert {name for name, header in responses[status]["headers"].items() if header["required"]} == {
                "ETag", "X-Cache"}, (operation_id, status)
    for operation_id, status in WRITES.items():
        headers = _operation(document, operation_id)["responses"][status]["headers"]
        assert headers["ETag"]["required"] is True, operation_id
        assert ("Location" in headers) is (status == "201"), operation_id


def test_operations_no_credential_takes_part_in_have_no_security(document):
    for operation_id in ("auth_register", "auth_login", "auth_refresh", "trade_signals_list_public"):
        assert _operation(document, operation_id)["security"] == [], operation_id
    assert {} in _operation(document, "trade_signal_retrieve")["security"]  # a token is optional there
