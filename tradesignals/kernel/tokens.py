"""Verify JWTs. Signing lives in ``apps.accounts``; every slice verifies on its own.

Pinned to HS256; ``exp``, ``iat``, ``jti``, ``sub``, ``iss``, ``aud`` and ``token_type`` are required;
a refresh token is never an access token or the reverse.
"""
from __future__ import annotations

import time

import jwt
from django.conf import settings

from tradesignals.kernel.errors import TokenInvalid
from tradesignals.kernel.lru import BoundedLRU

ALGORITHM = "HS256"
ACCESS = "access"
REFRESH = "refresh"
REQUIRED_CLAIMS = ["exp", "iat", "jti", "sub", "iss", "aud", "token_type"]


class TokenExpired(TokenInvalid):
    """A well-signed token past its ``exp``: the browser path may renew it from the refresh cookie."""

    default_message = "The token has expired."


# The claims of recently verified tokens, so a client's repeated requests pay for the signature and base64
# checks once (PyJWT's decode is ~20 % of a cached read's CPU). Only tokens that passed full verification are
# kept, keyed by the exact token text and the verification settings; ``exp`` is re-checked on every hit, and
# revocation is checked per request elsewhere, as always.
verified_tokens = BoundedLRU(4096)


def verify(token: str, *, expected_type: str = ACCESS) -> dict:
    """Return the claims of a valid token of ``expected_type`` or raise ``TokenInvalid``."""
    if not token or len(token) > 4096:
        raise TokenInvalid()
    key = (token, settings.JWT_SECRET, settings.JWT_AUDIENCE, settings.JWT_ISSUER)
    claims = verified_tokens.get(key)
    if claims is not None:
        if claims["exp"] + settings.JWT_LEEWAY_SECONDS <= time.time():
            raise TokenExpired()
        if claims.get("token_type") != expected_type:
            raise TokenInvalid(f"A {expected_type} token is required.")
        return dict(claims)
    try:
        claims = jwt.decode(
            token,
            settings.JWT_SECRET,
            algorithms=[ALGORITHM],
            audience=settings.JWT_AUDIENCE,
            issuer=settings.JWT_ISSUER,
            leeway=settings.JWT_LEEWAY_SECONDS,
            options={"require": REQUIRED_CLAIMS, "verify_signature": True},
        )
    except jwt.ExpiredSignatureError:
        raise TokenExpired() from None
    except jwt.PyJWTError:
        raise TokenInvalid() from None
    verified_tokens.put(key, dict(claims))
    if claims.get("token_type") != expected_type:
        raise TokenInvalid(f"A {expected_type} token is required.")
    return claims
