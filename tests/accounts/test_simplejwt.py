"""Tokens through djangorestframework-simplejwt, on the wire exactly as before.

``old_sign`` is the signing code the product had before simplejwt, copied literally (PyJWT on a claims dict):
tokens it made are still in clients' hands after the change and must keep working, and tokens minted now must
carry the same header and claims.
"""
from __future__ import annotations

import subprocess
import sys
import time
import uuid
from pathlib import Path

import jwt
import pytest
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from rest_framework.test import APIRequestFactory
from rest_framework_simplejwt import settings as simplejwt_settings
from rest_framework_simplejwt import tokens as simplejwt_tokens
from rest_framework_simplejwt.authentication import JWTStatelessUserAuthentication

from apps.accounts.models import Session
from apps.accounts.tokens import SessionAccessToken, SessionRefreshToken, issue_pair
from tradesignals.kernel import tokens
from tradesignals.kernel.drf.authentication import BearerTokenAuthentication, CookieTokenAuthentication
from tradesignals.kernel.identity import Principal, TokenPrincipal

ROOT = Path(__file__).resolve().parents[2]
OLD_CLAIMS = {"sub", "role", "name", "jti", "token_type", "fam", "ver", "iat", "exp", "iss", "aud"}


def old_sign(*, user_id: str, role: str, name: str, family: str, version: int, token_type: str, jti: str,
             now: int, lifetime: int) -> str:
    """apps/accounts/tokens.py ``_sign`` before the change, verbatim but for the settings it read."""
    claims = {
        "sub": str(user_id),
        "role": role,
        "name": name,
        "jti": jti,
        "token_type": token_type,
        "fam": family,
        "ver": int(version),
        "iat": now,
        "exp": now + lifetime,
        "iss": settings.JWT_ISSUER,
        "aud": settings.JWT_AUDIENCE,
    }
    return jwt.encode(claims, settings.JWT_SECRET, algorithm="HS256")


def api() -> object:
    """simplejwt's settings now (it replaces the object whenever SIMPLE_JWT changes)."""
    return simplejwt_settings.api_settings


def _unverified(token: str) -> dict:
    return jwt.decode(token, options={"verify_signature": False})


def _live_session(accounts) -> tuple[dict, dict, Session]:
    """A registered user's session as the server stores it, and its current claims."""
    registered = accounts.register(display_name="Old Client")
    claims = _unverified(registered["refresh"])
    return registered, claims, Session.objects(id=claims["fam"]).get()


# --- wire format ------------------------------------------------------------------------------------------


def test_an_access_token_signed_the_old_way_is_accepted_by_every_path(accounts):
    registered, claims, _session = _live_session(accounts)
    old = old_sign(user_id=claims["sub"], role="user", name="Old Client", family=claims["fam"],
                   version=claims["ver"], token_type="access", jti=uuid.uuid4().hex, now=int(time.time()),
                   lifetime=settings.JWT_ACCESS_EXPIRY)
    assert accounts.me(old).json()["id"] == registered["user"]["id"]
    assert tokens.verify(old)["sub"] == claims["sub"]
    assert accounts.post("verify", {"token": old}).json()["token_type"] == "access"
    # and logging out with it revokes it, as for any token
    assert accounts.post("logout", token=old).status_code == 204
    assert accounts.me(old).status_code == 401


def test_a_refresh_token_signed_the_old_way_still_rotates(accounts):
    _registered, claims, session = _live_session(accounts)
    old = old_sign(user_id=claims["sub"], role="user", name="Old Client", family=session.id,
                   version=claims["ver"], token_type="refresh", jti=session.current_jti, now=int(time.time()),
                   lifetime=settings.JWT_REFRESH_EXPIRY)
    assert accounts.post("verify", {"token": old}).json()["token_type"] == "refresh"
    rotated = accounts.post("refresh", {"refresh": old})
    assert rotated.status_code == 200, rotated.content
    assert accounts.me(rotated.json()["access"]).status_code == 200
    # the old token was rotated away like any other: presenting it now is reuse
    assert accounts.post("verify", {"token": old}).status_code == 401


