"""Revocation state: revoked token ids, revoked refresh families, per-user epochs.

Lives in the ``security`` cache alias (Redis when enabled, process memory otherwise). That alias never
swallows errors: if the store is down, an authenticated request gets 503, never a silent pass.
The per-request check is one round trip (``get_many`` → one ``MGET``).
"""
from __future__ import annotations

import logging

from django.conf import settings
from django.core.cache import caches

from tradesignals.kernel.errors import ServiceUnavailable, TokenInvalid
from tradesignals.kernel.identity import Principal

logger = logging.getLogger(__name__)
PREFIX = "ts:v1:sec:"


def _store():
    return caches["security"]


def _jti_key(jti: str) -> str:
    return f"{PREFIX}revoked:jti:{jti}"


def _family_key(family: str) -> str:
    return f"{PREFIX}revoked:fam:{family}"


def _epoch_key(user_id: str) -> str:
    return f"{PREFIX}epoch:{user_id}"


def _guard(operation):
    try:
        return operation()
    except (TokenInvalid, ServiceUnavailable):
        raise
    except Exception as exc:  # redis.ConnectionError, django_redis ConnectionInterrupted, timeouts
        logger.warning("security store unavailable: %s", exc.__class__.__name__)
        raise ServiceUnavailable("The security store is unavailable; retry later.") from None


def _epoch_ttl() -> int:
    # An epoch must outlive every token issued before it was bumped.
    return settings.JWT_REFRESH_EXPIRY + settings.JWT_LEEWAY_SECONDS + 60


def check(principal: Principal) -> None:
    """Raise ``TokenInvalid`` if the token, its family or its user epoch was revoked."""
    keys = [_jti_key(principal.jti), _epoch_key(principal.user_id)]
    if principal.family:
        keys.append(_family_key(principal.family))
    found = _guard(lambda: _store().get_many(keys))
    if found.get(_jti_key(principal.jti)) or (principal.family and found.get(_family_key(principal.family))):
        raise TokenInvalid("The token has been revoked.")
    if principal.version < int(found.get(_epoch_key(principal.user_id)) or 0):
        raise TokenInvalid("The token has been revoked.")


def is_family_revoked(family: str) -> bool:
    return bool(_guard(lambda: _store().get(_family_key(family))))


def revoke_token(jti: str, ttl: int) -> None:
    _guard(lambda: _store().set(_jti_key(jti), 1, timeout=max(1, int(ttl))))


def revoke_family(family: str, ttl: int | None = None) -> None:
    timeout = ttl or settings.JWT_REFRESH_EXPIRY + settings.JWT_LEEWAY_SECONDS
    _guard(lambda: _store().set(_family_key(family), 1, timeout=max(1, int(timeout))))


def current_epoch(user_id: str) -> int:
    return int(_guard(lambda: _store().get(_epoch_key(user_id))) or 0)


def set_epoch(user_id: str, epoch: int) -> None:
    """Mirror a durable epoch (kept by accounts) into the store."""
    _guard(lambda: _store().set(_epoch_key(user_id), int(epoch), timeout=_epoch_ttl()))
