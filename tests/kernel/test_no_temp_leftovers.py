"""A test run leaves nothing in the system temp dir, and a gunicorn removes the metrics directory it made.

The suite's servers write logs, metrics directories, nginx runtime files, browser profiles and tmpfs mount
points to "the temp dir"; tests/conftest.py points it at one directory per run and removes that at the end.
Here a real run of a few such tests (gunicorn with two workers, nginx in front of two gunicorns, a tmpfs, the
browser) gets a fresh empty directory as its system temp dir, and must leave it empty.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from tests.support.procs import BIN, ROOT, Gunicorn
from tests.support.servers import wait_until

# Each starts what writes to the temp dir: gunicorn (log, metrics directory), nginx, a tmpfs mount, Chromium.
NODES = (
    "tests/kernel/test_metrics.py::test_counts_add_up_across_two_workers",
    "tests/deploy/test_nginx_routing.py::test_health_and_schema_answer_through_the_gateway",
    "tests/faults/test_embedded_data_dir.py::test_a_read_only_data_directory",
    "tests/kernel/test_csp_browser.py::test_swagger_ui_renders_the_operations_under_the_policy",
)


def leftovers(directory) -> list[str]:
    return sorted(str(path.relative_to(directory)) for path in directory.rglob("*"))


@pytest.fixture
def system_temp():
    """A fresh, empty stand-in for the system temp dir. Not under ``tmp_path``: pytest's directories are private
    to us (0700) and nginx's unprivileged workers must reach their runtime directory below this one."""
    directory = Path(tempfile.mkdtemp(prefix="system-temp-"))
    directory.chmod(0o755)
    yield directory
    shutil.rmtree(directory, ignore_errors=True)


@pytest.mark.cluster
def test_a_test_run_leaves_the_system_temp_dir_as_it_found_it(system_temp, tmp_path):
    env = {**os.environ, "TMPDIR": str(system_temp)}
    env.pop("PYTEST_DEBUG_TEMPROOT", None)  # the run decides from TMPDIR alone, as a fresh one would
    log_path = tmp_path / "run.log"
    with log_path.open("wb") as log:
        run = subprocess.Popen([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                                "--basetemp", str(tmp_path / "basetemp"), *NODES],
                               cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            # While it runs, the servers' files are there (so the check below is not vacuous) ...
            wait_until(lambda: list(system_temp.rglob("ts-gunicorn-*.log")) or run.poll() is not None,
                       timeout=180, message="the run's gunicorn log in its temp dir")
            seen = leftovers(system_temp)
            run.wait(timeout=600)
        finally:
            if run.poll() is None:
                run.kill()
                run.wait()
    output = log_path.read_text(errors="replace")
    assert run.returncode == 0, output[-4000:]
    assert any("ts-gunicorn-" in name for name in seen), (seen, output[-4000:])
    # ... and after it, nothing is.
    assert leftovers(system_temp) == []


def _metrics_dirs(directory) -> list[str]:
    return sorted(path.name for path in directory.iterdir() if path.name.startswith("ts-metrics-"))


@pytest.mark.cluster
def test_gunicorn_removes_the_metrics_directory_it_made_when_it_stops(mongo_uri, redis_server_url, tmp_path):
    """``make run`` leaves PROMETHEUS_MULTIPROC_DIR unset: the config makes a directory and its master removes it
    on the way out (the workers, forks of the master, leave it alone while it still serves)."""
    temp = tmp_path / "temp"
    temp.mkdir()
    env = {"MONGODB_URI": mongo_uri, "REDIS_URL": redis_server_url, "TMPDIR": str(temp)}
    web = Gunicorn({**env, "PROMETHEUS_MULTIPROC_DIR": ""}, workers=2, name="metrics-dir")
    web.start()
    try:
        made = _metrics_dirs(temp)
        assert len(made) == 1, made
        assert os.listdir(temp / made[0])  # the workers' sample files
    finally:
        web.stop()
    assert _metrics_dirs(temp) == []


def test_gunicorn_removes_its_metrics_directory_when_it_refuses_to_start(tmp_path):
    """A start refused by the config (production without Redis and two workers) exits before gunicorn's own
    exit hook; the directory goes all the same."""
    temp = tmp_path / "temp"
    temp.mkdir()
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(tmp_path), "TMPDIR": str(temp),
           "DJANGO_SETTINGS_MODULE": "settings.prod", "REDIS_ENABLED": "false", "WEB_CONCURRENCY": "2"}
    result = subprocess.run([str(BIN / "gunicorn"), "-c", str(ROOT / "deploy" / "gunicorn.conf.py"),
                             "--bind", "127.0.0.1:0", "tradesignals.wsgi:application"],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert "REDIS_ENABLED=false" in result.stdout + result.stderr
    assert leftovers(temp) == []


@pytest.mark.cluster
def test_a_metrics_directory_given_by_the_environment_is_left_alone(mongo_uri, redis_server_url, tmp_path):
    given = tmp_path / "given-metrics"
    env = {"MONGODB_URI": mongo_uri, "REDIS_URL": redis_server_url, "TMPDIR": str(tmp_path),
           "PROMETHEUS_MULTIPROC_DIR": str(given)}
    with Gunicorn(env, name="metrics-given"):
        assert os.listdir(given)
    assert given.is_dir()
    assert _metrics_dirs(tmp_path) == []
