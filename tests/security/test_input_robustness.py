"""Hostile input: invalid UTF-8, NUL bytes, mixed content types, duplicate JSON keys, numbers with 1 000 digits,
look-alike characters in symbols. Each is a 400 (or 415 for a body that is not JSON) with the one error
envelope — naming the field whenever the problem belongs to one — and never a 500."""
from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.discussions import BASE as DISCUSSIONS
from tests.support.discussions import comment, start_thread, text
from tests.support.errors import assert_error
from tests.support.signals import BASE, VALID

# {thread} and {comment}: a forum thread of the caller's and a comment of theirs in it.
BODY_ENDPOINTS = [
    ("POST", BASE),
    ("PATCH", "/api/v1/users/me"),
    ("POST", "/api/v1/auth/register"),
    ("POST", "/api/v1/auth/login"),
    ("POST", DISCUSSIONS),
    ("POST", f"{DISCUSSIONS}/{{thread}}/comments"),
    ("PATCH", f"{DISCUSSIONS}/{{thread}}/comments/{{comment}}"),
    ("POST", f"{DISCUSSIONS}/comments/{{comment}}/report"),
]


def send_raw(caller, method: str, path: str, body: bytes, content_type: str = "application/json"):
    """The bytes exactly as given (``generic`` does not re-encode them for the declared charset)."""
    if "{" in path:
        thread = start_thread(caller)
        path = path.format(thread=thread["id"], comment=comment(caller, thread["id"])["id"])
    return caller.client.generic(method, path, data=body, content_type=content_type, **caller._headers(None))


# --- invalid UTF-8 and unknown charsets -------------------------------------------------------------------

@pytest.mark.parametrize("method,path", BODY_ENDPOINTS)
@pytest.mark.parametrize("body", [b'{"symbol": "\xff\xfe"}', b'{"display_name": "caf\xe9"}', b"\xc3\x28"])
def test_invalid_utf8_is_a_malformed_request(owner, method, path, body):
    error = assert_error(send_raw(owner, method, path, body), 400, "malformed_request")
    assert "JSON" in error["message"] or "utf-8" in error["message"].lower()


@pytest.mark.parametrize("method,path", BODY_ENDPOINTS)
def test_an_unknown_charset_is_read_as_utf8_never_a_500(owner, method, path):
    response = send_raw(owner, method, path, b'{"a": 1}', content_type="application/json; charset=x-no-such-charset")
    assert "a" in assert_error(response, 400, "validation_error")["details"]


@pytest.mark.parametrize("method,path", BODY_ENDPOINTS)
def test_a_body_that_does_not_match_its_charset_is_malformed(owner, method, path):
    response = send_raw(owner, method, path, b'{"a": 1}', content_type="application/json; charset=utf-16")
    assert_error(response, 400, "malformed_request")


# --- NUL bytes ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("field,value", [
    ("symbol", "BTC\u0000USDT"), ("rationale", "Breakout\u0000 above the range"), ("timeframe", "4h\u0000"),
    ("image_url", "https://example.com/a\u0000.png"), ("entry_price", "64000\u0000"),
])
def test_nul_in_a_signal_field_is_refused_by_name(owner, field, value):
    response = owner.send("POST", BASE, {**VALID, field: value})
    assert field in assert_error(response, 400, "validation_error")["details"]


def test_nul_in_a_key_is_an_unknown_field(owner):
    response = owner.send("POST", BASE, {**VALID, "sym\u0000bol": "BTC"})
    details = assert_error(response, 400, "validation_error")["details"]
    assert details == {"sym\u0000bol": ["Unknown field."]}


@pytest.mark.parametrize("body,field", [
    ({"display_name": "Ada\u0000"}, "display_name"), ({"bio": "hello\u0000world"}, "bio"),
])
def test_nul_in_a_profile_field_is_refused_by_name(owner, body, field):
    assert field in assert_error(owner.send("PATCH", "/api/v1/users/me", body), 400, "validation_error")["details"]


@pytest.mark.parametrize("body,field", [
    ({"email": "a\u0000@example.com", "password": "violet-harbour-lantern-42"}, "email"),
    ({"email": "nul@example.com", "password": "violet-harbour\u0000-lantern-42"}, "password"),
    ({"email": "nul2@example.com", "password": "violet-harbour-lantern-42", "display_name": "A\u0000"}, "display_name"),
])
def test_nul_in_registration_is_refused_by_name(accounts, body, field):
    response = accounts.post("register", body)
    assert field in assert_error(response, 400, "validation_error")["details"]


