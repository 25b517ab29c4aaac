"""Token signing — the only place in the product that mints JWTs (verification is ``kernel.tokens``)."""
from __future__ import annotations

import time
import uuid
from dataclasses import dataclass

import jwt
from django.conf import settings

from tradesignals.kernel import tokens as kernel_tokens


@dataclass(frozen=True)
class TokenPair:
    access: str
    refresh: str
    access_jti: str
    refresh_jti: str
    family: str
    access_expires_at: int
    refresh_expires_at: int


def new_id() -> str:
    return uuid.uuid4().hex


def _sign(*, user_id: str, role: str, name: str, family: str, version: int, token_type: str, jti: str,
          now: int, lifetime: int) -> str:
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
    return jwt.encode(claims, settings.JWT_SECRET, algorithm=kernel_tokens.ALGORITHM)


def issue_pair(*, user_id: str, role: str, name: str, family: str, version: int, refresh_jti: str) -> TokenPair:
    """An access token and the family's current refresh token, both stamped with the user's epoch."""
    now = int(time.time())
    access_jti = new_id()
    common = {"user_id": user_id, "role": role, "name": name, "family": family, "version": version, "now": now}
    return TokenPair(
        access=_sign(token_type=kernel_tokens.ACCESS, jti=access_jti, lifetime=settings.JWT_ACCESS_EXPIRY, **common),
        refresh=_sign(token_type=kernel_tokens.REFRESH, jti=refresh_jti, lifetime=settings.JWT_REFRESH_EXPIRY,
                      **common),
        access_jti=access_jti,
        refresh_jti=refresh_jti,
        family=family,
        access_expires_at=now + settings.JWT_ACCESS_EXPIRY,
        refresh_expires_at=now + settings.JWT_REFRESH_EXPIRY,
    )
