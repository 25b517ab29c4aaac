"""The kernel cache: backends (Redis, local memory, null), the failure-tolerant CacheService over one of them,
the read-through helper apps serve cached reads with, and the rendered-response entries on top of it.

Apps import from here (``from tradesignals.kernel.cache import get_cache, read_through``), and only from their
own ``cache.py``.
"""
from tradesignals.kernel.cache.backends import (
    PREFIX,
    LocalMemoryBackend,
    NullBackend,
    RedisBackend,
    entry_key,
)
from tradesignals.kernel.cache.readthrough import Cached, read_through, stats
from tradesignals.kernel.cache.rendered import etag_for, query_key, read_rendered
from tradesignals.kernel.cache.service import CacheService, get_cache, reset_cache

__all__ = [
    "PREFIX",
    "CacheService",
    "Cached",
    "LocalMemoryBackend",
    "NullBackend",
    "RedisBackend",
    "entry_key",
    "etag_for",
    "get_cache",
    "query_key",
    "read_rendered",
    "read_through",
    "reset_cache",
    "stats",
]
