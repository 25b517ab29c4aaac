"""The OpenAPI document describes what the request parsers really take, so a client (or the schema fuzz)
that follows it is not refused, and one that does not is.

Each patterned body field is probed with the same strings on both sides: the document's schema for the
field (as a validator reads it) and the field itself (``run_validation``, normaliser included). Whatever the
schema takes, the field takes; for the fields whose pattern is exact, whatever the schema refuses the field
refuses too. The few patterns that name fewer values than are accepted (URLs, emails, prices) are listed.
"""
from __future__ import annotations

import jsonschema_rs
import pytest
from rest_framework import serializers

PROBES = [
    "", " ", "\t", "\x00", "a\x00b", "a", " a ", "\u00a0a\u00a0", "\x1ca\x1f", "\u200bname", "\tname\t", "na\tme",
    "line\nbreak", "x\u2028y", "\x85x", "ok\x7f", "BTC/USDT", " btc/usdt ", "\u3000ETH\u3000", "BTC/", "ｂｔｃ",
    "BTC-USDT", "A" * 16, "https://a.io/x", "https://img.example.com/a/b.png", "HTTPS://a.io", "http://a.io",
    "https://a.io/%.", "https://a", "https://-a.io", "x" * 81, "a@b.io", "a@b.c", "a@b.00", "a b@c.io",
    "trader one", "Zoë 👍", "\U000e0041tag",
]
# (component, field): the pattern takes only some of the accepted values (both directions hold elsewhere).
SUBSET = {("RegisterInputRequest", "email"), ("PatchedProfileUpdateRequest", "avatar_url"),
          ("SignalInputRequest", "image_url"), ("PatchedSignalInputRequest", "image_url")}
# The one value the document takes and the field refuses: a display name's pattern names the refused format
# characters of the Basic Multilingual Plane only (users.api.serializers._refused says why).
KNOWN_GAP = ("PatchedProfileUpdateRequest", "display_name", "\U000e0041tag")


def _serializers() -> dict[str, type[serializers.Serializer]]:
    from apps.accounts.api import views as accounts
    from apps.signals.api import serializers as signals
    from apps.users.api import serializers as users

    return {
        "RegisterInputRequest": accounts.UserRegisterApi.InputSerializer,
        "LoginInputRequest": accounts.UserLoginApi.InputSerializer,
        "RefreshInputRequest": accounts.TokenRefreshApi.InputSerializer,
        "PasswordChangeInputRequest": accounts.UserPasswordChangeApi.InputSerializer,
        "PatchedAdminUserUpdateInputRequest": accounts.UserAdminUpdateApi.InputSerializer,
        "SignalInputRequest": signals.SignalInputSerializer,
        "PatchedSignalInputRequest": signals.SignalInputSerializer,
        "PatchedReviewInputRequest": signals.ReviewInputSerializer,
        "PatchedProfileUpdateRequest": users.ProfileUpdateSerializer,
    }


@pytest.fixture(scope="module")
def document():
    from drf_spectacular.generators import SchemaGenerator

    return SchemaGenerator().get_schema(request=None, public=True)


def _validator(document, schema) -> jsonschema_rs.Draft4Validator:
    """OpenAPI 3.0 schemas are draft 4 (boolean ``exclusiveMaximum``); ``$ref``s point into the document."""
    return jsonschema_rs.Draft4Validator({**schema, "components": document["components"]})


# New passwords: the services run the settings' password validators; the document states their minimum length.
NEW_PASSWORDS = {("RegisterInputRequest", "password"), ("PasswordChangeInputRequest", "new_password")}


def _minimum_length_validators():
    from django.contrib.auth import password_validation

    return [validator for validator in password_validation.get_default_password_validators()
            if isinstance(validator, password_validation.MinimumLengthValidator)]


def _accepted(serializer_class, name: str, value: str, component: str = "") -> bool:
    from django.core.exceptions import ValidationError as DjangoValidationError

    serializer = serializer_class()
    field = serializer.fields[name]
    validate = getattr(serializer, f"validate_{name}", None)
    try:
        value = field.run_validation(value)
        if validate is not None:
            validate(value)
        if getattr(field, "normalize", None) is not None:
            # A signal's fields are normalised again by its service (signals.services._clean, also the
            # console's path), which is where a blank rationale is refused.
            field.normalize(value)
        if (component, name) in NEW_PASSWORDS:
            for validator in _minimum_length_validators():
                validator.validate(value)
    except (serializers.ValidationError, ValueError, DjangoValidationError):
        return False
    return True