@pytest.mark.parametrize(("token_class", "token_type", "lifetime"), [
    (SessionAccessToken, "access", "JWT_ACCESS_EXPIRY"),
    (SessionRefreshToken, "refresh", "JWT_REFRESH_EXPIRY"),
])
def test_a_minted_token_is_the_old_token_claim_for_claim(token_class, token_type, lifetime):
    session = {"user_id": "65a1b2c3d4e5f60718293a4b", "role": "admin", "name": "Ada", "family": "f" * 32,
               "version": 7}
    now, jti = int(time.time()), uuid.uuid4().hex
    new = str(token_class.for_session(jti=jti, now=now, **session))
    old = old_sign(token_type=token_type, jti=jti, now=now, lifetime=getattr(settings, lifetime), **session)
    assert jwt.get_unverified_header(new) == jwt.get_unverified_header(old) == {"alg": "HS256", "typ": "JWT"}
    assert _unverified(new) == _unverified(old)
    assert set(_unverified(new)) == OLD_CLAIMS
    assert {k: type(v) for k, v in _unverified(new).items()} == {k: type(v) for k, v in _unverified(old).items()}


def test_an_issued_pair_has_the_old_claims_and_lifetimes():
    pair = issue_pair(user_id="65a1b2c3d4e5f60718293a4b", role="user", name="Bo", family="a" * 32, version=0,
                      refresh_jti="b" * 32)
    access, refresh = _unverified(pair.access), _unverified(pair.refresh)
    assert set(access) == set(refresh) == OLD_CLAIMS
    assert access["exp"] - access["iat"] == settings.JWT_ACCESS_EXPIRY
    assert refresh["exp"] - refresh["iat"] == settings.JWT_REFRESH_EXPIRY
    assert access["iat"] == refresh["iat"] and access["jti"] == pair.access_jti and refresh["jti"] == "b" * 32
    assert (pair.access_expires_at, pair.refresh_expires_at) == (access["exp"], refresh["exp"])


# --- the classes are simplejwt's ---------------------------------------------------------------------------


def test_the_token_classes_are_simplejwts():
    assert issubclass(tokens.AccessToken, simplejwt_tokens.AccessToken)
    assert issubclass(tokens.RefreshToken, simplejwt_tokens.RefreshToken)
    assert issubclass(SessionAccessToken, tokens.AccessToken) and issubclass(SessionRefreshToken, tokens.RefreshToken)
    assert tuple(api().AUTH_TOKEN_CLASSES) == (tokens.AccessToken,)
    assert api().TOKEN_USER_CLASS is TokenPrincipal and issubclass(TokenPrincipal, Principal)


def test_the_authentication_classes_are_simplejwts_stateless_authentication(accounts):
    assert issubclass(BearerTokenAuthentication, JWTStatelessUserAuthentication)
    assert issubclass(CookieTokenAuthentication, JWTStatelessUserAuthentication)
    registered = accounts.register(display_name="Stateless")
    request = APIRequestFactory().get("/api/v1/auth/me", HTTP_AUTHORIZATION=f"Bearer {registered['access']}")
    user, validated = BearerTokenAuthentication().authenticate(request)
    assert isinstance(user, TokenPrincipal) and isinstance(validated, tokens.AccessToken)
    assert (user.user_id, user.id, user.name, user.role) == (registered["user"]["id"],) * 2 + ("Stateless", "user")
    assert validated["jti"] == user.jti


def test_the_simple_jwt_settings_are_built_from_the_jwt_settings():
    assert settings.SIMPLE_JWT["SIGNING_KEY"] == settings.JWT_SECRET == api().SIGNING_KEY
    assert (api().ISSUER, api().AUDIENCE, api().LEEWAY) == (
        settings.JWT_ISSUER, settings.JWT_AUDIENCE, settings.JWT_LEEWAY_SECONDS)
    assert api().ACCESS_TOKEN_LIFETIME.total_seconds() == settings.JWT_ACCESS_EXPIRY
    assert api().REFRESH_TOKEN_LIFETIME.total_seconds() == settings.JWT_REFRESH_EXPIRY
    assert (api().ALGORITHM, api().USER_ID_CLAIM, api().TOKEN_TYPE_CLAIM,
            api().JTI_CLAIM) == ("HS256", "sub", "token_type", "jti")
    assert "rest_framework_simplejwt.token_blacklist" not in settings.INSTALLED_APPS
    assert {"django.contrib.contenttypes", "django.contrib.auth"} <= set(settings.INSTALLED_APPS)


