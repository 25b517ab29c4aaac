"""Tokens for tests: mint one for slices that only verify them (the accounts slice is the real signer), and the
one way to send one."""
from __future__ import annotations

import time
import uuid

import jwt
from django.conf import settings


def make_token(user_id: str | None = None, *, role: str = "user", name: str = "Test User",
               token_type: str = "access", ttl: int = 900, **overrides) -> str:
    now = int(time.time())
    claims = {
        "sub": user_id or uuid.uuid4().hex[:24],
        "role": role,
        "name": name,
        "jti": uuid.uuid4().hex,
        "token_type": token_type,
        "fam": uuid.uuid4().hex,
        "ver": 0,
        "iat": now,
        "exp": now + ttl,
        "iss": settings.JWT_ISSUER,
        "aud": settings.JWT_AUDIENCE,
    }
    claims.update(overrides)
    return jwt.encode(claims, settings.JWT_SECRET, algorithm="HS256")


def bearer(token: str, *, wsgi: bool = True) -> dict:
    """The ``Authorization: Bearer`` header for ``token``. Django's test client takes headers as WSGI environ
    keys (``**bearer(token)``); an HTTP client such as requests sends the header itself
    (``headers=bearer(token, wsgi=False)``)."""
    value = f"Bearer {token}"
    return {"HTTP_AUTHORIZATION": value} if wsgi else {"Authorization": value}
