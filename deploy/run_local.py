"""`make run`: serve every slice on HOST:PORT; start the embedded MongoDB-compatible server if needed.

When ``MONGODB_URI`` is unset, a SecantusDB daemon keeps its data under ``./var/mongo`` (surviving
restarts) and listens on 127.0.0.1:``EMBEDDED_MONGODB_PORT`` (27018) — the address ``settings.dev`` defaults
to, so ``manage.py`` commands (e.g. ``createadmin``) reach the same data while it runs.

The children run in their own sessions (so Ctrl-C reaches only this script, which stops them in order), and
therefore nothing but this script stops them: SIGINT (Ctrl-C), SIGTERM (``kill``, a service manager, make
forwarding it) and SIGHUP (the terminal closed) all mean "stop everything", and on Linux the children are
also told to stop by the kernel when this script dies without cleaning up (SIGKILL, a crash).
"""
from __future__ import annotations

import ctypes
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def port_is_free(port: int) -> bool:
    """Whether the database could listen on ``port``. Bound the way it binds (``SO_REUSEADDR``), so the
    TIME_WAIT connections a just-stopped server leaves behind do not count as "taken"; a listener does."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


class StopRequest:
    """Records the first of SIGINT, SIGTERM or SIGHUP; the main loop polls it.

    The handler does nothing else on purpose: it runs in the middle of whatever the main thread was doing
    (inside a ``Popen.wait`` holding that child's lock, for one — stopping children from the handler
    deadlocked there), and a second signal during the cleanup must not interrupt the cleanup."""

    def __init__(self):
        self.signum: int | None = None
        for signum in STOP_SIGNALS:
            signal.signal(signum, self._record)

    def _record(self, signum, _frame) -> None:
        if self.signum is None:
            self.signum = signum

    def __bool__(self) -> bool:
        return self.signum is not None


def die_with_parent():
    """A ``preexec_fn`` that makes the kernel SIGTERM the child when this script exits without stopping it
    (SIGKILL, a crash); ``None`` where ``prctl`` does not exist. The request is made in the child between
    fork and exec and survives the exec; a parent that died before it took effect is caught by ``getppid``.
    (The signal follows the thread that started the child: this script starts children from its only one.)"""
    if not sys.platform.startswith("linux"):
        return None
    prctl = ctypes.CDLL(None, use_errno=True).prctl  # resolved before the fork
    parent = os.getpid()

    def preexec() -> None:
        prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
        if os.getppid() != parent:
            os._exit(1)

    return preexec


def wait_for_port(port: int, proc: subprocess.Popen, stopping: StopRequest, timeout: float = 30.0) -> bool:
    """True once something listens on ``port``; False if a stop was requested first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if stopping:
            return False
        if proc.poll() is not None:
            raise SystemExit(f"process exited early with code {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"nothing listened on port {port} within {timeout}s")


def prepare_data_dir(data_dir: Path) -> None:
    """Create the embedded server's data directory and prove it is writable, or stop with a clear message
    (a read-only mount, a file in the way, a full disk) instead of a traceback from deep inside the server."""
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
        probe = data_dir / ".write-probe"
        with open(probe, "wb") as handle:
            handle.write(b"0" * 4096)
            handle.flush()
            os.fsync(handle.fileno())
        probe.unlink()
    except OSError as exc:
        reason = exc.strerror or exc.__class__.__name__
        raise SystemExit(
            f"error: the embedded database cannot write its data directory {data_dir}: {reason}. "
            "Free disk space, make the directory writable, point EMBEDDED_DATA_DIR at a writable directory, "
            "or set MONGODB_URI to use an external MongoDB."
        ) from None


def stop(children: list[subprocess.Popen]) -> None:
    """Stop the children, last started first: gunicorn (SIGTERM: graceful), then the database it writes to;
    whatever is left of a child's process group afterwards (a worker that outlived its master) is killed.
    Idempotent: a stopped child is taken off the list."""
    while children:
        child = children[-1]
        if child.poll() is None:
            child.terminate()
        try:
            child.wait(timeout=20)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
        try:
            os.killpg(child.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        children.pop()


def serve(children: list[subprocess.Popen], stopping: StopRequest) -> int:
    """Start what is needed (each child is on ``children`` as soon as it exists) and wait until gunicorn
    exits or a stop is requested; 0 for a requested stop, else gunicorn's exit code."""
    env = dict(os.environ)
    env.setdefault("DJANGO_SETTINGS_MODULE", "settings.dev")
    if not env.get("MONGODB_URI"):
        data_dir = Path(env.get("EMBEDDED_DATA_DIR") or ROOT / "var" / "mongo")
        prepare_data_dir(data_dir)
        port = int(env.get("EMBEDDED_MONGODB_PORT", "27018"))
        if not port_is_free(port):
            raise SystemExit(f"port {port} is taken: stop what listens there, or set EMBEDDED_MONGODB_PORT "
                             "(and MONGODB_URI for manage.py commands) to another port")
        mongo = subprocess.Popen(
            [str(BIN / "secantusd-py"), "--host", "127.0.0.1", "--port", str(port),
             "--storage-path", str(data_dir), "--log-level", "WARNING"],
            cwd=ROOT, start_new_session=True, preexec_fn=die_with_parent(),
        )
        children.append(mongo)
        try:
            if not wait_for_port(port, mongo, stopping):
                return 0
        except SystemExit as exc:
            raise SystemExit(f"error: the embedded database server did not start ({exc.code}); check that "
                             f"{data_dir} is writable and the disk has free space (its output is above).") from None
        env["MONGODB_URI"] = f"mongodb://127.0.0.1:{port}/tradesignals"
        print(f"embedded MongoDB-compatible server on 127.0.0.1:{port}, data in {data_dir}", flush=True)

    bind = f"{env.get('HOST', '127.0.0.1')}:{env.get('PORT', '8000')}"
    env.setdefault("WEB_CONCURRENCY", "1")  # local-memory revocation/cache need one process
    env.setdefault("GUNICORN_THREADS", "4")
    web = subprocess.Popen(
        [str(BIN / "gunicorn"), "-c", str(ROOT / "deploy" / "gunicorn.conf.py"), "--bind", bind,
         "tradesignals.wsgi:application"],
        cwd=ROOT, env=env, start_new_session=True, preexec_fn=die_with_parent(),
    )
    children.append(web)
    print(f"tradesignals on http://{bind}/ (API docs: http://{bind}/api/docs/)", flush=True)
    while web.poll() is None:
        if stopping:
            return 0
        time.sleep(0.1)
    return web.returncode


def main() -> int:
    stopping = StopRequest()
    children: list[subprocess.Popen] = []
    try:
        return serve(children, stopping)
    finally:
        stop(children)


if __name__ == "__main__":
    sys.exit(main())
