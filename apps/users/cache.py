"""Cache keys of the users app and their invalidation, over the kernel CacheService.

``GET /users/me`` is cached per user as the rendered JSON bytes; every change of the profile (an edit, a
projected event, a signal count) deletes the entry after its commit — the services send
``services.profile_changed`` and ``receivers.on_profile_changed`` calls ``me_invalidate``, the one caller of it.
The CacheService turns a Redis outage into a miss, never an error.
"""
from __future__ import annotations

from tradesignals.kernel.cache import get_cache


def me_key(user_id: str) -> str:
    return f"users:me:{user_id}"


def me_get(user_id: str) -> bytes | None:
    return get_cache().get(me_key(user_id))


def me_set(user_id: str, body: bytes) -> None:
    get_cache().set(me_key(user_id), body)


def me_invalidate(user_id: str) -> None:
    # Called after the change is committed. A reader that fetched the old profile just before may still
    # store it; CACHE_TTL_SECONDS bounds that window.
    get_cache().delete(me_key(user_id))
