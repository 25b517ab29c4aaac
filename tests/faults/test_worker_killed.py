"""A gunicorn worker killed (SIGKILL) in the middle of a request, behind the real nginx gateway with two
instances: nginx resends the idempotent GET to the other instance, so no client sees a failure — neither the
request in flight nor the steady stream of reads around it."""
from __future__ import annotations

import os
import signal
import threading
import uuid

import pytest
import requests
from django.core.cache import caches

from tests.deploy.gateway import Nginx, nginx_binary
from tests.support.procs import Gunicorn
from tests.support.servers import require, wait_until
from tradesignals import slices

pytestmark = pytest.mark.cluster


@pytest.fixture
def gateway(mongo_uri, redis_server_url):
    require(nginx_binary() is not None, "nginx is not installed (apt-get install nginx)")
    env = {"DJANGO_SETTINGS_MODULE": "tests.faults.slow_settings", "MONGODB_URI": mongo_uri,
           "REDIS_URL": redis_server_url, "REDIS_ENABLED": "true", "RATE_LIMIT_MAX": "100000"}
    instances = []
    nginx = None
    try:
        instances = [Gunicorn(env, name=f"kill-{name}").start() for name in ("a", "b")]
        servers = [f"127.0.0.1:{web.port}" for web in instances]
        nginx = Nginx({**{name: servers for name in slices.ALL}, "any": servers}).start()
        yield nginx
    finally:
        if nginx:
            nginx.stop()
        for web in instances:
            web.stop()


def test_no_get_fails_when_a_worker_dies_mid_request(gateway):
    statuses: list[int] = []
    stop = threading.Event()

    def steady_reads():
        while not stop.is_set():
            try:
                statuses.append(requests.get(f"{gateway.url}/api/v1/trade-signals/public", timeout=15).status_code)
            except requests.RequestException:
                statuses.append(0)

    readers = [threading.Thread(target=steady_reads) for _ in range(3)]
    for reader in readers:
        reader.start()
    try:
        for _ in range(2):
            tag = uuid.uuid4().hex
            result: dict = {}

            def slow_get(tag=tag, result=result):
                result["response"] = requests.get(f"{gateway.url}/api/v1/trade-signals/test-slow",
                                                  params={"tag": tag, "seconds": "1.5"}, timeout=30)

            in_flight = threading.Thread(target=slow_get)
            in_flight.start()
            victim = wait_until(lambda tag=tag: caches["default"].get(f"test:slow-pid:{tag}"), timeout=10,
                                message="the slow request to reach a worker")
            os.kill(victim, signal.SIGKILL)
            in_flight.join(timeout=30)
            response = result["response"]
            assert response.status_code == 200, response.text[:300]
            assert response.json()["pid"] != victim  # answered by another worker after nginx resent it
    finally:
        stop.set()
        for reader in readers:
            reader.join(timeout=30)
    assert len(statuses) > 10
    assert set(statuses) == {200}, {code: statuses.count(code) for code in set(statuses)}
