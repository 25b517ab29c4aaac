"""Redis (cache and security store) stopped under a running server — a private redis-server this test owns,
never the machine's shared one: the cache falls back to MongoDB (the public feed keeps serving), every
authenticated request fails closed with 503 (revocation cannot be checked), login fails closed, and all of it
recovers when Redis returns, without a restart. With the cache on a Redis of its own, a cache outage only
degrades the instance (``/health`` 200 ``degraded``); the security store's outage takes it out (503)."""
from __future__ import annotations

import subprocess
import sys

import pytest
import requests

from tests.support.errors import assert_unavailable
from tests.support.faults import seed_approved_signal, timed
from tests.support.procs import ROOT, Gunicorn
from tests.support.servers import PrivateRedis, wait_until
from tests.support.tokens import bearer

pytestmark = pytest.mark.cluster


def test_redis_outage_and_recovery(mongo_uri, tmp_path):
    store = PrivateRedis(tmp_path).start()
    web = None
    try:
        web = Gunicorn({"MONGODB_URI": mongo_uri, "REDIS_URL": store.url, "REDIS_ENABLED": "true"},
                       name="redis-fault").start()
        signal_id, owner = seed_approved_signal(web.url)
        feed = f"{web.url}/api/v1/trade-signals/public"
        assert requests.get(feed, timeout=5).json()["results"][0]["id"] == signal_id  # cached now

        store.stop()

        for _ in range(3):  # the first call pays the socket timeout, later ones skip Redis for a while
            response, seconds = timed("GET", feed)
            assert response.status_code == 200 and seconds < 2.0
            assert [s["id"] for s in response.json()["results"]] == [signal_id]
        detail, seconds = timed("GET", f"{web.url}/api/v1/trade-signals/{signal_id}")
        assert detail.status_code == 200 and seconds < 2.0

        own, seconds = timed("GET", f"{web.url}/api/v1/trade-signals", headers=bearer(owner, wsgi=False))
        assert_unavailable(own)
        assert seconds < 2.0
        assert_unavailable(requests.post(f"{web.url}/api/v1/trade-signals", json={}, headers=bearer(owner, wsgi=False),
                                         timeout=5))
        login, _ = timed("POST", f"{web.url}/api/v1/auth/login",
                         json={"email": "x@example.com", "password": "violet-harbour-lantern-42"})
        assert_unavailable(login)
        # one server for cache and security store: its outage is a security outage, not "degraded"
        health = requests.get(f"{web.url}/health", timeout=5)
        assert health.status_code == 503 and health.json()["status"] == "fail"
        assert health.json()["checks"]["redis:cache"]["critical"] is True
        assert requests.get(f"{web.url}/healthz", timeout=5).status_code == 200

        store.start()
        wait_until(lambda: requests.get(f"{web.url}/api/v1/trade-signals", headers=bearer(owner, wsgi=False),
                                        timeout=5).status_code == 200, timeout=15, message="authenticated reads")
        assert requests.get(f"{web.url}/health", timeout=5).status_code == 200
    finally:
        if web:
            web.stop()
        store.stop()


def _container_healthcheck(web) -> int:
    """compose's healthcheck command (deploy/healthcheck.py /health) against this instance: its exit code."""
    return subprocess.run([sys.executable, str(ROOT / "deploy" / "healthcheck.py"), "/health"],
                          env={"PORT": str(web.port)}, capture_output=True, timeout=30).returncode


def _health(web) -> tuple[int, dict]:
    response = requests.get(f"{web.url}/health", timeout=5)
    return response.status_code, response.json()


def test_a_cache_outage_is_degraded_and_a_security_outage_takes_the_instance_out(mongo_uri, tmp_path):
    """The cache and the security store on their own servers, as in production. Every instance shares the
    cache Redis, so its outage must not pull every instance out of the balancer at once: reads keep working
    (from MongoDB) and ``/health`` stays 200, reporting ``degraded``. The security store is this instance's
    to serve correctly (revocation, login counters): without it ``/health`` is 503."""
    (tmp_path / "cache").mkdir()
    (tmp_path / "security").mkdir()
    cache = PrivateRedis(tmp_path / "cache").start()
    security = PrivateRedis(tmp_path / "security").start()
    web = None
    try:
        web = Gunicorn({"MONGODB_URI": mongo_uri, "REDIS_ENABLED": "true", "REDIS_URL": cache.url,
                        "SECURITY_REDIS_URL": security.url}, name="cache-fault").start()
        signal_id, owner = seed_approved_signal(web.url)
        status, body = _health(web)
        assert status == 200 and body["status"] == "ok"
        assert body["checks"]["redis:cache"]["critical"] is False
        assert body["checks"]["redis:security"]["critical"] is True
        assert all(check["critical"] for name, check in body["checks"].items() if name.startswith("mongodb:"))

        cache.stop()
        status, body = _health(web)
        assert status == 200, body
        assert body["status"] == "degraded"
        assert body["checks"]["redis:cache"]["status"] == "fail"
        assert body["checks"]["redis:cache"]["critical"] is False
        assert body["checks"]["redis:security"]["status"] == "ok"
        # what "degraded" promises: the instance still serves reads, public and authenticated
        feed = requests.get(f"{web.url}/api/v1/trade-signals/public", timeout=5)
        assert feed.status_code == 200 and [s["id"] for s in feed.json()["results"]] == [signal_id]
        own = requests.get(f"{web.url}/api/v1/trade-signals", headers=bearer(owner, wsgi=False), timeout=5)
        assert own.status_code == 200 and [s["id"] for s in own.json()["results"]] == [signal_id]
        assert _container_healthcheck(web) == 0  # the container stays healthy too

        cache.start()
        wait_until(lambda: _health(web)[1]["status"] == "ok", timeout=15, message="/health ok again")

        security.stop()
        status, body = _health(web)
        assert status == 503, body
        assert body["status"] == "fail"
        assert body["checks"]["redis:security"] == {**body["checks"]["redis:security"], "status": "fail",
                                                    "critical": True}
        assert body["checks"]["redis:cache"]["status"] == "ok"
        assert_unavailable(requests.get(f"{web.url}/api/v1/trade-signals", headers=bearer(owner, wsgi=False),
                                        timeout=5))
        assert _container_healthcheck(web) == 1

        security.start()
        wait_until(lambda: _health(web)[0] == 200, timeout=15, message="/health 200 again")
    finally:
        if web:
            web.stop()
        cache.stop()
        security.stop()
