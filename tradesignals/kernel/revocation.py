"""Revocation state: revoked token ids, revoked refresh families, per-user epochs.

Lives in the ``security`` cache alias (Redis when enabled, process memory otherwise). That alias never
swallows errors: if the store is down, an authenticated request gets 503, never a silent pass.
The per-request check is one round trip (``get_many`` → one ``MGET``). On a Redis Cluster the keys keep their
names and hash to different slots: ``get_many`` is then one ``MGET`` per slot, pipelined to the masters in
parallel (still one round trip of latency); every write here touches one key, so it goes to its own master.
"""
from __future__ import annotations

import logging
import threading

from django.conf import settings
from django.core.cache import caches

from tradesignals.kernel.errors import ServiceUnavailable, TokenInvalid
from tradesignals.kernel.identity import Principal

logger = logging.getLogger(__name__)
PREFIX = "ts:v1:sec:"


class TokenRevoked(TokenInvalid):
    """The token was revoked; ``superseded`` when only the user's epoch moved past it (role/password change)."""

    default_message = "The token has been revoked."

    def __init__(self, message: str | None = None, *, superseded: bool = False, **kwargs):
        super().__init__(message, **kwargs)
        self.superseded = superseded


STORE_ALIAS = "security"


def _store():
    return caches[STORE_ALIAS]


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


def keys_for(principal: Principal) -> list[str]:
    """The store keys whose values decide whether ``principal``'s token is still good."""
    keys = [_jti_key(principal.jti), _epoch_key(principal.user_id)]
    if principal.family:
        keys.append(_family_key(principal.family))
    return keys


def check(principal: Principal, *, prefetched: dict | None = None) -> None:
    """Raise ``TokenInvalid`` if the token, its family or its user epoch was revoked.

    ``prefetched`` holds the values of ``keys_for(principal)`` read earlier in the same request (the gateway
    rate limit reads them in its own round trip); without it the store is asked now.
    """
    found = prefetched if prefetched is not None else _guard(lambda: _store().get_many(keys_for(principal)))
    if found.get(_jti_key(principal.jti)) or (principal.family and found.get(_family_key(principal.family))):
        raise TokenRevoked()
    if principal.version < int(found.get(_epoch_key(principal.user_id)) or 0):
        raise TokenRevoked(superseded=True)


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


_RAISE_EPOCH_LUA = """
local current = tonumber(redis.call('GET', KEYS[1]) or '0') or 0
local wanted = tonumber(ARGV[1])
if wanted > current then
  redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
  return wanted
end
redis.call('EXPIRE', KEYS[1], ARGV[2])
return current
"""
_local_lock = threading.Lock()


def raise_epoch(user_id: str, epoch: int) -> int:
    """Mirror a durable epoch, never lowering the stored one (two racing bumps cannot undo each other).

    Returns the epoch now in the store.
    """
    store = _store()
    key = _epoch_key(user_id)

    def on_redis():
        from django_redis import get_redis_connection

        conn = get_redis_connection("security")
        return int(conn.eval(_RAISE_EPOCH_LUA, 1, store.make_and_validate_key(key), int(epoch), _epoch_ttl()))

    def in_memory():
        with _local_lock:
            current = int(store.get(key) or 0)
            if epoch > current:
                store.set(key, int(epoch), timeout=_epoch_ttl())
                return int(epoch)
            store.touch(key, timeout=_epoch_ttl())
            return current

    if _is_redis(store):
        return _guard(on_redis)
    return _guard(in_memory)


def revoke_families(families: list[str], ttl: int | None = None) -> None:
    """Revoke several families in one round trip (logout-all, deactivation)."""
    if not families:
        return
    timeout = ttl or settings.JWT_REFRESH_EXPIRY + settings.JWT_LEEWAY_SECONDS
    _guard(lambda: _store().set_many({_family_key(f): 1 for f in families}, timeout=max(1, int(timeout))))


def _is_redis(store) -> bool:
    try:
        from django_redis.cache import RedisCache
    except ImportError:  # pragma: no cover - django-redis is a production dependency
        return False
    return isinstance(store, RedisCache)
