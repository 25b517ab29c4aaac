"""`make run`'s runner: the embedded database keeps what was written across a restart; any stop stops all.

The runner starts the database daemon and gunicorn in their own sessions, so a signal to the runner's
process group does not reach them: the runner itself must stop them, whether it is asked to by Ctrl-C
(SIGINT), by ``kill`` or a service manager (SIGTERM), by a closed terminal (SIGHUP), or dies hard (SIGKILL).
What counts is what a developer sees next: both ports free again and a second ``make run`` that works.
"""
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from tests.support.procs import ROOT
from tests.support.servers import free_port, wait_until

PASSWORD = "embedded restart passphrase 3"
STOPPED_WITHIN = 10.0


def _state(pid: int) -> str | None:
    """The process's state letter from /proc, or ``None`` when it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()[0]


def alive(pid: int) -> bool:
    return _state(pid) not in (None, "Z", "X")


def descendants(root: int) -> list[int]:
    """Every live process below ``root`` (children in other sessions included)."""
    parents = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parents[int(entry.name)] = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
    found, frontier = [], [root]
    while frontier:
        parent = frontier.pop()
        children = [pid for pid, ppid in parents.items() if ppid == parent]
        found += children
        frontier += children
    return [pid for pid in found if alive(pid)]


def listening(port: int) -> bool:
    out = subprocess.run(["ss", "-ltnH", f"sport = :{port}"], capture_output=True, text=True, check=True).stdout
    return "LISTEN" in out


class Run:
    """One ``make run`` (or ``python deploy/run_local.py``, as make runs it) in its own process group.

    ``stop_all`` kills whatever this test started and is still alive — the runner's group and every
    process below it, recorded once it served — so a failing test leaves nothing behind."""

    def __init__(self, tmp_path: Path, *, port: int, mongo_port: int, via_make: bool):
        self.tmp_path, self.port, self.mongo_port, self.via_make = tmp_path, port, mongo_port, via_make
        self.proc: subprocess.Popen | None = None
        self.started: list[int] = []

    def start(self) -> "Run":
        env = {k: v for k, v in os.environ.items()
               if k not in {"MONGODB_URI", "DJANGO_SETTINGS_MODULE", "REDIS_ENABLED", "MAKEFLAGS", "MFLAGS"}}
        env.update({"PORT": str(self.port), "EMBEDDED_MONGODB_PORT": str(self.mongo_port),
                    "EMBEDDED_DATA_DIR": str(self.tmp_path / "mongo"), "LOG_LEVEL": "WARNING"})
        if self.via_make:
            # -o: the virtualenv is already installed; never let a test re-run pip
            command = [shutil.which("make"), "--no-print-directory", "-o", ".venv/.installed", "run"]
        else:
            command = [sys.executable, "deploy/run_local.py"]
        self.proc = subprocess.Popen(command, cwd=ROOT, env=env, start_new_session=True,
                                     stdout=open(self.tmp_path / "run.log", "ab"),  # noqa: SIM115
                                     stderr=subprocess.STDOUT)

        def up():
            assert self.proc.poll() is None, f"the runner exited: {self.log()}"
            return requests.get(f"http://127.0.0.1:{self.port}/healthz", timeout=2).status_code == 200

        try:
            wait_until(up, timeout=60, message="make run to serve /healthz")
        finally:
            self.started = descendants(self.proc.pid)
        return self

    def log(self) -> str:
        return (self.tmp_path / "run.log").read_text(errors="replace")[-3000:]

    def signal_group(self, sig: int) -> None:
        os.killpg(self.proc.pid, sig)

    def wait_stopped(self) -> None:
        """Both ports free, the runner gone and nothing it started still running, within 10 s."""
        wait_until(lambda: not listening(self.mongo_port) and not listening(self.port), timeout=STOPPED_WITHIN,
                   message=f"ports {self.mongo_port} and {self.port} to be free")
        wait_until(lambda: self.proc.poll() is not None, timeout=STOPPED_WITHIN, message="the runner to exit")
        wait_until(lambda: not any(alive(pid) for pid in self.started), timeout=STOPPED_WITHIN,
                   message="every process the runner started to exit")

    def stop_all(self) -> None:
        if self.proc is None:
            return
        for pid in [self.proc.pid, *self.started]:
            if alive(pid):
                try:
                    os.killpg(os.getpgid(pid), signal.SIGKILL)
                except ProcessLookupError:
                    pass
        self.proc.wait(timeout=10)


@pytest.fixture
def runs(tmp_path):
    """Start runners on one pair of free ports; every one is stopped, whatever happens."""
    port, mongo_port = free_port(), free_port()
    started: list[Run] = []

    def start(*, via_make: bool = False) -> Run:
        run = Run(tmp_path, port=port, mongo_port=mongo_port, via_make=via_make)
        started.append(run)
        return run.start()

    yield start
    for run in started:
        run.stop_all()


@pytest.mark.cluster
def test_data_survives_a_restart_and_ctrl_c_stops_everything(runs):
    run = runs()
    base = f"http://127.0.0.1:{run.port}/api/v1"
    health = requests.get(f"http://127.0.0.1:{run.port}/health", timeout=5).json()
    assert health["status"] == "ok" and "cache:local" in health["checks"]  # no Redis needed
    registered = requests.post(f"{base}/auth/register", json={"email": "keep@example.com", "password": PASSWORD},
                               timeout=30)
    assert registered.status_code == 201
    run.signal_group(signal.SIGINT)  # what Ctrl-C sends to the foreground group
    run.wait_stopped()
    assert run.proc.returncode == 0

    again = runs()
    login = requests.post(f"{base}/auth/login", json={"email": "keep@example.com", "password": PASSWORD},
                          timeout=30)
    assert login.status_code == 200
    assert login.json()["user"]["id"] == registered.json()["user"]["id"]
    again.signal_group(signal.SIGINT)
    again.wait_stopped()


@pytest.mark.cluster
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP], ids=["SIGTERM", "SIGHUP"])
def test_make_run_stops_everything_on_sigterm_and_sighup(runs, sig):
    """``kill -TERM -<pgid>`` of ``make run`` (make forwards SIGTERM, so the runner gets it twice) and a
    closed terminal (SIGHUP) leave nothing listening, and the next ``make run`` starts."""
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    first = runs(via_make=True)
    first.signal_group(sig)
    first.wait_stopped()

    second = runs(via_make=True)
    assert requests.get(f"http://127.0.0.1:{second.port}/healthz", timeout=5).status_code == 200
    second.signal_group(sig)
    second.wait_stopped()


@pytest.mark.cluster
def test_children_die_with_a_hard_killed_runner(runs):
    """SIGKILL cannot be handled: the children must notice their parent is gone by themselves."""
    run = runs()
    os.kill(run.proc.pid, signal.SIGKILL)
    run.wait_stopped()
    assert run.proc.returncode == -signal.SIGKILL
    again = runs()
    again.signal_group(signal.SIGTERM)
    again.wait_stopped()


@pytest.mark.cluster
def test_more_signals_during_the_shutdown_do_not_cut_it_short(runs):
    """An impatient second Ctrl-C, a SIGTERM and a SIGHUP right after the first: still a complete stop."""
    run = runs()
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        run.signal_group(sig)
    run.wait_stopped()
    assert run.proc.returncode == 0
