"""Verify JWTs through djangorestframework-simplejwt. Signing lives in ``apps.accounts``; every slice verifies.

The token classes are simplejwt's ``AccessToken`` / ``RefreshToken``, configured by ``SIMPLE_JWT`` (built from
the ``JWT_*`` settings). On top of simplejwt: HS256 is pinned, ``exp``, ``iat``, ``jti``, ``sub``, ``iss``,
``aud`` and ``token_type`` are all required (a null counts as missing), a refresh token is never an access token
or the reverse, and the claims of fully verified tokens are memoised per process.
"""
from __future__ import annotations

import time
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.dispatch import receiver
from django.test.signals import setting_changed
from rest_framework_simplejwt import settings as simplejwt_settings
from rest_framework_simplejwt.backends import TokenBackend
from rest_framework_simplejwt.exceptions import ExpiredTokenError, TokenError
from rest_framework_simplejwt.tokens import AccessToken as SimpleJWTAccessToken
from rest_framework_simplejwt.tokens import RefreshToken as SimpleJWTRefreshToken
from rest_framework_simplejwt.utils import aware_utcnow

from tradesignals.kernel.errors import TokenInvalid
from tradesignals.kernel.identity import TokenPrincipal
from tradesignals.kernel.lru import BoundedLRU

ALGORITHM = "HS256"
ACCESS = "access"
REFRESH = "refresh"
USER_ID_CLAIM = "sub"
TOKEN_TYPE_CLAIM = "token_type"
JTI_CLAIM = "jti"
REQUIRED_CLAIMS = ("exp", "iat", "jti", "sub", "iss", "aud", "token_type")
SESSION_CLAIMS = ("role", "name", "fam", "ver")  # ours, beside the registered ones; minted by apps.accounts
MAX_TOKEN_LENGTH = 4096


class TokenExpired(TokenInvalid):
    """A well-signed token past its ``exp``: the browser path may renew it from the refresh cookie."""

    default_message = "The token has expired."


class TokenWrongType(TokenInvalid):
    """A genuine token of the other type: a refresh token offered as an access token, or the reverse."""


class WrongTokenType(TokenError):
    """simplejwt's side of ``TokenWrongType`` (raised inside the token classes' own verification)."""


# --- configuration ---------------------------------------------------------------------------------------

# What each JWT_* setting becomes in SIMPLE_JWT. Start-up and every settings change compare the two, so a
# settings module (or a test) can never leave simplejwt signing with a key that production's checks never saw.
_FROM_JWT_SETTINGS = {
    "JWT_SECRET": ("SIGNING_KEY", str),
    "JWT_ISSUER": ("ISSUER", str),
    "JWT_AUDIENCE": ("AUDIENCE", str),
    "JWT_LEEWAY_SECONDS": ("LEEWAY", int),
    "JWT_ACCESS_EXPIRY": ("ACCESS_TOKEN_LIFETIME", lambda seconds: timedelta(seconds=seconds)),
    "JWT_REFRESH_EXPIRY": ("REFRESH_TOKEN_LIFETIME", lambda seconds: timedelta(seconds=seconds)),
}
_PINNED = {
    "ALGORITHM": ALGORITHM,
    "USER_ID_CLAIM": USER_ID_CLAIM,
    "TOKEN_TYPE_CLAIM": TOKEN_TYPE_CLAIM,
    "JTI_CLAIM": JTI_CLAIM,
    "CHECK_REVOKE_TOKEN": False,
    "BLACKLIST_AFTER_ROTATION": False,
    "UPDATE_LAST_LOGIN": False,
    "AUTH_HEADER_TYPES": ("Bearer",),
    "AUTH_HEADER_NAME": "HTTP_AUTHORIZATION",
}
AUTH_HEADER_NAME = _PINNED["AUTH_HEADER_NAME"]


def _api_settings():
    # Read through the module: simplejwt replaces the object when SIMPLE_JWT changes.
    return simplejwt_settings.api_settings


