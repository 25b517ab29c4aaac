"""The kernel cache: backends (Redis, local memory, null), the failure-tolerant CacheService over one of them,
and the read-through helper apps serve cached reads with.

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
from tradesignals.kernel.cache.service import CacheService, get_cache, reset_cache

__all__ = [
    "PREFIX",
    "CacheService",
    "Cached",
    "LocalMemoryBackend",
    "NullBackend",
    "RedisBackend",
    "entry_key",
    "get_cache",
    "read_through",
    "reset_cache",
    "stats",
]
