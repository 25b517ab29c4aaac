"""POST /api/v1/auth/verify: 200 for an access or refresh token the product accepts now, 401 for anything else.

Its judgement is the product's own: an access token is good exactly when an authenticated endpoint accepts it,
a refresh token exactly when ``refresh`` would rotate it.
"""
from __future__ import annotations

import base64
import json
import time
from datetime import UTC, datetime

import jwt
import pytest
from django.conf import settings

from tests.support.accounts import PASSWORD, unique_email
from tests.support.tokens import make_token


def _claims(token: str) -> dict:
    return jwt.decode(token, options={"verify_signature": False})


def _b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def verify(accounts, token, **extra):
    return accounts.post("verify", {"token": token}, **extra)


def assert_good(response, token_type: str, token: str) -> None:
    assert response.status_code == 200, response.content
    assert response.json() == {
        "token_type": token_type,
        "expires_at": datetime.fromtimestamp(_claims(token)["exp"], UTC).isoformat().replace("+00:00", "Z"),
    }
    assert response["Cache-Control"] == "no-store"


def assert_refused(response, *, message: str | None = None) -> None:
    assert response.status_code == 401, response.content
    error = response.json()["error"]
    assert error["code"] == "token_invalid" and error["request_id"] == response["X-Request-ID"]
    if message is not None:
        assert message in error["message"]
    assert response["Cache-Control"] == "no-store"


@pytest.fixture
def session(accounts):
    return accounts.register(display_name="Verifier")


def test_a_fresh_access_token_and_refresh_token_are_good(accounts, session):
    assert_good(verify(accounts, session["access"]), "access", session["access"])
    assert_good(verify(accounts, session["refresh"]), "refresh", session["refresh"])


def test_the_answer_tells_nothing_the_holder_cannot_read_in_the_token(accounts, session):
    body = verify(accounts, session["access"]).json()
    assert set(body) == {"token_type", "expires_at"}
    assert session["user"]["id"] not in json.dumps(body) and session["user"]["email"] not in json.dumps(body)


def test_logout_makes_both_tokens_of_the_session_bad(accounts, session):
    assert accounts.post("logout", token=session["access"]).status_code == 204
    assert_refused(verify(accounts, session["access"]), message="revoked")
    assert_refused(verify(accounts, session["refresh"]))


def test_logout_all_makes_every_session_bad(accounts, session):
    elsewhere = accounts.login(session["user"]["email"])
    assert accounts.post("logout-all", token=session["access"]).status_code == 204
    for token in (session["access"], session["refresh"], elsewhere["access"], elsewhere["refresh"]):
        assert_refused(verify(accounts, token))


def test_a_rotated_refresh_token_is_bad_and_verifying_it_revokes_nothing(accounts, session):
    rotated = accounts.post("refresh", {"refresh": session["refresh"]}).json()
    assert_refused(verify(accounts, session["refresh"]))
    assert_good(verify(accounts, rotated["refresh"]), "refresh", rotated["refresh"])
    # Verify is read-only: the old token was only refused, the session lives on (refresh's reuse detection
    # would have ended it).
    assert accounts.post("refresh", {"refresh": rotated["refresh"]}).status_code == 200


def test_after_a_password_change_verify_agrees_with_refresh_and_the_api(accounts):
    email = unique_email()
    here = accounts.register(email=email)
    elsewhere = accounts.login(email)
    assert accounts.post("password", {"current_password": PASSWORD, "new_password": "saffron-glacier-orbit-77"},
                         token=here["access"]).status_code == 204
    # old access tokens: refused by the API, refused here
    for access in (here["access"], elsewhere["access"]):
        assert accounts.me(access).status_code == 401
        assert_refused(verify(accounts, access))
    # the other session's refresh token is dead, this session's may renew: verify says so before refresh does
    assert_refused(verify(accounts, elsewhere["refresh"]))
    assert_good(verify(accounts, here["refresh"]), "refresh", here["refresh"])
    assert accounts.post("refresh", {"refresh": elsewhere["refresh"]}).status_code == 401
    assert accounts.post("refresh", {"refresh": here["refresh"]}).status_code == 200


def test_a_deactivated_users_tokens_are_bad(accounts, session):
    admin = accounts.make_admin()
    patch = accounts.client.patch(f"/api/v1/auth/admin/users/{session['user']['id']}", {"is_active": False},
                                  format="json", HTTP_AUTHORIZATION=f"Bearer {admin['access']}")
    assert patch.status_code == 200
    assert_refused(verify(accounts, session["access"]))
    assert_refused(verify(accounts, session["refresh"]))


