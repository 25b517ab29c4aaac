"""`make run`'s runner: the embedded database keeps what was written across a restart; stop stops all."""
import os
import signal
import subprocess
import sys

import pytest
import requests

from tests.support.procs import ROOT
from tests.support.servers import free_port, wait_until

PASSWORD = "embedded restart passphrase 3"


def start(data_dir, port: int, mongo_port: int) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if k not in {"MONGODB_URI", "DJANGO_SETTINGS_MODULE", "REDIS_ENABLED"}}
    env.update({"PORT": str(port), "EMBEDDED_MONGODB_PORT": str(mongo_port), "EMBEDDED_DATA_DIR": str(data_dir),
                "LOG_LEVEL": "WARNING"})
    proc = subprocess.Popen([sys.executable, "deploy/run_local.py"], cwd=ROOT, env=env,
                            stdout=open(data_dir.parent / "run.log", "ab"), stderr=subprocess.STDOUT,  # noqa: SIM115
                            start_new_session=True)

    def up():
        assert proc.poll() is None, "the runner exited"
        return requests.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200

    wait_until(up, timeout=60, message="make run to serve /health")
    return proc


def stop(proc: subprocess.Popen) -> None:
    os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C sends to the foreground group
    assert proc.wait(timeout=30) == 0


@pytest.mark.cluster
def test_data_survives_a_restart_and_ctrl_c_stops_everything(tmp_path):
    port, mongo_port = free_port(), free_port()
    base = f"http://127.0.0.1:{port}/api/v1"
    proc = start(tmp_path / "mongo", port, mongo_port)
    try:
        health = requests.get(f"http://127.0.0.1:{port}/health", timeout=5).json()
        assert health["status"] == "ok" and "cache:local" in health["checks"]  # no Redis needed
        registered = requests.post(f"{base}/auth/register", json={"email": "keep@example.com", "password": PASSWORD},
                                   timeout=30)
        assert registered.status_code == 201
    finally:
        stop(proc)
    # everything it started is gone: the embedded database's port is free again
    wait_until(lambda: subprocess.run(["ss", "-ltn", f"sport = :{mongo_port}"], capture_output=True,
                                      text=True).stdout.count("LISTEN") == 0, timeout=10, message="mongo to stop")

    proc = start(tmp_path / "mongo", port, mongo_port)
    try:
        login = requests.post(f"{base}/auth/login", json={"email": "keep@example.com", "password": PASSWORD},
                              timeout=30)
        assert login.status_code == 200
        assert login.json()["user"]["id"] == registered.json()["user"]["id"]
    finally:
        stop(proc)
