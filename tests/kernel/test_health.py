"""Liveness never does I/O; readiness reports each dependency (and whether it is critical) and follows
MongoDB going away and back. Cache-outage behaviour with real separate servers: tests/faults/test_redis_down.py."""
import pytest
from django.conf import settings

from tests.support.servers import MongoServer
from tradesignals.kernel import mongo


def test_healthz_is_ok(client):
    response = client.get("/healthz")
    assert response.status_code == 200 and response.json() == {"status": "ok"}


def test_health_lists_every_check(client):
    response = client.get("/health")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    expected = {f"mongodb:{alias}" for alias in settings.MONGODB_ALIASES} | {"redis:cache", "redis:security"}
    assert set(body["checks"]) == expected
    assert all(check["status"] == "ok" for check in body["checks"].values())
    # here the cache and the security store are one Redis server: its outage is a security outage
    assert all(check["critical"] is True for check in body["checks"].values())


@pytest.mark.parametrize(("security_url", "cache_critical"), [
    ("redis://127.0.0.1:6379/9", True),     # another db index on the same server: the same outage
    ("redis://localhost:6379/0", False),    # a different name is treated as a different server
    ("redis://127.0.0.1:6390/0", False),    # a server of its own
])
def test_the_cache_check_is_critical_only_when_it_shares_the_security_server(client, settings, security_url,
                                                                              cache_critical):
    settings.REDIS_URL = "redis://127.0.0.1:6379/4"
    settings.SECURITY_REDIS_URL = security_url
    checks = client.get("/health").json()["checks"]
    assert checks["redis:cache"]["critical"] is cache_critical
    assert checks["redis:security"]["critical"] is True


@pytest.fixture
def own_mongo(tmp_path, mongo_uri):
    """A private server so stopping it does not disturb other tests."""
    server = MongoServer(tmp_path / "mongo").start()
    mongo.connect_enabled_aliases(uri_override=server.uri)
    yield server
    server.stop()
    mongo.connect_enabled_aliases(uri_override=mongo_uri)


def test_health_turns_503_when_mongodb_stops_and_recovers(client, own_mongo):
    assert client.get("/health").status_code == 200

    own_mongo.stop()
    response = client.get("/health")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "fail"
    assert body["checks"]["mongodb:signals"]["status"] == "fail"
    assert body["checks"]["mongodb:signals"]["critical"] is True
    assert body["checks"]["redis:cache"]["status"] == "ok"
    assert body["checks"]["mongodb:signals"]["duration_ms"] < 3000

    own_mongo.start()
    from tests.support.servers import wait_until

    wait_until(lambda: client.get("/health").status_code == 200, timeout=15, message="/health back to 200")


def test_draining_turns_readiness_503(client):
    from tradesignals.kernel import health

    health._draining.set()
    try:
        response = client.get("/health")
        assert response.status_code == 503 and response.json()["status"] == "draining"
        assert client.get("/healthz").status_code == 200
    finally:
        health._draining.clear()