def check_configuration() -> None:
    """Refuse a ``SIMPLE_JWT`` that disagrees with the ``JWT_*`` settings or unpins what must stay pinned."""
    api = _api_settings()
    problems = []
    for name, (key, convert) in _FROM_JWT_SETTINGS.items():
        if getattr(api, key) != convert(getattr(settings, name)):
            problems.append(f"SIMPLE_JWT[{key!r}] must be built from {name}")
    for key, wanted in _PINNED.items():
        if getattr(api, key) != wanted:
            problems.append(f"SIMPLE_JWT[{key!r}] must be {wanted!r}")
    if api.TOKEN_USER_CLASS is not TokenPrincipal:
        problems.append("SIMPLE_JWT['TOKEN_USER_CLASS'] must be tradesignals.kernel.identity.TokenPrincipal")
    if tuple(api.AUTH_TOKEN_CLASSES) != (AccessToken,):
        problems.append("SIMPLE_JWT['AUTH_TOKEN_CLASSES'] must be exactly tradesignals.kernel.tokens.AccessToken")
    if "rest_framework_simplejwt.token_blacklist" in settings.INSTALLED_APPS:
        problems.append("rest_framework_simplejwt.token_blacklist needs SQL tables: revocation is kernel.revocation")
    if problems:
        raise ImproperlyConfigured("; ".join(problems))


class Backend:
    """simplejwt's ``TokenBackend`` for one ``SIMPLE_JWT`` object, which was checked when this was built.

    simplejwt builds its own backend once, at import; ours follows ``SIMPLE_JWT`` when it is replaced.
    """

    def __init__(self, api):
        check_configuration()
        self.settings_object = api
        self.backend = TokenBackend(api.ALGORITHM, api.SIGNING_KEY, api.VERIFYING_KEY, api.AUDIENCE, api.ISSUER,
                                    None, api.LEEWAY, api.JSON_ENCODER)
        self.leeway_seconds = self.backend.get_leeway().total_seconds()


_current: Backend | None = None


def backend() -> Backend:
    global _current
    api = _api_settings()
    current = _current
    if current is None or current.settings_object is not api:
        _current = current = Backend(api)
    return current


@receiver(setting_changed)
def _follow_jwt_settings(*, setting: str, **_kwargs) -> None:
    """A changed JWT_* setting (``override_settings``, pytest's ``settings``) is carried into SIMPLE_JWT."""
    if setting not in _FROM_JWT_SETTINGS:
        return
    value = dict(getattr(settings, "SIMPLE_JWT", {}))
    for name, (key, convert) in _FROM_JWT_SETTINGS.items():
        value[key] = convert(getattr(settings, name))
    simplejwt_settings.reload_api_settings(setting="SIMPLE_JWT", value=value)


class _Lifetime:
    """``lifetime`` read from the current ``SIMPLE_JWT`` (simplejwt's classes copy it once, at import)."""

    def __init__(self, key: str):
        self.key = key

    def __get__(self, instance, owner) -> timedelta:
        return getattr(_api_settings(), self.key)


# --- token classes ---------------------------------------------------------------------------------------


class _VerifiedClaims:
    """What our access and refresh tokens add to simplejwt's: the pinned backend and the required claims."""

    payload: dict
    token_type: str

    @property
    def token_backend(self) -> TokenBackend:
        return backend().backend

    def verify(self) -> None:
        for claim in REQUIRED_CLAIMS:
            if self.payload.get(claim) is None:
                raise TokenError(f"Token has no {claim!r} claim")
        super().verify()  # exp (with the leeway), jti, token type

    def verify_token_type(self) -> None:
        if self.payload.get(TOKEN_TYPE_CLAIM) != self.token_type:
            raise WrongTokenType(f"A {self.token_type} token is required.")

    @classmethod
    def from_verified_claims(cls, raw: str, claims: dict):
        """The token object for ``raw`` whose ``claims`` were already verified (memo hit, the gateway's check)."""
        token = cls.__new__(cls)
        token.token = raw
        token.current_time = aware_utcnow()
        token.payload = claims
        return token