def test_a_well_signed_refresh_token_of_no_session_is_bad(accounts, session):
    assert_refused(verify(accounts, make_token(session["user"]["id"], token_type="refresh")))


def test_an_expired_token_is_bad_beyond_the_leeway(accounts, session):
    past = int(time.time()) - settings.JWT_LEEWAY_SECONDS - 5
    for token_type in ("access", "refresh"):
        token = make_token(session["user"]["id"], token_type=token_type, iat=past - 900, exp=past)
        assert_refused(verify(accounts, token), message="expired")


def _forgeries(session) -> dict[str, str]:
    access = session["access"]
    claims = _claims(access)
    header, _payload, signature = access.split(".")
    return {
        "tampered": f"{header}.{_b64({**claims, 'role': 'admin'})}.{signature}",
        "alg_none": f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(claims)}.",
        "hs512": jwt.encode(claims, settings.JWT_SECRET, algorithm="HS512"),
        "wrong_key": jwt.encode(claims, "another-secret-0123456789abcdef0123456789", algorithm="HS256"),
        "wrong_audience": make_token(session["user"]["id"], aud="another-api"),
        "wrong_issuer": make_token(session["user"]["id"], iss="someone-else"),
        "no_subject": jwt.encode({k: v for k, v in claims.items() if k != "sub"}, settings.JWT_SECRET,
                                 algorithm="HS256"),
        "unknown_type": make_token(session["user"]["id"], token_type="sliding"),
        "garbage": "not-a-jwt",
        "three_dots": "a.b.c",
    }


@pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")
@pytest.mark.parametrize("kind", ["tampered", "alg_none", "hs512", "wrong_key", "wrong_audience", "wrong_issuer",
                                  "no_subject", "unknown_type", "garbage", "three_dots"])
def test_a_forged_or_foreign_token_is_bad(accounts, session, kind):
    assert_refused(verify(accounts, _forgeries(session)[kind]))


@pytest.mark.parametrize("body", [
    {},
    {"token": None},
    {"token": 12345},
    {"token": ["a.b.c"]},
    {"token": {"token": "a.b.c"}},
    {"token": ""},
    {"token": "x" * 4097},
])
def test_input_is_strict(accounts, body):
    response = accounts.post("verify", body)
    assert response.status_code == 400, response.content
    assert response.json()["error"]["code"] == "validation_error"
    assert "token" in response.json()["error"]["details"]


def test_unknown_fields_are_refused_not_ignored(accounts, session):
    response = accounts.post("verify", {"token": session["access"], "refresh": session["refresh"]})
    assert response.status_code == 400 and response.json()["error"]["code"] == "validation_error"


def test_a_stale_authorization_header_is_ignored(accounts, session):
    assert_good(verify(accounts, session["refresh"], HTTP_AUTHORIZATION="Bearer not-a-jwt"), "refresh",
                session["refresh"])


def test_it_is_rate_limited_per_client_like_login(accounts, session, settings):
    settings.AUTH_RATE_LIMIT_MAX = 3
    for _ in range(3):
        assert verify(accounts, session["access"]).status_code == 200
    limited = verify(accounts, session["access"])
    assert limited.status_code == 429 and limited.json()["error"]["code"] == "rate_limited"
    assert int(limited["Retry-After"]) >= 1
    # bad tokens count too: guessing is not free
    assert verify(accounts, "not-a-jwt").status_code == 429


def test_only_post_is_allowed(accounts):
    response = accounts.client.get("/api/v1/auth/verify")
    assert response.status_code == 405 and response.json()["error"]["code"] == "method_not_allowed"


def test_the_trailing_slash_form_answers_too(accounts, session):
    response = accounts.client.post("/api/v1/auth/verify/", {"token": session["access"]}, format="json")
    assert response.status_code == 200


def test_it_is_documented_in_the_openapi_schema():
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    operation = schema["paths"]["/api/v1/auth/verify"]["post"]
    assert operation["operationId"] == "auth_verify"
    assert {"200", "400", "401", "429"} <= set(operation["responses"])
    security = operation.get("security")  # public: no token needed to ask about one
    assert "security" not in schema and (security in (None, []) or {} in security)
    request = operation["requestBody"]["content"]["application/json"]["schema"]
    request = schema["components"]["schemas"][request["$ref"].rsplit("/", 1)[1]]
    assert request["required"] == ["token"] and request["properties"]["token"]["maxLength"] == 4096
    result = operation["responses"]["200"]["content"]["application/json"]["schema"]
    result = schema["components"]["schemas"][result["$ref"].rsplit("/", 1)[1]]
    assert set(result["properties"]) == {"token_type", "expires_at"}
