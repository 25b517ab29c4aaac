"""Unicode never reaches ``int()`` / ``Decimal()`` unchecked: only the ASCII digits 0-9 make a number.

Python reads "１０" (full-width), "٥" (Arabic-Indic) and "5_0" as numbers and crashes on "²" (``isdigit()`` is
true, ``int()`` raises). Every numeric and enumerated query parameter of every list, and the decimal fields of
a signal, answer 400 ``validation_error`` naming the parameter for anything that is not exactly a member (or
plain ASCII digits in range), the ordinary 200/201 otherwise, and never a 500 — anonymous lists included.

Parameters are sent as URL-encoded UTF-8 bytes ("\\ud800" as ``%ED%A0%80``, as a client would send it); the
parameters and their members come from the OpenAPI schema, so a filter added later is covered.
"""
from __future__ import annotations

import json
import re
from decimal import Decimal
from urllib.parse import quote

import pytest
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from tests.security.routes import concrete
from tests.support.discussions import BASE as DISCUSSIONS
from tests.support.discussions import approved_signal, comment, start_thread
from tests.support.errors import assert_error
from tests.support.signals import BASE, VALID

SCHEMA = SchemaGenerator().get_schema(request=None, public=True)

# The lists the issue names, and who may read each (the public feed is read anonymously).
LISTS = {
    f"{BASE}/public": "anonymous",
    BASE: "owner",
    f"{BASE}/admin": "admin",
    "/api/v1/users": "admin",
    "/api/v1/auth/sessions": "owner",
    "/api/v1/auth/admin/audit": "admin",
    DISCUSSIONS: "anonymous",
    f"{DISCUSSIONS}/{{thread_id}}/comments": "anonymous",
    f"{DISCUSSIONS}/signals/{{signal_id}}/comments": "anonymous",
    f"{DISCUSSIONS}/reports": "admin",
    f"{BASE}/market/candles": "anonymous",
}
# What a list needs besides the parameter under test (its required parameters).
REQUIRED = {f"{BASE}/market/candles": {"symbol": "BTC/USDT"}}

EXAMPLES = ["１０", "²", "٥", "5_0", " 5", "5 ", "5\u00a0", "\u00a05", "\x00", "5\x00", "\ud800", "5\u0301",
            "\u0301", "+5", "-5", "5.0", "5e1", "0x5", "\ufeff5", "5\u200b", "\u3000", "\t5", "5\n", "LONG", "True",
            "yes", "1", "0", "00", "007", "101", "", "\udfff\ud800"]

# Characters of the categories that fool ``isdigit``/``int()``/``strip()``: digits of other scripts (Nd),
# superscripts and fractions (No), spaces (Zs), controls (Cc, NUL included), combining marks (Mn), format
# characters (Cf, zero-width and BOM), lone surrogates (Cs), and connector punctuation ("_", Pc).
UNICODE = st.characters(categories=["Nd", "No", "Zs", "Cc", "Mn", "Cf", "Cs", "Pc"])


