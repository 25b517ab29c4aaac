"""A rolling replacement of one slice instance behind the gateway drops no request.

What a Deployment's rolling update does (maxSurge 1, maxUnavailable 0), with the drain the image and the
manifests use (``GUNICORN_DRAIN_SECONDS`` from the Dockerfile): the new instance starts and becomes ready; the old
one leaves the balancer's targets (the ingress controller reloads nginx without it while the pod's preStop hook
sleeps; the ALB deregisters it); then it gets SIGTERM — it answers ``/health`` 503 while it keeps serving for the
drain, then closes its listener and finishes what it holds. nginx (the repository's configuration) sends each
request to an instance that takes it and retries a refused connection on the next one. Streams of reads, of
signed-in reads and of creates run through it all; every response must be a success.
"""
from __future__ import annotations

import re
import signal
import threading
import time
import uuid

import pytest
import requests

from tests.deploy.gateway import Nginx, nginx_binary
from tests.support.procs import ROOT, Gunicorn
from tests.support.servers import require, wait_until
from tests.support.signals import VALID
from tests.support.tokens import make_token
from tradesignals import slices

pytestmark = pytest.mark.cluster


def image_drain_seconds() -> int:
    """The drain the image runs with (the Dockerfile's ``GUNICORN_DRAIN_SECONDS``): what production uses."""
    match = re.search(r"GUNICORN_DRAIN_SECONDS=(\d+)", (ROOT / "Dockerfile").read_text())
    assert match, "the Dockerfile sets GUNICORN_DRAIN_SECONDS"
    return int(match.group(1))


def test_replacing_an_instance_during_traffic_fails_no_request(mongo_uri, redis_server_url):
    require(nginx_binary() is not None, "nginx is not installed")
    drain = image_drain_seconds()
    env = {"MONGODB_URI": mongo_uri, "REDIS_URL": redis_server_url, "GUNICORN_DRAIN_SECONDS": str(drain),
           "SIGNAL_CREATE_RATE_MAX": "100000", "RATE_LIMIT_MAX": "1000000", "TRUSTED_PROXIES": "127.0.0.1/32"}
    old, steady = Gunicorn(env, workers=2, name="old"), Gunicorn(env, workers=2, name="steady")
    new = Gunicorn(env, workers=2, name="new")  # its port is known now; it starts mid-stream
    servers = [f"127.0.0.1:{instance.port}" for instance in (old, steady, new)]
    gateway = None
    token = make_token(uuid.uuid4().hex[:24], role="user", name="Rolling Trader")
    results: list[tuple[str, int | str]] = []
    stop = threading.Event()
    workers: list[threading.Thread] = []

    def stream(kind: str):
        session = requests.Session()
        headers = {"Authorization": f"Bearer {token}"} if kind != "public" else {}
        while not stop.is_set():
            try:
                if kind == "create":
                    response = session.post(f"{gateway.url}/api/v1/trade-signals", json=VALID, headers=headers,
                                            timeout=30)
                elif kind == "own":
                    response = session.get(f"{gateway.url}/api/v1/trade-signals", headers=headers, timeout=30)
                else:
                    response = session.get(f"{gateway.url}/api/v1/trade-signals/public", timeout=30)
                results.append((kind, response.status_code))
            except requests.RequestException as exc:
                results.append((kind, repr(exc)))

    try:
        old.start()
        steady.start()
        gateway = Nginx({name: servers for name in slices.ALL}).start()
        workers += [threading.Thread(target=stream, args=(kind,)) for kind in ("public", "public", "own", "create")]
        for worker in workers:
            worker.start()
        wait_until(lambda: len(results) >= 60, timeout=60, message="traffic through the gateway")
        new.start()  # surge: the new instance is ready before the old one is asked to go
        wait_until(lambda: requests.get(f"{new.url}/health", timeout=2).status_code == 200, timeout=30,
                   message="the new instance to be ready")
        # The pod leaves the Service's endpoints while its preStop hook sleeps: the ingress controller reloads
        # without it (the ALB deregisters it), and until that has happened it still serves whatever reaches it.
        remaining = [f"127.0.0.1:{instance.port}" for instance in (steady, new)]
        gateway.reconfigure({name: remaining for name in slices.ALL})
        old_address = f"127.0.0.1:{old.port}"
        wait_until(lambda: all(requests.get(f"{gateway.url}/api/v1/trade-signals/public", timeout=5)
                               .headers.get("X-Upstream") != old_address for _ in range(20)),
                   timeout=30, message="the gateway to stop sending to the leaving instance")
        old.proc.send_signal(signal.SIGTERM)  # then SIGTERM: it drains what it still holds
        wait_until(lambda: requests.get(f"{old.url}/health", timeout=2).status_code == 503, timeout=10,
                   message="the old instance to report not ready while it drains")
        draining_since = time.monotonic()
        old.proc.wait(timeout=drain + 40)
        assert time.monotonic() - draining_since >= drain - 1  # it served out its drain before it left
        after = len(results)
        wait_until(lambda: len(results) >= after + 60, timeout=60, message="traffic after the old one left")
    finally:
        stop.set()
        for worker in workers:
            worker.join(timeout=60)
        if gateway is not None:
            gateway.stop()
        for instance in (old, steady, new):
            instance.stop()
    failures = [(kind, outcome) for kind, outcome in results if outcome not in (200, 201)]
    assert failures == [], failures[:10]
    kinds = {kind for kind, _ in results}
    assert kinds == {"public", "own", "create"}
    assert sum(1 for kind, outcome in results if kind == "create" and outcome == 201) >= 5
