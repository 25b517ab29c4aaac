"""API2:2023 Broken Authentication — every operation that needs a caller refuses every kind of bad token.

Token cryptography, refresh rotation and reuse detection, revocation, login limits and login timing are
proven in tests/accounts (test_token_attacks, test_sessions_and_revocation, test_rate_limits,
test_login_timing, test_multiprocess). Here: the same refusals hold on EVERY authenticated operation of every
slice, enumerated from the OpenAPI schema, and the public ones are never weakened by a bad token.
"""
from __future__ import annotations

import time

import jwt
import pytest
from django.conf import settings as django_settings

from tests.security.routes import concrete
from tests.support.errors import assert_error
from tests.support.tokens import make_token


def _operations(secured: bool) -> list[tuple[str, str]]:
    from drf_spectacular.generators import SchemaGenerator

    paths = SchemaGenerator().get_schema(request=None, public=True)["paths"]
    result = []
    for path, item in paths.items():
        for method, operation in item.items():
            # "security: []" (or an empty requirement {}) marks a public operation.
            requirements = operation.get("security", [{}])
            needs_token = bool(requirements) and all(requirements)
            if needs_token == secured:
                result.append((method.upper(), path))
    return sorted(result)


def _bad_tokens() -> dict[str, str]:
    now = int(time.time())
    return {
        "garbage": "not-a-jwt",
        "expired": make_token(iat=now - 3600, exp=now - 60),
        "refresh_as_access": make_token(token_type="refresh"),
        "alg_none": jwt.encode({**jwt.decode(make_token(), options={"verify_signature": False})}, None,
                               algorithm="none"),
        "wrong_secret": jwt.encode(jwt.decode(make_token(), options={"verify_signature": False}),
                                   "another-secret-0123456789abcdef0123456789", algorithm="HS256"),
        "wrong_audience": make_token(aud="someone-else"),
        "no_subject": jwt.encode({k: v for k, v in jwt.decode(make_token(), options={"verify_signature": False}).items()
                                  if k != "sub"}, django_settings.JWT_SECRET, algorithm="HS256"),
    }


def _call(client, method: str, path: str, headers: dict):
    return client.generic(method, concrete(path), data=b"{}", content_type="application/json", **headers)


def test_the_schema_has_secured_and_public_operations():
    assert len(_operations(True)) >= 15 and len(_operations(False)) >= 3


def test_every_discussions_write_needs_a_token_and_its_reads_are_public():
    """Posting, editing, deleting, reporting and moderating need a caller; reading threads and comments does not
    (docs/discussions.md), except the administrators' report queue."""
    secured = {op for op in _operations(True) if op[1].startswith("/api/v1/discussions")}
    public = {op for op in _operations(False) if op[1].startswith("/api/v1/discussions")}
    reports = ("GET", "/api/v1/discussions/reports")
    assert len(secured) == 14 and reports in secured and all(method != "GET" for method, _ in secured - {reports})
    assert public and all(method == "GET" for method, _ in public)


@pytest.mark.parametrize("operation", _operations(True))
def test_no_token_is_401_not_authenticated(client, operation):
    response = _call(client, *operation, {})
    assert_error(response, 401, "not_authenticated")
    assert response["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize("kind", list(_bad_tokens()))
@pytest.mark.parametrize("operation", _operations(True))
def test_a_bad_token_is_401_token_invalid(client, operation, kind):
    token = _bad_tokens()[kind]
    assert_error(_call(client, *operation, {"HTTP_AUTHORIZATION": f"Bearer {token}"}), 401, "token_invalid")


@pytest.mark.parametrize("operation", _operations(True))
def test_a_revoked_token_is_401_everywhere(accounts, client, operation):
    session = accounts.register()
    assert accounts.post("logout", token=session["access"]).status_code == 204
    assert_error(_call(client, *operation, {"HTTP_AUTHORIZATION": f"Bearer {session['access']}"}), 401,
                 "token_invalid")


@pytest.mark.parametrize("header", ["Basic dXNlcjpwYXNz", "Bearer", "Bearer a b", "Token abc"])
def test_a_malformed_authorization_header_is_401(client, header):
    assert_error(client.get("/api/v1/auth/me", HTTP_AUTHORIZATION=header), 401, "token_invalid")


@pytest.mark.parametrize("operation", [op for op in _operations(False) if op[0] == "GET"])
def test_a_bad_token_on_a_public_read_is_401_not_silently_anonymous(client, operation):
    """A client whose token went bad learns it, rather than silently seeing less."""
    assert_error(_call(client, *operation, {"HTTP_AUTHORIZATION": "Bearer not-a-jwt"}), 401, "token_invalid")


def test_login_and_refresh_ignore_a_stale_authorization_header(accounts):
    session = accounts.register()
    stale = {"HTTP_AUTHORIZATION": "Bearer not-a-jwt"}
    assert accounts.post("login", {"email": session["user"]["email"], "password": "violet-harbour-lantern-42"},
                         **stale).status_code == 200
    assert accounts.post("refresh", {"refresh": session["refresh"]}, **stale).status_code == 200


def test_login_failures_are_one_generic_401(accounts):
    session = accounts.register()
    wrong_password = accounts.post("login", {"email": session["user"]["email"], "password": "x" * 12})
    unknown_email = accounts.post("login", {"email": "nobody@example.com", "password": "x" * 12})
    assert wrong_password.status_code == unknown_email.status_code == 401
    assert wrong_password.json()["error"]["code"] == unknown_email.json()["error"]["code"]
    assert wrong_password.json()["error"]["message"] == unknown_email.json()["error"]["message"]