@pytest.mark.parametrize("route,field,value", [
    ("thread", "title", "Breakout\u0000 retest"), ("thread", "body", "Where does\u0000 the stop go?"),
    ("comment", "body", "Agreed\u0000"), ("report", "reason", "Spam\u0000"), ("edit", "body", "\u0000"),
])
def test_nul_in_a_discussions_field_is_refused_by_name(owner, other, route, field, value):
    thread = start_thread(owner)
    reply = comment(owner, thread["id"])
    caller, method, path, body = {
        "thread": (owner, "POST", DISCUSSIONS, {"title": "A title", "body": text("A body of text")}),
        "comment": (owner, "POST", f"{DISCUSSIONS}/{thread['id']}/comments", {}),
        "report": (other, "POST", f"{DISCUSSIONS}/comments/{reply['id']}/report", {}),
        "edit": (owner, "PATCH", f"{DISCUSSIONS}/{thread['id']}/comments/{reply['id']}", {}),
    }[route]
    response = caller.send(method, path, {**body, field: value})
    assert field in assert_error(response, 400, "validation_error")["details"]


def test_nul_in_a_discussions_filter_is_refused_by_name(owner):
    assert "signal_id" in assert_error(owner.get(DISCUSSIONS, signal_id="abc\u0000"), 400,
                                       "validation_error")["details"]


def test_nul_in_a_filter_is_refused_by_name(owner):
    response = owner.get(BASE + "/public", symbol="BTC\u0000")
    assert "symbol" in assert_error(response, 400, "validation_error")["details"]


# --- content types --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("method,path", BODY_ENDPOINTS)
@pytest.mark.parametrize("content_type,body", [
    ("application/x-www-form-urlencoded", b"symbol=BTC&direction=long"),
    ("multipart/form-data; boundary=xyz",
     b'--xyz\r\nContent-Disposition: form-data; name="symbol"\r\n\r\nBTC\r\n--xyz--'),
    ("text/plain", b'{"symbol": "BTC"}'),
    ("application/xml", b"<symbol>BTC</symbol>"),
    ("", b'{"symbol": "BTC"}'),
])
def test_a_body_that_is_not_declared_json_is_415(owner, method, path, content_type, body):
    assert_error(send_raw(owner, method, path, body, content_type=content_type), 415, "unsupported_media_type")


def test_json_declared_but_form_encoded_is_malformed(owner):
    response = send_raw(owner, "POST", BASE, b"symbol=BTC&direction=long")
    assert_error(response, 400, "malformed_request")


# --- duplicate keys (decision: refused, neither value taken) -----------------------------------------------------

@pytest.mark.parametrize("method,path,raw,key", [
    ("POST", BASE, '{"symbol": "BTC", "symbol": "ETH", "direction": "long"}', "symbol"),
    ("POST", BASE, json.dumps(VALID)[:-1] + ', "entry_price": "1"}', "entry_price"),
    ("PATCH", "/api/v1/users/me", '{"display_name": "A", "display_name": "B"}', "display_name"),
    ("POST", "/api/v1/auth/login", '{"email": "a@example.com", "email": "b@example.com", "password": "x"}', "email"),
    ("POST", BASE, '{"symbol": "BTC", "review": {"by": "a", "by": "b"}}', "by"),
    ("POST", DISCUSSIONS, '{"title": "A title", "body": "First body", "body": "Second body"}', "body"),
    ("POST", f"{DISCUSSIONS}/{{thread}}/comments", '{"body": "One", "body": "Two"}', "body"),
])
def test_duplicate_json_keys_are_refused_by_name(owner, method, path, raw, key):
    error = assert_error(send_raw(owner, method, path, raw.encode()), 400, "validation_error")
    assert error["details"] == {key: ["Duplicate key in the JSON object."]}


def test_a_duplicate_key_never_creates_anything(owner):
    raw = json.dumps(VALID)[:-1] + ', "symbol": "ETH/USDT"}'
    assert send_raw(owner, "POST", BASE, raw.encode()).status_code == 400
    assert owner.get(BASE).json()["results"] == []


# --- numbers with 1 000 digits -----------------------------------------------------------------------------------

THOUSAND = "9" * 1000


@pytest.mark.parametrize("raw_price", [THOUSAND, f'"{THOUSAND}"', f"0.{THOUSAND}", f"1{'0' * 999}.5", f"1e{THOUSAND}",
                                       f"-{THOUSAND}"])
def test_a_thousand_digit_price_is_refused_by_name(owner, raw_price):
    raw = json.dumps({**VALID, "entry_price": "__PRICE__"}).replace('"__PRICE__"', raw_price)
    error = assert_error(send_raw(owner, "POST", BASE, raw.encode()), 400, "validation_error")
    assert "entry_price" in error["details"]


def test_an_integer_beyond_the_parser_digit_limit_is_malformed_not_500(owner):
    raw = json.dumps({**VALID, "entry_price": "__PRICE__"}).replace('"__PRICE__"', "9" * 5000)
    assert_error(send_raw(owner, "POST", BASE, raw.encode()), 400, "malformed_request")


@pytest.mark.parametrize("path", [BASE, BASE + "/public", "/api/v1/users", "/api/v1/auth/sessions"])
def test_a_thousand_digit_limit_is_refused(admin, path):
    assert_error(admin.get(path, limit=THOUSAND), 400, "validation_error")


def test_a_thousand_digit_number_where_a_string_belongs_is_refused_by_name(owner):
    raw = b'{"display_name": ' + THOUSAND.encode() + b"}"
    error = assert_error(send_raw(owner, "PATCH", "/api/v1/users/me", raw), 400, "validation_error")
    assert "display_name" in error["details"]


