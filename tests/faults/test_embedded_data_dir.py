"""The embedded run (``make run`` → deploy/run_local.py) with a data directory it cannot write: a clear one-line
error and a non-zero exit, never a traceback from inside the database server, and nothing left running.

Running as root, chmod does not stop writes, so the unwritable directory is real: a read-only tmpfs mount and
a full tmpfs (``mount -t tmpfs``), and — without any privilege — a regular file where the directory should be.
"""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from tests.support.procs import ROOT
from tests.support.servers import require

MESSAGE = "the embedded database cannot write its data directory"


def run_local(data_dir: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "EMBEDDED_DATA_DIR": str(data_dir), "EMBEDDED_MONGODB_PORT": "1", "PORT": "1"}
    env.pop("MONGODB_URI", None)
    return subprocess.run([sys.executable, str(ROOT / "deploy" / "run_local.py")], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)


def assert_clear_failure(result: subprocess.CompletedProcess, data_dir: Path, reason: str) -> None:
    assert result.returncode != 0
    assert MESSAGE in result.stderr and str(data_dir) in result.stderr and reason in result.stderr, result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_a_file_where_the_data_directory_should_be(tmp_path):
    blocker = tmp_path / "mongo"
    blocker.write_text("not a directory")
    assert_clear_failure(run_local(blocker), blocker, "File exists")
    assert_clear_failure(run_local(blocker / "data"), blocker / "data", "Not a directory")


@pytest.fixture
def tmpfs():
    mounts = []

    def mount(options: str) -> Path:
        point = Path(tempfile.mkdtemp(prefix="ts-tmpfs-"))
        result = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(point)], capture_output=True,
                                text=True)
        require(result.returncode == 0, f"cannot mount a tmpfs here (needs root/CAP_SYS_ADMIN): {result.stderr}")
        mounts.append(point)
        return point

    yield mount
    for point in mounts:
        subprocess.run(["umount", str(point)], check=False)
        point.rmdir()


def test_a_read_only_data_directory(tmpfs):
    read_only = tmpfs("ro,size=1m")
    assert_clear_failure(run_local(read_only), read_only, "Read-only file system")
    assert_clear_failure(run_local(read_only / "mongo"), read_only / "mongo", "Read-only file system")


def test_a_full_disk(tmpfs):
    full = tmpfs("size=64k")
    with open(full / "filler", "wb") as handle:
        try:
            handle.write(b"0" * 1024 * 1024)
        except OSError:
            pass
    assert_clear_failure(run_local(full / "mongo"), full / "mongo", "No space left on device")
