"""API4:2023 Unrestricted Resource Consumption — every request costs a bounded amount: bodies over 64 KiB are
413 before anything reads them, page sizes are capped, deep or huge JSON and long strings are refused cheaply,
and piling on query parameters changes nothing.

Slow-loris (clients trickling headers or bodies) is the gateway's job: nginx buffers whole requests with
client_header_timeout/client_body_timeout before a gunicorn worker sees them (docs/security.md).
"""
from __future__ import annotations

import json
import time

import pytest

from tests.support.discussions import BASE as DISCUSSIONS
from tests.support.discussions import approved_signal, comment, start_thread, text
from tests.support.errors import assert_error
from tests.support.signals import BASE, VALID

# Paths may name {thread}, {comment} and {signal}: a forum thread of the owner's, a comment of theirs in it and
# an approved signal (the ``ids`` fixture makes them).
LISTS = [BASE, f"{BASE}/public", f"{BASE}/admin", "/api/v1/users", "/api/v1/auth/sessions",
         "/api/v1/auth/admin/audit", DISCUSSIONS, f"{DISCUSSIONS}/{{thread}}/comments",
         f"{DISCUSSIONS}/signals/{{signal}}/comments", f"{DISCUSSIONS}/reports"]
BODY_ROUTES = [("POST", BASE), ("PATCH", "/api/v1/users/me"), ("POST", "/api/v1/auth/register"),
               ("POST", "/api/v1/auth/login"), ("POST", DISCUSSIONS), ("PATCH", f"{DISCUSSIONS}/{{thread}}"),
               ("POST", f"{DISCUSSIONS}/{{thread}}/comments"), ("POST", f"{DISCUSSIONS}/signals/{{signal}}/comments"),
               ("PATCH", f"{DISCUSSIONS}/{{thread}}/comments/{{comment}}"),
               ("POST", f"{DISCUSSIONS}/comments/{{comment}}/report")]


@pytest.fixture
def ids(owner, admin):
    made = {}

    def resolve(path: str) -> str:
        if "{" in path and not made:
            thread = start_thread(owner)
            made.update(thread=thread["id"], comment=comment(owner, thread["id"])["id"],
                        signal=approved_signal(owner=owner, admin=admin)["id"])
        return path.format(**made) if made else path

    return resolve


def raw(caller, method, path, body: bytes, **extra):
    return caller.client.generic(method, path, data=body, content_type="application/json",
                                 **caller._headers(None), **extra)


@pytest.mark.parametrize("method,path", BODY_ROUTES)
def test_a_body_over_64_kib_is_413(owner, ids, method, path):
    body = json.dumps({**VALID, "rationale": "x" * (64 * 1024)}).encode()
    error = assert_error(raw(owner, method, ids(path), body), 413, "payload_too_large")
    assert "65536" in error["message"]


def test_a_body_just_under_the_limit_is_read_and_judged(owner):
    body = json.dumps({**VALID, "rationale": "x" * (60 * 1024)}).encode()
    assert "rationale" in assert_error(raw(owner, "POST", BASE, body), 400, "validation_error")["details"]


@pytest.mark.parametrize("length", ["not-a-number", " 2", "2 ", "0_2", "\uff12", "\u0662", "\u00b2", "+2", "-2"])
def test_a_content_length_that_is_not_plain_ascii_digits_is_refused(owner, length):
    """``int()`` would read " 2", "0_2" and "２" as 2 (and "²" would raise): only ASCII digits are a length."""
    assert_error(raw(owner, "POST", BASE, b"{}", CONTENT_LENGTH=length), 400, "malformed_request")


@pytest.mark.parametrize("path", LISTS)
@pytest.mark.parametrize("limit", ["101", "0", "-1", "1e3", "abc", "100000000000000000000"])
def test_page_size_is_capped_at_100(admin, ids, path, limit):
    assert_error(admin.get(ids(path), limit=limit), 400, "validation_error")


@pytest.mark.parametrize("path", LISTS)
def test_the_largest_page_is_100(admin, ids, path):
    assert admin.get(ids(path), limit="100").status_code == 200


@pytest.mark.parametrize("method,path", BODY_ROUTES)
@pytest.mark.parametrize("shape", ["array", "object"])
def test_deeply_nested_json_is_400_not_a_crash(owner, ids, method, path, shape):
    path = ids(path)
    # under the 64 KiB limit, far beyond the parser's recursion limit
    depth = 30_000 if shape == "array" else 10_000
    body = ("[" * depth + "]" * depth) if shape == "array" else ('{"a":' * depth + "1" + "}" * depth)
    started = time.monotonic()
    assert_error(raw(owner, method, path, body.encode()), 400, "malformed_request")
    assert time.monotonic() - started < 1.0


@pytest.mark.parametrize("method,path", BODY_ROUTES)
def test_a_huge_array_is_refused_as_not_an_object(owner, ids, method, path):
    path = ids(path)
    body = ("[" + ",".join(["1"] * 30_000) + "]").encode()
    response = raw(owner, method, path, body)
    assert response.status_code == 400 and response.json()["error"]["code"] == "validation_error"


def test_many_keys_are_refused_by_name_cheaply(owner):
    body = {**VALID, **{f"k{i}": i for i in range(3000)}}
    started = time.monotonic()
    error = assert_error(owner.send("POST", BASE, body), 400, "validation_error")
    assert len(error["details"]) == 3000 and time.monotonic() - started < 1.0


