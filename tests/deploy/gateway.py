"""A real nginx in the foreground on a free loopback port, configured by deploy/nginx/render.py."""
from __future__ import annotations

import importlib.util
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path

from tests.support.nginx import NginxProcess, nginx_binary  # noqa: F401 (tests import nginx_binary here)
from tests.support.servers import free_port

ROOT = Path(__file__).resolve().parents[2]


def load_renderer():
    spec = importlib.util.spec_from_file_location("ts_nginx_render", ROOT / "deploy" / "nginx" / "render.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class Nginx(NginxProcess):
    def __init__(self, upstreams: dict[str, list[str]]):
        self.port = free_port()
        # Its own directory, world-traversable: nginx workers run as an unprivileged user when we are root
        # and write temp files here (pytest's tmp_path lives under a 0700 directory).
        self.dir = Path(tempfile.mkdtemp(prefix="ts-nginx-"))
        self.dir.chmod(0o755)
        self.conf = self.dir / "nginx.conf"
        self._write(upstreams)

    def _write(self, upstreams: dict[str, list[str]]) -> None:
        self.conf.write_text(load_renderer().render(
            upstreams=upstreams, listen=f"127.0.0.1:{self.port}", runtime_dir=self.dir, debug_headers=True,
        ))

    def reconfigure(self, upstreams: dict[str, list[str]]) -> None:
        """New upstream servers, by a graceful reload (SIGHUP): what an ingress controller does when a pod leaves
        its endpoints. The old workers finish what they hold; new connections get the new configuration."""
        self._write(upstreams)
        self.proc.send_signal(signal.SIGHUP)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def command(self, *extra: str) -> list[str]:
        return [nginx_binary(), "-c", str(self.conf), "-p", str(self.dir), "-e", str(self.dir / "error.log"),
                *extra]

    def test_config(self) -> subprocess.CompletedProcess:
        return subprocess.run(self.command("-t"), capture_output=True, text=True, timeout=30)

    def start(self) -> Nginx:
        self.launch(self.command(), f"{self.url}/nginx-healthz", message="nginx to answer")
        return self

    def access_log(self) -> str:
        path = self.dir / "access.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def stop(self) -> None:
        self.stop_process()
        shutil.rmtree(self.dir, ignore_errors=True)