def test_the_secret_file_governs_the_signing_key(tmp_path):
    secret = "from-a-file-" + uuid.uuid4().hex
    (tmp_path / "jwt_secret").write_text(secret + "\n")
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), "DJANGO_SETTINGS_MODULE": "settings.test",
           "JWT_SECRET": "the-variable-loses-0123456789abcdef0123456789",
           "JWT_SECRET_FILE": str(tmp_path / "jwt_secret")}
    script = ("import django; django.setup(); from django.conf import settings; "
              "from rest_framework_simplejwt.settings import api_settings; "
              "print(settings.JWT_SECRET == api_settings.SIGNING_KEY == settings.SIMPLE_JWT['SIGNING_KEY'], "
              "api_settings.SIGNING_KEY)")
    result = subprocess.run([sys.executable, "-c", script], env=env, cwd=ROOT, capture_output=True, text=True,
                            timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["True", secret]


def test_a_changed_jwt_secret_carries_into_simplejwt(settings):
    before = str(SessionAccessToken.for_session(user_id="u1", role="user", name="", family="f", version=0,
                                                jti="j", now=int(time.time())))
    settings.JWT_SECRET = "a-rotated-secret-0123456789abcdef0123456789"
    assert api().SIGNING_KEY == settings.JWT_SECRET
    with pytest.raises(tokens.TokenInvalid):
        tokens.verify(before)


@pytest.mark.parametrize("override", [
    {"SIGNING_KEY": "a-key-no-check-ever-saw-0123456789abcdef"},
    {"ALGORITHM": "HS512"},
    {"AUDIENCE": None},
    {"AUTH_TOKEN_CLASSES": ("tradesignals.kernel.tokens.AccessToken", "tradesignals.kernel.tokens.RefreshToken")},
    {"CHECK_REVOKE_TOKEN": True},
])
def test_a_simple_jwt_that_disagrees_with_the_jwt_settings_is_refused(settings, override):
    """A settings module cannot route around JWT_SECRET (and production's checks on it) or unpin HS256."""
    settings.SIMPLE_JWT = {**settings.SIMPLE_JWT, **override}
    with pytest.raises(ImproperlyConfigured, match="SIMPLE_JWT"):
        tokens.verify(issue_pair(user_id="u1", role="user", name="", family="f", version=0, refresh_jti="r").access)


def test_pyjwt_is_only_simplejwts_dependency():
    """No product module imports PyJWT itself; requirements.in names simplejwt, not PyJWT."""
    offenders = [str(path.relative_to(ROOT)) for top in ("apps", "tradesignals", "settings")
                 for path in (ROOT / top).rglob("*.py")
                 if any(line.strip().startswith(("import jwt", "from jwt")) for line in path.read_text().splitlines())]
    assert offenders == []
    pins = [line.split("==")[0].strip().lower() for line in (ROOT / "requirements.in").read_text().splitlines()
            if "==" in line and not line.lstrip().startswith("#")]
    assert "djangorestframework-simplejwt" in pins and "pyjwt" not in pins


def test_start_up_refuses_a_settings_module_whose_simple_jwt_bypasses_jwt_secret(tmp_path):
    (tmp_path / "bypass_settings.py").write_text(
        "from settings.test import *  # noqa\n"
        "SIMPLE_JWT = {**SIMPLE_JWT, 'SIGNING_KEY': 'a-key-no-check-ever-saw-0123456789abcdef'}\n")
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": f"{tmp_path}:{ROOT}", "DJANGO_SETTINGS_MODULE": "bypass_settings"}
    script = "from django.core.wsgi import get_wsgi_application; get_wsgi_application(); print('serving')"
    result = subprocess.run([sys.executable, "-c", script], env=env, cwd=ROOT, capture_output=True, text=True,
                            timeout=60, check=False)
    assert result.returncode != 0 and "serving" not in result.stdout
    assert "ImproperlyConfigured: SIMPLE_JWT['SIGNING_KEY'] must be built from JWT_SECRET" in result.stderr