@pytest.mark.parametrize("field,length", [("symbol", 10_000), ("rationale", 5_001), ("image_url", 3_000),
                                          ("timeframe", 10_000), ("entry_price", 10_000)])
def test_long_signal_strings_are_refused_by_name(owner, field, length):
    value = "https://example.com/" + "a" * length if field == "image_url" else "1" * length
    if field in ("symbol", "rationale", "timeframe"):
        value = "A" * length
    assert field in assert_error(owner.send("POST", BASE, {**VALID, field: value}), 400, "validation_error")["details"]


@pytest.mark.parametrize("field,length", [("display_name", 81), ("bio", 501), ("avatar_url", 2100)])
def test_long_profile_strings_are_refused_by_name(owner, field, length):
    value = "https://example.com/" + "a" * length if field == "avatar_url" else "a" * length
    response = owner.send("PATCH", "/api/v1/users/me", {field: value})
    assert field in assert_error(response, 400, "validation_error")["details"]


@pytest.mark.parametrize("route,field,length", [
    ("thread", "title", 201), ("thread", "body", 5001), ("thread", "title", 60_000), ("thread", "body", 60_000),
    ("thread_edit", "title", 201), ("thread_edit", "body", 5001), ("comment", "body", 2001),
    ("comment", "body", 60_000), ("signal_comment", "body", 2001), ("comment_edit", "body", 2001),
    ("report", "reason", 501), ("report", "reason", 60_000), ("hide", "reason", 501),
])
def test_long_discussion_strings_are_refused_by_name(owner, other, admin, route, field, length):
    thread = start_thread(owner)
    reply = comment(owner, thread["id"])
    signal = approved_signal(owner=owner, admin=admin)
    caller, method, path, body = {
        "thread": (owner, "POST", DISCUSSIONS, {"title": "A title", "body": text("A body of text")}),
        "thread_edit": (owner, "PATCH", f"{DISCUSSIONS}/{thread['id']}", {}),
        "comment": (owner, "POST", f"{DISCUSSIONS}/{thread['id']}/comments", {}),
        "signal_comment": (owner, "POST", f"{DISCUSSIONS}/signals/{signal['id']}/comments", {}),
        "comment_edit": (owner, "PATCH", f"{DISCUSSIONS}/{thread['id']}/comments/{reply['id']}", {}),
        "report": (other, "POST", f"{DISCUSSIONS}/comments/{reply['id']}/report", {}),
        "hide": (admin, "POST", f"{DISCUSSIONS}/{thread['id']}/hide", {}),
    }[route]
    started = time.monotonic()
    response = caller.send(method, path, {**body, field: "a" * length})
    assert field in assert_error(response, 400, "validation_error")["details"]
    assert time.monotonic() - started < 1.0
    assert admin.get(f"{DISCUSSIONS}/{thread['id']}").json() == {**thread, "comment_count": 1,
                                                                 "last_activity_at": reply["created_at"],
                                                                 "hidden": False, "closed": False}


def test_a_long_password_is_refused_before_it_is_hashed(accounts):
    """Argon2 over a 60 KB password would be a CPU lever; the 256-character cap answers first."""
    started = time.monotonic()
    response = accounts.post("register", {"email": "long@example.com", "password": "p" * 60_000})
    assert "password" in assert_error(response, 400, "validation_error")["details"]
    response = accounts.post("login", {"email": "long@example.com", "password": "p" * 60_000})
    assert "password" in assert_error(response, 400, "validation_error")["details"]
    assert time.monotonic() - started < 1.0


def test_many_filters_and_repeated_parameters_change_nothing(owner):
    signal = owner.create()
    params = "&".join(f"x{i}=1" for i in range(900)) + "&symbol=BTC/USDT&symbol=ETH/USDT&status=pending"
    response = owner.client.get(f"{BASE}?{params}", **owner._headers(None))
    assert response.status_code == 200
    assert [s["id"] for s in response.json()["results"]] in ([], [signal["id"]])


def test_more_than_a_thousand_query_parameters_are_refused(owner):
    params = "&".join(f"x{i}=1" for i in range(1500))
    response = owner.client.get(f"{BASE}/public?{params}", **owner._headers(None))
    assert response.status_code in (400, 413) and response["Content-Type"].startswith("application/json")


@pytest.mark.parametrize("name", ["symbol", "owner_id", "status", "cursor"])
def test_a_long_filter_value_is_refused(admin, name):
    assert_error(admin.get(f"{BASE}/admin", **{name: "A" * 5000}), 400, "validation_error")


@pytest.mark.parametrize("path,name", [(DISCUSSIONS, "signal_id"), (DISCUSSIONS, "cursor"),
                                       (f"{DISCUSSIONS}/reports", "cursor"),
                                       (f"{DISCUSSIONS}/{{thread}}/comments", "cursor")])
def test_a_long_discussions_filter_value_is_refused(admin, ids, path, name):
    assert name in assert_error(admin.get(ids(path), **{name: "A" * 5000}), 400, "validation_error")["details"]


def test_many_parameters_on_a_discussions_list_change_nothing(owner):
    thread = start_thread(owner)
    params = "&".join(f"x{i}=1" for i in range(900)) + "&limit=5&limit=7"
    response = owner.client.get(f"{DISCUSSIONS}?{params}", **owner._headers(None))
    assert response.status_code == 200, response.content[:300]
    assert [t["id"] for t in response.json()["results"]] == [thread["id"]]