def _resolved(schema: dict) -> dict:
    """A parameter's schema with a shared enum component (``$ref``) read in place."""
    if "$ref" in schema:
        return SCHEMA["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    return schema


def _parameters(path: str) -> dict[str, dict]:
    return {p["name"]: _resolved(p["schema"]) for p in SCHEMA["paths"][path]["get"].get("parameters", [])
            if p["in"] == "query" and p["name"] not in REQUIRED.get(path, {})}


def _members(schema: dict) -> tuple[str, ...] | None:
    if "enum" in schema:
        return tuple(str(member) for member in schema["enum"])
    if schema.get("type") == "boolean":
        return ("true", "false")
    return None


def _cases(kind: str) -> list:
    cases = []
    for path in LISTS:
        for name, schema in _parameters(path).items():
            if (kind == "numeric") == (schema.get("type") == "integer") and (
                    kind == "numeric" or _members(schema) is not None):
                cases.append(pytest.param(path, name, id=f"{path}?{name}"))
    return cases


NUMERIC = _cases("numeric")
ENUMERATED = _cases("enumerated")


def test_every_list_of_the_schema_is_here():
    """Every GET that pages (takes ``limit``) is a list above: one added later fails here until it is."""
    paged = {path for path, item in SCHEMA["paths"].items()
             if "get" in item and any(p["name"] == "limit" for p in item["get"].get("parameters", []))}
    assert paged == set(LISTS)


def test_every_list_has_its_numeric_and_enumerated_parameters():
    assert {case.values[0] for case in NUMERIC} == set(LISTS)  # every list takes a limit
    assert {case.values[1] for case in ENUMERATED} >= {"direction", "timeframe", "status", "role", "is_active", "type"}


class Callers(dict):
    """The callers by role, and real ids for the lists under one object (a forum thread with a comment, an
    approved signal with a comment under it), made on first use."""

    def __init__(self, owner, admin, anonymous):
        super().__init__(owner=owner, admin=admin, anonymous=anonymous)
        self.ids: dict[str, str] = {}

    def path(self, template: str) -> str:
        if "{" in template and not self.ids:
            owner, admin = self["owner"], self["admin"]
            thread = start_thread(owner)
            comment(owner, thread["id"])
            signal = approved_signal(owner=owner, admin=admin)
            assert owner.send("POST", f"{DISCUSSIONS}/signals/{signal['id']}/comments",
                              {"body": "First under the signal"}).status_code == 201
            self.ids.update(thread_id=thread["id"], signal_id=signal["id"])
        return concrete(template, **self.ids)


@pytest.fixture
def callers(owner, admin, anonymous):
    return Callers(owner, admin, anonymous)


def _get(callers, path: str, name: str, value: str):
    caller = callers[LISTS[path]]
    encoded = quote(value.encode("utf-8", "surrogatepass"), safe="")
    required = "".join(f"&{key}={quote(text, safe='')}" for key, text in REQUIRED.get(path, {}).items())
    return caller.client.get(f"{callers.path(path)}?{name}={encoded}{required}", **caller._headers(None))


def _plain_number(value: str) -> bool:
    return value != "" and all(char in "0123456789" for char in value)


def _limit_ok(value: str) -> bool:
    return value == "" or (_plain_number(value) and len(value) <= 18 and 1 <= int(value) <= 100)


def _assert_answer(response, name: str, accepted: bool):
    assert response.status_code < 500, response.content[:300]
    if accepted:
        assert response.status_code == 200, response.content[:300]
    else:
        error = assert_error(response, 400, "validation_error")
        assert name in error["details"], error
        assert all(isinstance(m, str) and m for m in error["details"][name])


def _numbers_and_near_misses():
    """Plain numbers in and out of range, and the same with Unicode put before, inside or after them."""
    number = st.integers(min_value=0, max_value=150).map(str)
    noise = st.text(alphabet=UNICODE, min_size=1, max_size=3)
    mixed = st.tuples(number, noise, st.integers(min_value=0, max_value=3)).map(
        lambda t: t[0][: t[2]] + t[1] + t[0][t[2]:])
    return st.one_of(number, mixed, st.text(alphabet=UNICODE, max_size=4))


def _members_and_near_misses(members: tuple[str, ...]):
    member = st.sampled_from(members)
    noise = st.text(alphabet=UNICODE, min_size=1, max_size=2)
    mixed = st.tuples(member, noise, st.integers(min_value=0, max_value=8)).map(
        lambda t: t[0][: t[2]] + t[1] + t[0][t[2]:])
    return st.one_of(member, mixed, member.map(str.upper), member.map(lambda m: f" {m}"),
                     st.text(alphabet=UNICODE, max_size=4))


@pytest.mark.parametrize("path,name", NUMERIC)
def test_explicit_numeric_examples(callers, path, name):
    for value in EXAMPLES:
        _assert_answer(_get(callers, path, name, value), name, _limit_ok(value))


@pytest.mark.parametrize("path,name", ENUMERATED)
def test_explicit_enumerated_examples(callers, path, name):
    members = _members(_parameters(path)[name])
    for value in [*EXAMPLES, *members, *(f"{m}\x00" for m in members), *(f"{m}\u0301" for m in members),
                  *(f"\u00a0{m}" for m in members), *(m.upper() for m in members)]:
        _assert_answer(_get(callers, path, name, value), name, value == "" or value in members)


@pytest.mark.parametrize("path,name", NUMERIC)
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_a_numeric_parameter_is_plain_ascii_digits_in_range(callers, path, name, data):
    value = data.draw(_numbers_and_near_misses(), label="value")
    _assert_answer(_get(callers, path, name, value), name, _limit_ok(value))


@pytest.mark.parametrize("path,name", ENUMERATED)
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_an_enumerated_parameter_is_exactly_a_member(callers, path, name, data):
    members = _members(_parameters(path)[name])
    value = data.draw(_members_and_near_misses(members), label="value")
    _assert_answer(_get(callers, path, name, value), name, value == "" or value in members)


# --- identifier filters (``signal_id`` on the thread list) ------------------------------------------------------

def _identifier_cases() -> list:
    return [pytest.param(path, name, id=f"{path}?{name}") for path in LISTS
            for name, schema in _parameters(path).items()
            if name.endswith("_id") and schema.get("type") == "string" and "enum" not in schema]


IDENTIFIERS = _identifier_cases()


def _identifier_ok(value: str) -> bool:
    return value == "" or (0 < len(value) <= 64 and value.isascii() and value.isalnum())


def test_the_identifier_filters_are_enumerated():
    assert (DISCUSSIONS, "signal_id") in {tuple(case.values) for case in IDENTIFIERS}


@pytest.mark.parametrize("path,name", IDENTIFIERS)
def test_explicit_identifier_examples(callers, path, name):
    for value in [*EXAMPLES, "ａｂｃ", "abc\u0301", "ab_c", "ab-c", "a" * 64, "a" * 65, "Ａ1", "\u0661\u0662"]:
        _assert_answer(_get(callers, path, name, value), name, _identifier_ok(value))


@pytest.mark.parametrize("path,name", IDENTIFIERS)
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(value=st.one_of(st.text(alphabet=UNICODE, max_size=4),
                       st.tuples(st.from_regex(r"[a-f0-9]{24}", fullmatch=True),
                                 st.text(alphabet=UNICODE, min_size=1, max_size=2),
                                 st.integers(min_value=0, max_value=24)).map(
                           lambda t: t[0][: t[2]] + t[1] + t[0][t[2]:])))
def test_an_identifier_filter_is_ascii_letters_and_digits(callers, path, name, value):
    _assert_answer(_get(callers, path, name, value), name, _identifier_ok(value))


# --- decimal fields of a signal ------------------------------------------------------------------------------

# The other two prices of a long signal that is valid exactly when the varied field is within its range.
PRICES = {
    "entry_price": ({"stop_loss": "1", "take_profit": "1000"}, lambda v: 1 < v < 1000),
    "stop_loss": ({"entry_price": "100", "take_profit": "1000"}, lambda v: 0 < v < 100),
    "take_profit": ({"entry_price": "100", "stop_loss": "1"}, lambda v: 100 < v < 10**10),
}


@pytest.fixture
def create(owner, settings):
    settings.SIGNAL_CREATE_RATE_MAX = 10**6  # the per-user creation budget is not what is tested here

    def send(field: str, value: str):
        others, _ = PRICES[field]
        body = json.dumps({**VALID, **others, field: value})  # ensure_ascii: "\ud800" travels as its escape
        return owner.client.generic("POST", BASE, data=body.encode(), content_type="application/json",
                                    **owner._headers(None))

    return send


# The test's own oracle for "a decimal written in ASCII" (short values only; the product parses, see fields.py).
_ASCII_DECIMAL = re.compile(r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]{1,3})?", re.ASCII)