class AccessToken(_VerifiedClaims, SimpleJWTAccessToken):
    """An access token: ``sub``, ``role``, ``name``, ``fam``, ``ver`` and the registered claims."""

    token_type = ACCESS
    lifetime = _Lifetime("ACCESS_TOKEN_LIFETIME")


class RefreshToken(_VerifiedClaims, SimpleJWTRefreshToken):
    """A refresh token of one session (``fam``); rotation and reuse detection are apps.accounts' sessions."""

    token_type = REFRESH
    lifetime = _Lifetime("REFRESH_TOKEN_LIFETIME")
    access_token_class = AccessToken


TOKEN_CLASSES = {ACCESS: AccessToken, REFRESH: RefreshToken}


# --- verification ----------------------------------------------------------------------------------------

# The claims of recently verified tokens, so a client's repeated requests pay for the signature and base64
# checks once (decoding is ~20 % of a cached read's CPU). Only tokens that passed full verification are kept,
# keyed by the exact token text and the verification settings; ``exp`` and the type are re-checked on every
# hit, and revocation is checked per request elsewhere, as always.
verified_tokens = BoundedLRU(4096)


def verify(token: str, *, expected_type: str = ACCESS) -> dict:
    """Return the claims of a valid token of ``expected_type`` or raise ``TokenInvalid``."""
    claims = _remembered(token, expected_type)
    return claims if claims is not None else _decoded(token, expected_type).payload.copy()


def validated(token: str, *, expected_type: str = ACCESS):
    """The verified ``AccessToken`` / ``RefreshToken`` for ``token``, or ``TokenInvalid``."""
    claims = _remembered(token, expected_type)
    if claims is not None:
        return TOKEN_CLASSES[expected_type].from_verified_claims(token, claims)
    return _decoded(token, expected_type)


def _memo_key(token: str) -> tuple:
    current = backend().backend
    return token, current.signing_key, current.audience, current.issuer


def _remembered(token: str, expected_type: str) -> dict | None:
    """A copy of the memoised claims of ``token`` (expiry and type checked again), or None when not known."""
    if expected_type not in TOKEN_CLASSES:
        raise ValueError(f"unknown token type {expected_type!r}")
    if not token or not isinstance(token, str) or len(token) > MAX_TOKEN_LENGTH:
        raise TokenInvalid()
    claims = verified_tokens.get(_memo_key(token))
    if claims is None:
        return None
    if claims["exp"] + backend().leeway_seconds <= time.time():
        raise TokenExpired()
    if claims.get(TOKEN_TYPE_CLAIM) != expected_type:
        raise TokenWrongType(f"A {expected_type} token is required.")
    return dict(claims)


def _decoded(token: str, expected_type: str):
    try:
        verified = TOKEN_CLASSES[expected_type](token)
    except ExpiredTokenError:
        raise TokenExpired() from None
    except WrongTokenType as error:
        raise TokenWrongType(str(error)) from None
    except TokenError:
        raise TokenInvalid() from None
    except (OverflowError, ValueError, OSError):  # a signed but absurd time claim: no datetime holds it
        raise TokenInvalid() from None
    verified_tokens.put(_memo_key(token), dict(verified.payload))
    return verified


def verify_any(token: str) -> dict:
    """The claims of a valid access or refresh token (``POST auth/verify``), or ``TokenInvalid``."""
    try:
        return verify(token, expected_type=ACCESS)
    except TokenWrongType:
        return verify(token, expected_type=REFRESH)


# At import, which is start-up for every process that serves (the gateway middleware imports this module when
# the WSGI application is built): a SIMPLE_JWT that disagrees with JWT_* stops the process before it serves.
backend()
