"""Liveness never does I/O; readiness reports each dependency and follows MongoDB going away and back."""
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
