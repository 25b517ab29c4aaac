"""MongoDB stopped under a running server (a private MongoDB-compatible server this test owns): reads and
writes answer 503 ``service_unavailable`` as JSON within the configured timeout — no hang, no 500 — and the
same processes serve again once it is back."""
from __future__ import annotations

import pytest
import requests

from tests.support.errors import assert_unavailable
from tests.support.faults import SIGNAL, seed_approved_signal, timed
from tests.support.procs import Gunicorn
from tests.support.servers import MongoServer, wait_until
from tests.support.tokens import bearer

pytestmark = pytest.mark.cluster
TIMEOUT_MS = 1000


def test_mongo_outage_and_recovery(redis_server_url, tmp_path):
    database = MongoServer(tmp_path / "mongo").start()
    web = None
    try:
        web = Gunicorn({"MONGODB_URI": database.uri, "REDIS_URL": redis_server_url, "REDIS_ENABLED": "true",
                        "CACHE_BACKEND": "null", "MONGODB_TIMEOUT_MS": str(TIMEOUT_MS)}, name="mongo-fault").start()
        signal_id, owner = seed_approved_signal(web.url)

        database.stop()

        limit = TIMEOUT_MS / 1000 * 2 + 1.0  # server selection, once per request, plus the rest of the work
        calls = [
            ("GET", f"{web.url}/api/v1/trade-signals/public", {}),
            ("GET", f"{web.url}/api/v1/trade-signals/{signal_id}", {}),
            ("GET", f"{web.url}/api/v1/trade-signals", {"headers": bearer(owner, wsgi=False)}),
            ("POST", f"{web.url}/api/v1/trade-signals", {"headers": bearer(owner, wsgi=False), "json": SIGNAL}),
            ("POST", f"{web.url}/api/v1/auth/register",
             {"json": {"email": "down@example.com", "password": "violet-harbour-lantern-42"}}),
        ]
        for method, url, kwargs in calls:
            response, seconds = timed(method, url, **kwargs)
            assert_unavailable(response)
            assert seconds < limit, (method, url, seconds)
        health, seconds = timed("GET", f"{web.url}/health")
        assert health.status_code == 503 and seconds < limit

        database.start()
        wait_until(lambda: requests.get(f"{web.url}/api/v1/trade-signals/public", timeout=5).status_code == 200,
                   timeout=20, message="the feed to serve again")
        feed = requests.get(f"{web.url}/api/v1/trade-signals/public", timeout=5).json()["results"]
        assert [s["id"] for s in feed] == [signal_id]
        created = requests.post(f"{web.url}/api/v1/trade-signals", json=SIGNAL, headers=bearer(owner, wsgi=False),
                                timeout=10)
        assert created.status_code == 201
    finally:
        if web:
            web.stop()
        database.stop()
