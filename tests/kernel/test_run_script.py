"""`make test` brings what the tests need (tests/run.sh): on a machine without nginx or chromium it installs them
when allowed, or stops at once with the one command to run; without Redis it starts one for the run.

The machine's own programs cannot be uninstalled for a test, so "missing" is staged: a PATH without nginx, chromium
or redis-server and their usual locations pointed elsewhere (NGINX_PATH, CHROMIUM_PATH).
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest
import redis

from tests.support.procs import ROOT, free_port
from tests.support.servers import require

SCRIPT = ROOT / "tests" / "run.sh"
TOOLS = ("bash", "env", "id", "seq", "sleep", "kill", "cat", "touch")


def _bin_without_servers(tmp_path, *, keep_redis: bool = False):
    """A PATH holding only the shell tools the script uses (and redis-server when asked)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in TOOLS + (("redis-server",) if keep_redis else ()):
        found = shutil.which(tool)
        if found:
            (bin_dir / tool).symlink_to(found)
    return bin_dir


def _run(tmp_path, bin_dir, *command, **env):
    environment = {"PATH": str(bin_dir), "HOME": str(tmp_path), "TMPDIR": str(tmp_path),
                   "NGINX_PATH": str(tmp_path / "no-nginx"), "CHROMIUM_PATH": str(tmp_path / "no-chromium"),
                   "REDIS_URL": os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/15"), **env}
    return subprocess.run(["bash", str(SCRIPT), sys.executable, *command], env=environment, cwd=ROOT,
                          capture_output=True, text=True, timeout=60)


def test_ci_stops_at_once_with_the_command_that_installs_what_is_missing(tmp_path):
    marker = tmp_path / "ran"
    result = _run(tmp_path, _bin_without_servers(tmp_path), "bash", "-c", f"touch {marker}",
                  CI="true", INSTALL_SYSTEM_PACKAGES="no")
    assert result.returncode == 2
    assert "missing nginx chromium redis-server openssl" in result.stderr
    assert "apt-get install -y --no-install-recommends nginx chromium redis-server openssl" in result.stderr
    assert not marker.exists(), "the tests must not start when CI lacks their servers"


def test_a_local_run_goes_on_and_says_what_will_skip(tmp_path):
    marker = tmp_path / "ran"
    result = _run(tmp_path, _bin_without_servers(tmp_path), "bash", "-c", f"touch {marker}",
                  INSTALL_SYSTEM_PACKAGES="no")
    assert result.returncode == 0, result.stderr
    assert marker.exists()
    assert "tests needing them will skip" in result.stderr


def test_without_root_or_sudo_ci_names_the_command_instead_of_installing(tmp_path):
    setpriv = shutil.which("setpriv")
    require(os.geteuid() == 0 and setpriv is not None, "needs root and setpriv to run as an unprivileged user")
    bin_dir = _bin_without_servers(tmp_path)
    (bin_dir / "apt-get").symlink_to(shutil.which("true"))  # present, but an unprivileged user may not run it
    tmp_path.chmod(0o777)
    marker = tmp_path / "ran"
    environment = {"PATH": str(bin_dir), "HOME": str(tmp_path), "TMPDIR": str(tmp_path), "CI": "true",
                   "NGINX_PATH": str(tmp_path / "no-nginx"), "CHROMIUM_PATH": str(tmp_path / "no-chromium")}
    result = subprocess.run([setpriv, "--reuid=nobody", "--regid=nogroup", "--clear-groups", "bash", str(SCRIPT),
                             sys.executable, "bash", "-c", f"touch {marker}"],
                            env=environment, cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2, result.stderr
    assert "installing" not in result.stderr
    assert "sudo sh -c 'apt-get update && apt-get install -y" in result.stderr
    assert not marker.exists()


def test_redis_is_started_for_the_run_when_nothing_answers_and_stopped_after(tmp_path):
    require(shutil.which("redis-server") is not None, "redis-server binary not installed")
    port = free_port()
    url = f"redis://127.0.0.1:{port}/0"
    probe = ("import redis, sys; client = redis.Redis.from_url(sys.argv[1]); client.set('k', 'v'); "
             "print(client.get('k').decode())")
    result = _run(tmp_path, _bin_without_servers(tmp_path, keep_redis=True), sys.executable, "-c", probe, url,
                  REDIS_URL=url, NGINX_PATH=sys.executable, CHROMIUM_PATH=sys.executable)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "v"
    assert f"starting redis-server on 127.0.0.1:{port}" in result.stderr
    with pytest.raises(redis.ConnectionError):
        redis.Redis.from_url(url, socket_timeout=1).ping()


def test_an_existing_redis_is_used_as_it_is(tmp_path, redis_server_url):
    result = _run(tmp_path, _bin_without_servers(tmp_path, keep_redis=True), "bash", "-c", "true",
                  REDIS_URL=redis_server_url, NGINX_PATH=sys.executable, CHROMIUM_PATH=sys.executable)
    assert result.returncode == 0, result.stderr
    assert "starting redis-server" not in result.stderr
    assert redis.Redis.from_url(redis_server_url).ping()


def test_the_wrapped_commands_exit_status_is_the_scripts(tmp_path):
    result = _run(tmp_path, _bin_without_servers(tmp_path, keep_redis=True), "bash", "-c", "exit 7",
                  NGINX_PATH=sys.executable, CHROMIUM_PATH=sys.executable)
    assert result.returncode == 7