def _assert_price_answer(response, field: str, value: str):
    _, in_range = PRICES[field]
    assert response.status_code < 500, response.content[:300]
    if not _ASCII_DECIMAL.fullmatch(value):
        assert field in assert_error(response, 400, "validation_error")["details"]
    elif in_range(Decimal(value)) and Decimal(value) == Decimal(value).quantize(Decimal("1e-8")):
        assert response.status_code == 201, response.content[:300]
        assert Decimal(response.json()[field]) == Decimal(value)
    else:
        assert_error(response, 400, "validation_error")  # out of range or out of order: some price is named


@pytest.mark.parametrize("field", list(PRICES))
def test_explicit_decimal_examples(create, field):
    for value in [*EXAMPLES, "５０", "５0", "٥0", "50\u0301", "50\u00a0", "\u200b50", "5\u202f0", "50\x00"]:
        _assert_price_answer(create(field, value), field, value)


@pytest.mark.parametrize("field", list(PRICES))
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(value=st.one_of(
    st.integers(min_value=0, max_value=2000).map(str),
    st.tuples(st.integers(min_value=1, max_value=999).map(str), st.text(alphabet=UNICODE, min_size=1, max_size=2),
              st.integers(min_value=0, max_value=3)).map(lambda t: t[0][: t[2]] + t[1] + t[0][t[2]:]),
    st.text(alphabet=UNICODE, min_size=1, max_size=4),
))
@example(value="１０")
@example(value="٥")
@example(value="5_0")
@example(value="\ud800")
def test_a_decimal_field_is_ascii_only(create, field, value):
    _assert_price_answer(create(field, value), field, value)
