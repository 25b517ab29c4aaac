"""SIGTERM on a real gunicorn: readiness turns 503 while it drains, then new connections are refused, and
the request that was in flight all along still finishes with 200."""
import os
import signal
import socket
import subprocess
import sys
import threading

import pytest
import requests
from django.core.cache import caches

from tests.deploy.slow_urls import SLOW_STARTED_KEY
from tests.support.procs import Gunicorn
from tests.support.servers import wait_until

HEALTHCHECK = os.path.join(os.path.dirname(__file__), "..", "..", "deploy", "healthcheck.py")


def _container_healthcheck(port: int, path: str) -> int:
    """The image's HEALTHCHECK command, pointed at this instance."""
    env = {"PATH": os.environ["PATH"], "PORT": str(port)}
    return subprocess.run([sys.executable, HEALTHCHECK, path], env=env, capture_output=True, timeout=30).returncode

pytestmark = pytest.mark.cluster


def _refused(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return False
    except ConnectionRefusedError:
        return True


def test_sigterm_drains_then_refuses_while_the_slow_request_finishes(mongo_uri):
    web = Gunicorn({"DJANGO_SETTINGS_MODULE": "tests.deploy.slow_settings", "MONGODB_URI": mongo_uri,
                    "GUNICORN_DRAIN_SECONDS": "3"}, workers=2, name="drain").start()
    try:
        assert requests.get(f"{web.url}/health", timeout=5).status_code == 200
        assert _container_healthcheck(web.port, "/healthz") == 0
        outcome = {}

        def slow_request():
            try:
                outcome["response"] = requests.get(f"{web.url}/test/slow?seconds=8", timeout=30)
            except requests.RequestException as exc:
                outcome["error"] = exc

        client = threading.Thread(target=slow_request)
        client.start()
        wait_until(lambda: caches["default"].get(SLOW_STARTED_KEY), timeout=10, message="slow request in flight")

        web.proc.send_signal(signal.SIGTERM)

        # Draining: the idle worker still answers, and readiness says 503 so a balancer stops sending. (A drain
        # window of 3 s: with 1.5 s a slow machine's first health answer could come after the listener closed.)
        def health_503():
            response = requests.get(f"{web.url}/health", timeout=2)
            return response.json() if response.status_code == 503 else None

        draining = wait_until(health_503, timeout=5, message="/health to answer 503 while draining")
        assert draining["status"] == "draining"
        assert requests.get(f"{web.url}/healthz", timeout=2).status_code == 200  # alive, just not ready
        assert _container_healthcheck(web.port, "/health") == 1

        # After the drain window the listener closes: new connections are refused (nginx retries those on
        # another server for any method), although the slow request is still being served.
        wait_until(lambda: _refused(web.port), timeout=6, message="connections to be refused after draining")
        assert client.is_alive(), "the slow request should still be in flight when the listener closes"

        client.join(timeout=30)
        assert "error" not in outcome, outcome.get("error")
        assert outcome["response"].status_code == 200
        assert outcome["response"].json() == {"status": "finished"}
        assert web.proc.wait(timeout=20) == 0
        assert _container_healthcheck(web.port, "/healthz") == 1
    finally:
        web.stop()
