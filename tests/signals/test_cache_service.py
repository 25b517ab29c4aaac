"""CacheService on each backend: prefixed keys, TTLs, generations, locks, and failure as a miss."""
import logging
import time

import pytest
import redis as redis_lib

from tests.support.servers import PrivateRedis, wait_until
from tradesignals.kernel.cache import CacheService, LocalMemoryBackend, NullBackend, RedisBackend


def service(backend, **kwargs):
    return CacheService(backend, default_ttl=kwargs.get("ttl", 300), retry_seconds=kwargs.get("retry", 0.3),
                        warn_interval=kwargs.get("warn", 60))


@pytest.fixture(params=["redis", "locmem"])
def cache(request):
    backend = RedisBackend() if request.param == "redis" else LocalMemoryBackend(f"t{time.monotonic_ns()}")
    return service(backend)


def test_get_set_delete_get_many(cache):
    assert cache.get("a") is None
    cache.set("a", b'{"x":1}')
    cache.set("b", {"body": b"bytes", "etag": '"e"'})
    assert cache.get("a") == b'{"x":1}'
    assert cache.get_many(["a", "b", "c"]) == {"a": b'{"x":1}', "b": {"body": b"bytes", "etag": '"e"'}}
    cache.delete("a")
    assert cache.get("a") is None


def test_ttl_expires(cache):
    cache.set("short", b"x", ttl=1)
    assert cache.get("short") == b"x"
    deadline = time.monotonic() + 5
    while cache.get("short") is not None and time.monotonic() < deadline:
        time.sleep(0.1)
    assert cache.get("short") is None


def test_incr_add_and_generations(cache):
    assert cache.incr("n") == 1 and cache.incr("n", 5) == 6
    assert cache.add("lock", 1, ttl=5) is True and cache.add("lock", 1, ttl=5) is False
    first = cache.generation("ns")
    assert first == cache.generation("ns") and first > 10**15  # starts at a time-based value
    cache.bump("ns")
    assert cache.generation("ns") == first + 1
    assert cache.generations(["ns", "other"])["ns"] == first + 1


def test_redis_keys_are_prefixed_and_versioned(redis_server_url):
    cache = service(RedisBackend())
    cache.set("thing", b"x")
    cache.bump("space")
    keys = sorted(k.decode() for k in redis_lib.Redis.from_url(redis_server_url).keys("*"))
    assert keys == ["ts:v1:gen:{space}", "ts:v1:thing"]  # a generation carries its hash tag


def test_null_backend_caches_nothing():
    cache = service(NullBackend())
    cache.set("a", b"x")
    assert cache.get("a") is None and cache.add("l", 1, ttl=1) is True


def test_backend_follows_settings(settings):
    from tradesignals.kernel.cache import get_cache, reset_cache

    for kind, cls in (("null", NullBackend), ("locmem", LocalMemoryBackend), ("redis", RedisBackend)):
        settings.CACHE_BACKEND = kind
        reset_cache()
        assert isinstance(get_cache().backend, cls)


def test_outage_is_a_miss_with_one_warning_and_recovery(tmp_path, settings, caplog):
    private = PrivateRedis(tmp_path).start()
    settings.CACHES = {**settings.CACHES, "outage": {
        "BACKEND": "django_redis.cache.RedisCache", "LOCATION": private.url,
        "OPTIONS": {"CLIENT_CLASS": "django_redis.client.DefaultClient", "SOCKET_CONNECT_TIMEOUT": 0.25,
                    "SOCKET_TIMEOUT": 0.25, "IGNORE_EXCEPTIONS": True}}}
    cache = service(RedisBackend("outage"), retry=0.3)
    try:
        cache.set("k", b"v")
        gen = cache.generation("ns")
        private.stop()
        with caplog.at_level(logging.WARNING, logger="tradesignals.kernel.cache"):
            started = time.monotonic()
            for _ in range(20):
                assert cache.get("k") is None
                assert cache.generation("ns") is None
                cache.set("k", b"other")
            cache.bump("ns")  # cannot reach Redis: kept and replayed later
            assert time.monotonic() - started < 1.0  # the breaker skips Redis instead of timing out each call
        assert len([r for r in caplog.records if "unavailable" in r.getMessage()]) == 1
        private.start()

        def recovered():
            cache.set("probe", b"1")
            return cache.get("probe") == b"1"

        wait_until(recovered, timeout=10, message="the cache to use Redis again")
        # The bump that could not reach Redis was replayed on recovery: the namespace has a generation
        # in the (restarted, empty) Redis although nobody has read it since.
        assert redis_lib.Redis.from_url(private.url).exists("ts:v1:gen:{ns}")
        assert gen is not None
    finally:
        private.stop()
