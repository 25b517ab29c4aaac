"""The event broker (Redis Streams on its own redis-server, which this test owns) stopped: writes still succeed
— the event waits in the outbox, in the same MongoDB transaction as the change — and the relay drains the
outbox to the broker once it is back."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import pytest
import redis
import requests

from tests.support.faults import SIGNAL, timed
from tests.support.procs import ROOT, Gunicorn
from tests.support.servers import PrivateRedis, wait_until
from tests.support.tokens import bearer, make_token
from tradesignals.kernel.events import outbox

pytestmark = pytest.mark.cluster


def test_writes_succeed_while_the_broker_is_down_and_the_outbox_drains_after(mongo_uri, redis_server_url, tmp_path):
    broker = PrivateRedis(tmp_path).start()
    env = {"MONGODB_URI": mongo_uri, "REDIS_URL": redis_server_url, "REDIS_ENABLED": "true", "EVENT_BUS": "redis",
           "EVENT_REDIS_URL": broker.url, "EVENT_REDIS_TIMEOUT": "0.5", "EVENT_PUBLISH_TIMEOUT_MS": "500",
           "EVENT_RELAY_INTERVAL_MS": "200", "EVENT_RELAY_MAX_BACKOFF_MS": "500"}
    web = relay = None
    try:
        web = Gunicorn(env, name="broker-fault").start()
        owner = make_token(role="user")
        broker.stop()

        created = []
        for index in range(3):
            response, seconds = timed("POST", f"{web.url}/api/v1/trade-signals",
                                      json={**SIGNAL, "rationale": f"Written during the outage {index}."},
                                      headers=bearer(owner, wsgi=False))
            assert response.status_code == 201, response.text
            assert seconds < 2.0
            created.append(response.json()["id"])
        assert outbox.counts("signals")["pending"] >= 3
        own = requests.get(f"{web.url}/api/v1/trade-signals", headers=bearer(owner, wsgi=False),
                           timeout=5).json()["results"]
        assert {s["id"] for s in own} == set(created)

        broker.start()
        relay = subprocess.Popen([sys.executable, "manage.py", "run_relay"], cwd=ROOT,
                                 env={**os.environ, **env, "DJANGO_SETTINGS_MODULE": "settings.test"},
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_until(lambda: outbox.counts("signals")["pending"] == 0, timeout=30, message="the outbox to drain")
        stream = redis.Redis.from_url(broker.url).xrange("ts:events:trade_signal.created")
        delivered = [json.loads(fields[b"envelope"])["key"] for _, fields in stream]
        assert sorted(delivered) == sorted(created)  # each exactly once, none lost
    finally:
        if relay is not None and relay.poll() is None:
            relay.send_signal(signal.SIGTERM)
            relay.wait(timeout=20)
        if web:
            web.stop()
        broker.stop()
