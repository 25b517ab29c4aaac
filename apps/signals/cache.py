"""This app's cache namespaces, its reads through the kernel read-through, and invalidation.

Entries are the rendered response bytes plus their ETag (and, for a detail, what authorisation needs:
owner, status, owner_active), so a hit — and a 304 — never touches MongoDB. Every key carries its
namespace's generation; invalidation bumps generations after a write commits, so a reader that fetched
old data before the write stores it under a generation nobody reads any more.
"""
from __future__ import annotations

from collections.abc import Callable

from tradesignals.kernel import cache as kernel_cache
from tradesignals.kernel.cache import etag_for, get_cache

__all__ = ["ADMIN_ALL", "PUBLIC_APPROVED", "detail_namespace", "etag_for", "invalidate", "invalidate_many",
           "invalidate_owner", "read_through", "user_namespace"]

ADMIN_ALL = "trade-signals:admin:all"
PUBLIC_APPROVED = "trade-signals:public:approved"


def user_namespace(owner_id: str) -> str:
    return f"trade-signals:user:{owner_id}"


def detail_namespace(signal_id: str) -> str:
    return f"trade-signal:{signal_id}"


def read_through(namespace: str, query: dict, build: Callable[[], dict | None], *,
                 ttl: int | None = None) -> dict | None:
    """The cached rendered entry for ``query`` in ``namespace`` (``kernel.cache.read_rendered``)."""
    return kernel_cache.read_rendered(namespace, query, build, ttl=ttl)


def invalidate(*, owner_id: str, signal_id: str | None, public: bool) -> None:
    """Orphan every cached read a change to one of ``owner_id``'s signals can affect."""
    namespaces = [user_namespace(owner_id), ADMIN_ALL]
    if signal_id:
        namespaces.append(detail_namespace(signal_id))
    if public:
        namespaces.append(PUBLIC_APPROVED)
    get_cache().bump_many(namespaces)


def invalidate_many(changes: list[tuple[str, str, bool]]) -> None:
    """``invalidate`` for many signals at once — ``(owner_id, signal_id, public)`` each — in one bump, as an
    evaluation that changed the outcomes of many signals of one symbol needs."""
    namespaces = {ADMIN_ALL}
    for owner_id, signal_id, public in changes:
        namespaces.update((user_namespace(owner_id), detail_namespace(signal_id)))
        if public:
            namespaces.add(PUBLIC_APPROVED)
    get_cache().bump_many(sorted(namespaces))


def invalidate_owner(*, owner_id: str, signal_ids: list[str]) -> None:
    """A change to all of one owner's signals (name, activation) touches every read of them."""
    cache = get_cache()
    cache.bump_many([user_namespace(owner_id), ADMIN_ALL, PUBLIC_APPROVED])
    cache.bump_many(detail_namespace(signal_id) for signal_id in signal_ids)