# --- look-alike symbols -------------------------------------------------------------------------------------------

CONFUSABLES = [
    "B\u0422CUSDT",        # Cyrillic capital TE
    "\u0412TCUSDT",        # Cyrillic capital VE looks like B
    "btcu\u017fdt",        # long s: upper() would turn it into a real "S"
    "\u0131bm",            # dotless i: upper() would turn it into a real "I"
    "\uff22\uff34\uff23",  # full-width BTC
    "BTC\u200dUSDT",       # zero-width joiner
    "BTC\u2215USDT",       # division slash instead of "/"
    "\u0392TC",            # Greek capital BETA
]


@pytest.mark.parametrize("symbol", CONFUSABLES)
def test_look_alike_symbols_are_refused_by_name(owner, symbol):
    response = owner.send("POST", BASE, {**VALID, "symbol": symbol})
    assert "symbol" in assert_error(response, 400, "validation_error")["details"]


@pytest.mark.parametrize("symbol", CONFUSABLES[:3])
def test_look_alike_symbol_filters_are_refused(owner, symbol):
    assert "symbol" in assert_error(owner.get(BASE + "/public", symbol=symbol), 400, "validation_error")["details"]


def test_an_edit_to_a_look_alike_symbol_is_refused(owner):
    signal = owner.create()
    response = owner.send("PATCH", f"{BASE}/{signal['id']}", {"symbol": "B\u0422C"})
    assert "symbol" in assert_error(response, 400, "validation_error")["details"]
    assert owner.get(f"{BASE}/{signal['id']}").json()["symbol"] == "BTC/USDT"


# --- property: any text as a symbol is a clean answer -------------------------------------------------------------

@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(symbol=st.text(min_size=0, max_size=40))
def test_any_text_as_a_symbol_is_201_with_an_ascii_symbol_or_400_naming_symbol(owner, symbol):
    response = owner.send("POST", BASE, {**VALID, "symbol": symbol})
    if response.status_code == 201:
        stored = response.json()["symbol"]
        assert stored.isascii() and stored == symbol.strip().upper()
    else:
        assert "symbol" in assert_error(response, 400, "validation_error")["details"]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=st.binary(max_size=300))
def test_any_bytes_as_a_body_are_never_a_server_error(owner, body):
    response = send_raw(owner, "POST", BASE, body)
    assert response.status_code in {201, 400}, response.content[:300]
    assert response["Content-Type"].startswith("application/json")


# --- property: any text as a comment is kept exactly as written, or refused by name ---------------------------------

@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=st.text(min_size=0, max_size=40))
def test_any_text_as_a_comment_is_kept_as_written_or_400_naming_body(owner, forum_thread, body):
    thread_id = forum_thread
    response = owner.send("POST", f"{DISCUSSIONS}/{thread_id}/comments", {"body": body})
    if response.status_code == 201:
        assert response.json()["body"] == body
        stored = owner.get(f"{DISCUSSIONS}/{thread_id}/comments/{response.json()['id']}")
        assert stored.json()["body"] == body
    else:
        assert "body" in assert_error(response, 400, "validation_error")["details"]


@pytest.fixture
def forum_thread(owner, settings) -> str:
    """One thread for all of a property's examples (they share the test's database)."""
    settings.DISCUSSION_COMMENT_RATE_MAX = 10**6
    settings.DISCUSSION_DUPLICATE_WINDOW = 0  # the same text again is a fresh example here, not a duplicate
    return start_thread(owner)["id"]


# --- lone surrogates and header text --------------------------------------------------------------------------

@pytest.mark.parametrize("method,path", BODY_ENDPOINTS)
@pytest.mark.parametrize("raw,key", [(b'{"\\ud800": 1}', "\\ud800"), (b'{"a\\udfffb": 1}', "a\\udfffb"),
                                     (b'{"x\\ud800": 1, "x\\ud800": 2}', "x\\ud800")])
def test_a_lone_surrogate_in_a_key_is_named_by_its_escape_not_a_500(owner, method, path, raw, key):
    # "\ud800" is valid JSON but no UTF-8 encoder can write it back: the key is named by its escape.
    error = assert_error(send_raw(owner, method, path, raw), 400, "validation_error")
    assert list(error["details"]) == [key]


@pytest.mark.parametrize("incoming", ["abcdefgh\n", "abcdefgh\r\n", "abcdefgh\x00", "a" * 129, "\u0661" * 8])
def test_a_request_id_that_is_not_well_formed_is_replaced(owner, incoming):
    response = owner.get(BASE, headers={"X-Request-ID": incoming.encode().decode("latin-1")})
    assert response.status_code == 200
    assert response["X-Request-ID"] != incoming and len(response["X-Request-ID"]) == 32


def test_a_well_formed_request_id_is_kept(owner):
    assert owner.get(BASE, headers={"X-Request-ID": "client-req-0001"})["X-Request-ID"] == "client-req-0001"
