"""Cache keys of the users app and their invalidation.

``GET /users/me`` is cached per user as the rendered JSON bytes. The store sits behind these few
functions so the backend (today Django's ``default`` cache alias, which ignores Redis errors: an outage is
a miss) can be swapped for the kernel CacheService in this one file.
"""
from __future__ import annotations

from contextlib import suppress

from django.conf import settings
from django.core.cache import caches

_PREFIX = "users:v1:"


def _store():
    return caches["default"]


def me_key(user_id: str) -> str:
    return f"{_PREFIX}me:{user_id}"


def me_get(user_id: str) -> bytes | None:
    try:
        return _store().get(me_key(user_id))
    except Exception:  # a cache outage is a miss, never an error
        return None


def me_set(user_id: str, body: bytes) -> None:
    with suppress(Exception):  # a cache outage only costs the next read a database trip
        _store().set(me_key(user_id), body, timeout=settings.CACHE_TTL_SECONDS)


def me_invalidate(user_id: str) -> None:
    # Called after the change is committed. A reader that fetched the old profile just before may still
    # store it; CACHE_TTL_SECONDS bounds that window.
    with suppress(Exception):
        _store().delete(me_key(user_id))
