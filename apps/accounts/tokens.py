"""Token minting — the only place in the product that issues JWTs (verification is ``kernel.tokens``).

The tokens are the kernel's simplejwt ``AccessToken`` / ``RefreshToken``; minting adds the session claims
(``role``, ``name``, ``fam``, ``ver``) and stamps both tokens of a pair with one issue time, so an access token
lives exactly ``ACCESS_TOKEN_LIFETIME`` and a refresh token ``REFRESH_TOKEN_LIFETIME``. The claim set and
header are the ones tokens always had: ``sub, role, name, jti, token_type, fam, ver, iat, exp, iss, aud``,
``{"alg": "HS256", "typ": "JWT"}``.
"""
from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

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


class SessionClaims:
    """``for_session``: simplejwt's ``for_user`` for one of our sessions (no user object, no database)."""

    @classmethod
    def for_session(cls, *, user_id: str, role: str, name: str, family: str, version: int, jti: str, now: int):
        token = cls()  # simplejwt: token_type, exp, iat, jti
        issued = datetime.fromtimestamp(now, UTC)
        token.current_time = issued
        token.set_iat(at_time=issued)
        token.set_exp(from_time=issued, lifetime=token.lifetime)
        token[kernel_tokens.JTI_CLAIM] = jti
        token[kernel_tokens.USER_ID_CLAIM] = str(user_id)
        token["role"] = role
        token["name"] = name
        token["fam"] = family
        token["ver"] = int(version)
        return token  # str(token) signs it; the backend adds iss and aud


class SessionAccessToken(SessionClaims, kernel_tokens.AccessToken):
    pass


class SessionRefreshToken(SessionClaims, kernel_tokens.RefreshToken):
    pass


def issue_pair(*, user_id: str, role: str, name: str, family: str, version: int, refresh_jti: str) -> TokenPair:
    """An access token and the family's current refresh token, both stamped with the user's epoch."""
    now = int(time.time())
    common = {"user_id": user_id, "role": role, "name": name, "family": family, "version": version, "now": now}
    access = SessionAccessToken.for_session(jti=new_id(), **common)
    refresh = SessionRefreshToken.for_session(jti=refresh_jti, **common)
    return TokenPair(
        access=str(access),
        refresh=str(refresh),
        access_jti=access[kernel_tokens.JTI_CLAIM],
        refresh_jti=refresh_jti,
        family=family,
        access_expires_at=access["exp"],
        refresh_expires_at=refresh["exp"],
    )
