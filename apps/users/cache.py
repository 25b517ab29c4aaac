"""Cache keys of the users app and their invalidation, over the kernel cache.

``GET /users/me`` is cached per user as the rendered JSON bytes, read through the kernel read-through (one
build per miss, cluster-wide) in a namespace of its own per user; every change of the profile (an edit, a
projected event, a signal count, the track record) bumps that namespace after its commit — the services send
``services.profile_changed`` and ``receivers.on_profile_changed`` calls ``me_invalidate``, the one caller of it.
A bump that cannot reach Redis is replayed when it answers again; an outage is a miss, never an error. The
track record's 30-day window moves without any event: an entry lives ``CACHE_TTL_SECONDS`` at most, which
bounds how late an outcome leaves ``last_30_days`` there.
"""
from __future__ import annotations

from collections.abc import Callable

from tradesignals.kernel.cache import Cached, get_cache, read_through

_ME_SUFFIX = "body"


def me_namespace(user_id: str) -> str:
    return f"users:me:{user_id}"


def me_read_through(user_id: str, build: Callable[[], bytes | None]) -> Cached:
    """The caller's rendered profile: cached bytes, or ``build()``'s (stored unless ``None``, which is how
    a profile that must not be cached — the claims-built stand-in — stays out)."""
    return read_through(me_namespace(user_id), _ME_SUFFIX, build)


def me_invalidate(user_id: str) -> None:
    # Called after the change is committed: every entry of the user's namespace is orphaned at once.
    get_cache().bump(me_namespace(user_id))
