"""Real servers for tests: the MongoDB-compatible server, Redis, and required-server policy.

Under ``CI=true`` a missing server fails the test; locally it skips with the reason.
"""
from __future__ import annotations

import os
import socket
import time
from pathlib import Path

import pytest

CI = os.environ.get("CI", "").lower() == "true"
TEST_DB = "ts_test"


def require(condition: bool, reason: str) -> None:
    if condition:
        return
    if CI:
        pytest.fail(f"required server missing under CI: {reason}")
    pytest.skip(reason)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(predicate, *, timeout: float = 10.0, interval: float = 0.05, message: str = "condition"):
    """Poll ``predicate`` until it returns a truthy value; fail with ``message`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    last_error = None
    while time.monotonic() < deadline:
        try:
            result = predicate()
            if result:
                return result
        except Exception as exc:  # keep polling; report the last error on timeout
            last_error = exc
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {message} (last error: {last_error!r})")


class MongoServer:
    """A SecantusDB server in this process, restartable on the same port and data directory."""

    def __init__(self, storage_path: Path):
        from secantus import SecantusDBServer

        self._cls = SecantusDBServer
        self.storage_path = storage_path
        self.port = free_port()
        self._server = None

    @property
    def uri(self) -> str:
        return f"mongodb://127.0.0.1:{self.port}/{TEST_DB}"

    def start(self) -> MongoServer:
        self._server = self._cls(host="127.0.0.1", port=self.port, storage_path=str(self.storage_path),
                                 ttl_sweep_seconds=1.0)
        self._server.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None


def redis_url() -> str:
    """The Redis database of this test process: ``REDIS_URL`` (default db 15), as settings.test set it — under
    pytest-xdist each worker's own (see settings/test.py)."""
    return os.environ.get("TS_TEST_WORKER_REDIS_URL") or os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/15")


def redis_available(url: str) -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=0.5).ping())
    except redis.RedisError:
        return False


class PrivateRedis:
    """A private redis-server on a free port, for outage tests (never stop the machine's shared Redis)."""

    def __init__(self, workdir: Path):
        self.port = free_port()
        self.workdir = workdir
        self.proc = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> PrivateRedis:
        import shutil
        import subprocess

        binary = shutil.which("redis-server")
        require(binary is not None, "redis-server binary not installed")
        self.proc = subprocess.Popen(
            [binary, "--bind", "127.0.0.1", "--port", str(self.port), "--save", "", "--appendonly", "no",
             "--dir", str(self.workdir)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        wait_until(lambda: redis_available(self.url), timeout=10, message="private redis to answer")
        return self

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)
