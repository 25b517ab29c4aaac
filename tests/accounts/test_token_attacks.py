"""Forged, tampered, expired and misused tokens are refused with 401 by every protected endpoint."""
import base64
import json
import time

import jwt
import pytest
from django.conf import settings

from tests.support.tokens import make_token


def _claims(token: str) -> dict:
    return jwt.decode(token, options={"verify_signature": False})


def _b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def assert_refused(accounts, token: str):
    response = accounts.me(token)
    assert response.status_code == 401, response.content
    assert response.json()["error"]["code"] == "token_invalid"


@pytest.fixture
def session(accounts):
    return accounts.register(display_name="Target")


def test_genuine_token_is_accepted(accounts, session):
    assert accounts.me(session["access"]).status_code == 200


def test_alg_none_is_refused(accounts, session):
    claims = _claims(session["access"])
    forged = f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(claims)}."
    assert_refused(accounts, forged)


def test_hs512_with_the_real_secret_is_refused(accounts, session):
    assert_refused(accounts, jwt.encode(_claims(session["access"]), settings.JWT_SECRET, algorithm="HS512"))


def test_rs256_header_is_refused(accounts, session):
    """Algorithm confusion: an RS256 header, signed HMAC-style with the shared secret, must not verify."""
    import hashlib
    import hmac

    signing_input = f"{_b64({'alg': 'RS256', 'typ': 'JWT'})}.{_b64(_claims(session['access']))}"
    digest = hmac.new(settings.JWT_SECRET.encode(), signing_input.encode(), hashlib.sha256).digest()
    signature = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
    assert_refused(accounts, f"{signing_input}.{signature}")


def test_tampered_payload_is_refused(accounts, session):
    header, _payload, signature = session["access"].split(".")
    claims = _claims(session["access"])
    claims["role"] = "admin"
    assert_refused(accounts, f"{header}.{_b64(claims)}.{signature}")


def test_wrong_secret_is_refused(accounts, session):
    assert_refused(accounts, jwt.encode(_claims(session["access"]), "another-secret-0123456789abcdef0123",
                                        algorithm="HS256"))


@pytest.mark.parametrize("override", [{"iss": "someone-else"}, {"aud": "another-api"}])
def test_wrong_issuer_or_audience_is_refused(accounts, session, override):
    user_id = session["user"]["id"]
    assert accounts.me(make_token(user_id)).status_code == 200  # the same claims, properly issued, pass
    assert_refused(accounts, make_token(user_id, **override))


@pytest.mark.parametrize("missing", ["exp", "iat", "jti", "token_type"])
def test_token_missing_a_required_claim_is_refused(accounts, session, missing):
    claims = _claims(make_token(session["user"]["id"]))
    del claims[missing]
    assert_refused(accounts, jwt.encode(claims, settings.JWT_SECRET, algorithm="HS256"))


def test_expired_token_is_refused_beyond_the_leeway(accounts, session):
    now = int(time.time())
    past = now - settings.JWT_LEEWAY_SECONDS - 5
    token = make_token(session["user"]["id"], iat=past - 900, exp=past)
    response = accounts.me(token)
    assert response.status_code == 401 and "expired" in response.json()["error"]["message"]


def test_leeway_is_at_most_thirty_seconds():
    assert 0 <= settings.JWT_LEEWAY_SECONDS <= 30


def test_refresh_token_is_not_an_access_token(accounts, session):
    assert_refused(accounts, session["refresh"])


def test_access_token_is_not_a_refresh_token(accounts, session):
    response = accounts.post("refresh", {"refresh": session["access"]})
    assert response.status_code == 401 and response.json()["error"]["code"] == "token_invalid"


def test_malformed_authorization_header_is_401(accounts, session):
    for header in ("Token abc", "Bearer", "Bearer a b", f"Basic {session['access']}"):
        response = accounts.client.get("/api/v1/auth/me", HTTP_AUTHORIZATION=header)
        assert response.status_code == 401, header
