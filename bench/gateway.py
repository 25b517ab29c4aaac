"""The repository's own gateway (deploy/nginx/nginx.conf.template) in front of the bench's gunicorn.

Rendered by deploy/nginx/render.py exactly as the tests render it (a loopback listen and a private runtime
directory), every slice's upstream pointing at the one gunicorn under test, so a scenario through it differs
from the direct one by the gateway alone: routing, proxy headers, buffering, the access log, gzip where the
client asks for it, and the public feed's edge cache when the renderer has one (the compose rendering turns it
on; so does the bench, as production runs it).

One change to the rendered text, the bench's own: ``keepalive 16;`` in each upstream block that has no
``keepalive`` yet, so nginx may reuse connections to the upstream instead of opening one per request. Gunicorn's
sync worker closes the connection after every response whatever nginx offers, so with the bench's sync workers
it changes nothing; it matters for a threaded worker and belongs in the template (then this does nothing).
"""
from __future__ import annotations

import importlib.util
import inspect
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
UPSTREAM_KEEPALIVE = 16
_UPSTREAM_BLOCK = re.compile(r"(^[ \t]*upstream\s+\w+\s*\{)([^}]*)(\})", re.MULTILINE)


def nginx_binary() -> str | None:
    return shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)


def _renderer():
    spec = importlib.util.spec_from_file_location("ts_nginx_render", ROOT / "deploy" / "nginx" / "render.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def with_upstream_keepalive(text: str, connections: int = UPSTREAM_KEEPALIVE) -> tuple[str, int]:
    """``text`` with ``keepalive <connections>;`` closing every upstream block that lacks one; and how many
    blocks were changed (0 once the template carries its own)."""
    changed = 0

    def add(match: re.Match) -> str:
        nonlocal changed
        head, body, close = match.groups()
        if re.search(r"^\s*keepalive\s", body, re.MULTILINE):
            return match.group(0)
        changed += 1
        return f"{head}{body.rstrip()}\n        keepalive {connections};\n    {close}"

    return _UPSTREAM_BLOCK.sub(add, text), changed


class Gateway:
    """nginx in the foreground on a free loopback port, in front of ``upstream`` (``host:port``)."""

    def __init__(self, upstream: str):
        binary = nginx_binary()
        if binary is None:
            raise SystemExit("nginx is not installed (apt-get install nginx-light): the gateway rows need it")
        self.binary = binary
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        # World-traversable: when we are root, nginx's workers run unprivileged and write temp files here.
        self.dir = Path(tempfile.mkdtemp(prefix="ts-bench-nginx-"))
        self.dir.chmod(0o755)
        renderer = _renderer()
        options = {"edge_cache": True} if "edge_cache" in inspect.signature(renderer.render).parameters else {}
        text = renderer.render(upstreams={name: [upstream] for name in renderer.SLICES},
                               listen=f"127.0.0.1:{self.port}", runtime_dir=self.dir, **options)
        # What the rendered text does, not what was asked: a template without the cache has no proxy_cache.
        self.edge_cache = bool(re.search(r"^\s*proxy_cache\s+(?!off\b)\w+\s*;", text, re.MULTILINE))
        text, self.keepalive_blocks = with_upstream_keepalive(text)
        self.conf = self.dir / "nginx.conf"
        self.conf.write_text(text)
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _command(self, *extra: str) -> list[str]:
        return [self.binary, "-c", str(self.conf), "-p", str(self.dir), "-e", str(self.dir / "error.log"), *extra]

    def error_log(self) -> str:
        path = self.dir / "error.log"
        return path.read_text(errors="replace")[-4000:] if path.exists() else ""

    def start(self) -> Gateway:
        check = subprocess.run(self._command("-t"), capture_output=True, text=True, timeout=30)
        if check.returncode != 0:
            raise SystemExit(f"the rendered gateway config is invalid:\n{check.stderr}")
        self.proc = subprocess.Popen(self._command(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(f"nginx exited: {self.error_log()}")
            try:
                if requests.get(f"{self.url}/nginx-healthz", timeout=1).status_code == 200:
                    return self
            except requests.RequestException:
                pass
            time.sleep(0.1)
        self.stop()
        raise SystemExit(f"nginx did not answer within 15s: {self.error_log()}")

    def pids(self) -> list[int]:
        """The master and its workers (the CPU the gateway spends)."""
        if self.proc is None:
            return []
        out = subprocess.run(["pgrep", "-P", str(self.proc.pid)], capture_output=True, text=True).stdout
        return [self.proc.pid, *(int(pid) for pid in out.split())]

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGQUIT)  # graceful: finish open requests, then exit
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)
