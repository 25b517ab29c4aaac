"""Real gunicorn processes on free loopback ports, for multi-process tests. Every start has a stop.

Logs and gunicorn's own temp files (its metrics directory) go to the temp dir, which under pytest is the
session's directory (tests/conftest.py) that is removed when the run ends.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import requests

from tests.support.servers import free_port, wait_until

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


class Gunicorn:
    def __init__(self, env: dict[str, str], *, workers: int = 1, threads: int = 1, name: str = "web"):
        self.port = free_port()
        self.name = name
        self.env = {**os.environ, "DJANGO_SETTINGS_MODULE": "settings.test", **env,
                    "WEB_CONCURRENCY": str(workers), "GUNICORN_THREADS": str(threads)}
        self.proc: subprocess.Popen | None = None
        self.log_path = Path(tempfile.gettempdir()) / f"ts-gunicorn-{name}-{self.port}.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 30.0) -> Gunicorn:
        self._log = open(self.log_path, "wb")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [str(BIN / "gunicorn"), "-c", str(ROOT / "deploy" / "gunicorn.conf.py"),
             "--bind", f"127.0.0.1:{self.port}", "tradesignals.wsgi:application"],
            cwd=ROOT, env=self.env, stdout=self._log, stderr=subprocess.STDOUT,
        )

        def ready():
            if self.proc.poll() is not None:
                raise RuntimeError(f"gunicorn {self.name} exited: {self.log()}")
            return requests.get(f"{self.url}/healthz", timeout=1).status_code == 200

        try:
            wait_until(ready, timeout=timeout, message=f"gunicorn {self.name} to serve /healthz")
        except BaseException:
            self.stop()
            raise
        return self

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-4000:]
        except OSError:
            return ""

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30.0) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if getattr(self, "_log", None):
            self._log.close()
            self._log = None

    def __enter__(self) -> Gunicorn:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


class Consumers:
    """``manage.py run_consumers --app <app>`` as its own process; stopped with SIGTERM like in production."""

    def __init__(self, env: dict, app: str, log_path: Path):
        self.env = {**os.environ, "DJANGO_SETTINGS_MODULE": "settings.test", **env}
        self.app, self.log_path = app, log_path
        self.proc: subprocess.Popen | None = None

    def start(self) -> Consumers:
        self._log = open(self.log_path, "wb")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen([sys.executable, "manage.py", "run_consumers", "--app", self.app], cwd=ROOT,
                                     env=self.env, stdout=self._log, stderr=subprocess.STDOUT)
        return self

    def alive(self) -> bool:
        assert self.proc.poll() is None, f"{self.app} consumers exited: {self.log_path.read_text(errors='replace')}"
        return True

    def stop(self) -> int | None:
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()
        return self.proc.returncode

    def __enter__(self) -> Consumers:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
