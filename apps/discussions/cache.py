"""This app's cache namespaces, its reads through the kernel's rendered-response cache, and invalidation.

Namespaces: ``discussions:threads`` holds every page of the thread list (each viewer class and filter),
``discussions:thread:<id>`` one thread's representation and its comment pages, ``discussions:moderation`` the
administrators' reads (open reports, recent comments). Entries are rendered bytes with their ETag and what
authorisation needs (the thread's visibility), so a hit never touches MongoDB. The services send
``services.discussion_changed`` after each commit and ``receivers`` bumps exactly the namespaces the change can
affect — a reader that fetched old data before the write stores it under a generation nobody reads any more.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable

from tradesignals.kernel import cache as kernel_cache
from tradesignals.kernel.cache import etag_for, get_cache

__all__ = ["MODERATION", "THREADS", "etag_for", "invalidate", "read_through", "thread_namespace"]

THREADS = "discussions:threads"
MODERATION = "discussions:moderation"


def thread_namespace(thread_id: str) -> str:
    return f"discussions:thread:{thread_id}"


def read_through(namespace: str, query: dict, build: Callable[[], dict | None], *,
                 ttl: int | None = None) -> dict | None:
    """The cached rendered entry for ``query`` in ``namespace`` (``kernel.cache.read_rendered``)."""
    return kernel_cache.read_rendered(namespace, query, build, ttl=ttl)


def invalidate(*, thread_ids: Iterable[str], lists: bool, moderation: bool) -> None:
    """Orphan the cached reads of ``thread_ids`` and, as asked, of the thread list and the moderation reads."""
    namespaces = [thread_namespace(str(thread_id)) for thread_id in thread_ids]
    if lists:
        namespaces.append(THREADS)
    if moderation:
        namespaces.append(MODERATION)
    get_cache().bump_many(namespaces)
