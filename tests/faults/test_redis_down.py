"""Redis (cache and security store) stopped under a running server — a private redis-server this test owns,
never the machine's shared one: the cache falls back to MongoDB (the public feed keeps serving), every
authenticated request fails closed with 503 (revocation cannot be checked), login fails closed, and all of it
recovers when Redis returns, without a restart."""
from __future__ import annotations

import pytest
import requests

from tests.faults.conftest import assert_unavailable, bearer, seed_approved_signal, timed
from tests.support.procs import Gunicorn
from tests.support.servers import PrivateRedis, wait_until

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

        own, seconds = timed("GET", f"{web.url}/api/v1/trade-signals", headers=bearer(owner))
        assert_unavailable(own)
        assert seconds < 2.0
        assert_unavailable(requests.post(f"{web.url}/api/v1/trade-signals", json={}, headers=bearer(owner), timeout=5))
        login, _ = timed("POST", f"{web.url}/api/v1/auth/login",
                         json={"email": "x@example.com", "password": "violet-harbour-lantern-42"})
        assert_unavailable(login)
        assert requests.get(f"{web.url}/health", timeout=5).status_code == 503
        assert requests.get(f"{web.url}/healthz", timeout=5).status_code == 200

        store.start()
        wait_until(lambda: requests.get(f"{web.url}/api/v1/trade-signals", headers=bearer(owner),
                                        timeout=5).status_code == 200, timeout=15, message="authenticated reads")
        assert requests.get(f"{web.url}/health", timeout=5).status_code == 200
    finally:
        if web:
            web.stop()
        store.stop()
