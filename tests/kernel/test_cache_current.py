"""``CacheService.current``: a cached read's generation and entry in one call (one round trip on Redis)."""
import pytest

from tradesignals.kernel.cache import CacheService, LocalMemoryBackend, RedisBackend, entry_key


@pytest.fixture(params=["redis", "locmem"])
def cache(request):
    backend = RedisBackend() if request.param == "redis" else LocalMemoryBackend(location="current-test")
    if request.param == "locmem":
        backend.clear()
    return CacheService(backend, default_ttl=60, retry_seconds=1, warn_interval=60)


def test_current_reads_the_entry_of_the_current_generation_only(cache):
    generation, entry = cache.current("ns:a", "q1")
    assert generation is not None and entry is None
    assert cache.generation("ns:a") == generation  # a missing generation is created once, then kept

    cache.set(entry_key("ns:a", generation, "q1"), {"body": b"page"})
    assert cache.current("ns:a", "q1") == (generation, {"body": b"page"})
    assert cache.current("ns:a", "q2") == (generation, None)

    cache.bump("ns:a")  # a write orphans every entry of the namespace
    moved, entry = cache.current("ns:a", "q1")
    assert moved != generation and entry is None


def test_current_is_a_miss_when_the_cache_is_down(cache):
    cache._failed(RuntimeError("down"))
    assert cache.current("ns:a", "q1") == (None, None)
