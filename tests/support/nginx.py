"""A foreground nginx process for tests: where the binary is, starting it until it answers, reading its error log,
and stopping it gracefully. The gateway (tests/deploy/gateway.py) and the TLS proxy (tests/browsable/tls.py) differ
only in the configuration they write."""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
from pathlib import Path

import requests

from tests.support.servers import wait_until


def nginx_binary() -> str | None:
    """``NGINX_PATH``, else nginx on PATH, else Debian's /usr/sbin (not on an ordinary user's PATH)."""
    configured = os.environ.get("NGINX_PATH")
    if configured:
        return configured if Path(configured).exists() else None
    return shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)


class NginxProcess:
    """Subclasses set ``dir`` (config, logs, runtime files) and call ``launch``."""

    dir: Path
    proc: subprocess.Popen | None = None

    def launch(self, command: list[str], health_url: str, *, message: str, **request_options) -> None:
        self.proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

        def ready():
            if self.proc.poll() is not None:
                raise RuntimeError(f"nginx exited: {self.error_log()}")
            return requests.get(health_url, timeout=1, **request_options).status_code == 200

        try:
            wait_until(ready, timeout=15, message=message)
        except BaseException:
            self.stop_process()
            raise

    def error_log(self) -> str:
        path = self.dir / "error.log"
        return path.read_text(errors="replace")[-4000:] if path.exists() else ""

    def stop_process(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGQUIT)  # graceful: finish open requests, then exit
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