def _patterned_fields(document):
    components = document["components"]["schemas"]
    for component, serializer_class in _serializers().items():
        for name, schema in components[component]["properties"].items():
            if "pattern" in schema:
                yield component, name, schema, serializer_class


def test_every_request_body_refuses_unknown_fields(document):
    components = document["components"]["schemas"]
    for component in _serializers():
        assert components[component]["additionalProperties"] is False, component


def test_what_a_field_schema_takes_the_field_takes(document):
    checked = 0
    for component, name, schema, serializer_class in _patterned_fields(document):
        validator = _validator(document, schema)
        for probe in PROBES:
            documented = validator.is_valid(probe)
            accepted = _accepted(serializer_class, name, probe, component)
            if documented and (component, name, probe) != KNOWN_GAP:
                assert accepted, f"{component}.{name}: the document takes {probe!r}, the field refuses it"
            elif (component, name) not in SUBSET:
                assert not accepted, f"{component}.{name}: the field takes {probe!r}, the document refuses it"
            checked += 1
    assert checked >= 18 * len(PROBES)  # every patterned field of every body


def test_text_fields_document_that_nul_and_blanks_are_refused(document):
    components = document["components"]["schemas"]
    login = components["LoginInputRequest"]["properties"]
    email = _validator(document, login["email"])
    assert not email.is_valid("a\x00b") and not email.is_valid("   ") and email.is_valid(" me@example.com ")
    assert not _validator(document, login["password"]).is_valid("pass\x00word")


def test_whitespace_class_is_what_trimming_strips():
    import re

    from tradesignals.kernel.drf.fields import WHITESPACE

    spaces = {chr(point) for point in range(0x110000) if chr(point).isspace()}
    named = {chr(point) for point in range(0x110000) if not 0xD800 <= point <= 0xDFFF
             and re.fullmatch(f"[{WHITESPACE}]", chr(point))}
    assert named == spaces


def test_whole_body_rules_are_documented(document):
    components = document["components"]["schemas"]
    paths = document["paths"]
    review = _validator(document, components["PatchedReviewInputRequest"])
    assert review.is_valid({"status": "approved"}) and review.is_valid({"status": "rejected", "reason": "late"})
    assert not review.is_valid({"status": "rejected"}) and not review.is_valid({"status": "rejected", "reason": " "})
    assert not review.is_valid({})
    assert not _validator(document, components["PatchedAdminUserUpdateInputRequest"]).is_valid({})
    assert not _validator(document, components["PatchedSignalInputRequest"]).is_valid({})
    # A body that must hold something is a required body (sent without one, it is read as {} and refused).
    assert paths["/api/v1/trade-signals/{signal_id}/status"]["patch"]["requestBody"]["required"] is True
    assert paths["/api/v1/auth/admin/users/{user_id}"]["patch"]["requestBody"]["required"] is True
    assert not paths["/api/v1/users/me"]["patch"]["requestBody"].get("required")


def test_prices_are_documented_as_text_or_json_numbers(document):
    price = _validator(document, document["components"]["schemas"]["SignalInputRequest"]["properties"]
                                        ["entry_price"])
    for good in ("64000.50", "0.00000001", "9999999999.99999999", 64000, 0.5):
        assert price.is_valid(good), good
    for bad in ("0", "0.000000001", "10000000000", "-1", "abc", 0, 10**10, True, None):
        assert not price.is_valid(bad), bad


def test_an_empty_query_parameter_is_documented_as_absent(document):
    for path, item in document["paths"].items():
        for operation in item.values():
            for parameter in operation.get("parameters", []):
                if parameter["in"] == "query":
                    # An optional parameter sent empty is absent; a required one sent empty is missing (400).
                    expected = None if parameter.get("required") else True
                    assert parameter.get("allowEmptyValue") is expected, (path, parameter["name"])
