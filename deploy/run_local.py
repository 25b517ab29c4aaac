"""`make run`: serve every slice on HOST:PORT; start the embedded MongoDB-compatible server if needed.

When ``MONGODB_URI`` is unset, a SecantusDB daemon keeps its data under ``./var/mongo`` (surviving
restarts) and listens on 127.0.0.1:``EMBEDDED_MONGODB_PORT`` (27018) — the address ``settings.dev`` defaults
to, so ``manage.py`` commands (e.g. ``createadmin``) reach the same data while it runs. Ctrl-C (or SIGTERM)
stops everything this script started.
"""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def port_is_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def wait_for_port(port: int, proc: subprocess.Popen, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"process exited early with code {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
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


def main() -> int:
    env = dict(os.environ)
    env.setdefault("DJANGO_SETTINGS_MODULE", "settings.dev")
    children: list[subprocess.Popen] = []
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
            cwd=ROOT, start_new_session=True,
        )
        children.append(mongo)
        try:
            wait_for_port(port, mongo)
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
        cwd=ROOT, env=env, start_new_session=True,
    )
    children.append(web)
    print(f"tradesignals on http://{bind}/ (API docs: http://{bind}/api/docs/)", flush=True)

    def stop(*_args):
        # Children run in their own sessions, so Ctrl-C reaches only this script, which stops them in
        # order: gunicorn first (SIGTERM: graceful), then the database it writes to. Whatever is left of a
        # child's process group afterwards (a worker that outlived its master) is killed.
        for child in reversed(children):
            if child.poll() is None:
                child.terminate()
            try:
                child.wait(timeout=20)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
            try:
                os.killpg(child.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    signal.signal(signal.SIGTERM, lambda *a: (stop(), sys.exit(0)))
    try:
        return web.wait()
    except KeyboardInterrupt:
        return 0
    finally:
        stop()


if __name__ == "__main__":
    sys.exit(main())
