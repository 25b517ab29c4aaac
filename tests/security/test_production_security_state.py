"""Production never runs on security state that can be wrong: process-local revocation (REDIS_ENABLED=false)
only where one process serves everything, and a security Redis only if it never evicts.

A logout is a write to the security store. In process memory it reaches only the worker that handled it, so
with two gunicorn workers, a split deployment or out-of-process consumers the token still works elsewhere.
On a Redis that evicts, it is forgotten under memory pressure. Both are refused at start-up with a message
that names the fix; the policy check only warns when it cannot read the policy.
"""
from __future__ import annotations

import logging
import shutil
import socket
import subprocess
import sys
import time

import pytest
import requests

from tests.support.accounts import PASSWORD, unique_email
from tests.support.procs import BIN, ROOT, Gunicorn
from tests.support.servers import PrivateRedis, free_port, redis_available, require, wait_until
from tradesignals.kernel.security_store import check_redis_eviction_policy

SECRETS = {"DJANGO_SECRET_KEY": "Hq2vR7xW9kLp4Rt8Yb3Hc6Jm1Sd5Fg0Ae-prod-like-secret-value",
           "JWT_SECRET": "Tn4Wq9Lm2Np7Ks5Vb8Hr3Tc6Yd1Fj0Gu-prod-like-jwt-secret"}
HTTPS = {"X-Forwarded-Proto": "https"}
SHOW_STORE = ("import django; django.setup(); from django.conf import settings; "
              "print(settings.CACHES['security']['BACKEND'])")
FIX = ("REDIS_ENABLED=true", "WEB_CONCURRENCY=1", "EVENT_BUS=inprocess")


def boot(code: str = SHOW_STORE, settings_module: str = "settings.prod", **env) -> subprocess.CompletedProcess:
    environment = {"PATH": "/usr/bin:/bin", "HOME": "/tmp", "DJANGO_SETTINGS_MODULE": settings_module,
                   "ALLOWED_HOSTS": "api.example.com", **SECRETS, **env}
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=environment, capture_output=True, text=True,
                          timeout=120)


# --- A. process-local security state -----------------------------------------------------------------------

@pytest.mark.parametrize(("env", "named"), [
    ({}, "WEB_CONCURRENCY"),  # gunicorn's default is 2 workers
    ({"REDIS_ENABLED": "false", "WEB_CONCURRENCY": "4"}, "WEB_CONCURRENCY=4"),
    ({"WEB_CONCURRENCY": "1", "EVENT_BUS": "redis"}, "EVENT_BUS=redis"),
    ({"WEB_CONCURRENCY": "1", "EVENT_BUS": "kafka"}, "EVENT_BUS=kafka"),
    ({"WEB_CONCURRENCY": "1", "EVENT_BUS": "redis", "TRADESIGNALS_SLICES": "accounts"}, "TRADESIGNALS_SLICES=accounts"),
])
def test_production_refuses_process_local_security_state_with_more_than_one_process(env, named):
    result = boot(**env)
    assert result.returncode != 0, result.stdout
    assert "ImproperlyConfigured" in result.stderr
    message = result.stderr.strip().splitlines()[-1]
    assert "REDIS_ENABLED=false" in message and "logout" in message
    assert named in message
    for fix in FIX:
        assert fix in message, message


@pytest.mark.parametrize("env", [
    {"WEB_CONCURRENCY": "1"},
    {"REDIS_ENABLED": "false", "WEB_CONCURRENCY": "1", "EVENT_BUS": "inprocess",
     "TRADESIGNALS_SLICES": "accounts,users,signals,discussions"},
])
def test_production_accepts_process_local_state_in_a_single_process(env):
    result = boot(**env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "tradesignals.kernel.security_store.SecurityStore"


def test_production_on_redis_is_not_limited_to_one_process(redis_server_url):
    result = boot(REDIS_ENABLED="true", REDIS_URL=redis_server_url, WEB_CONCURRENCY="4")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "django_redis.cache.RedisCache"


def _prod_env(mongo_uri: str, **env) -> dict[str, str]:
    return {"DJANGO_SETTINGS_MODULE": "settings.prod", "MONGODB_URI": mongo_uri, "ALLOWED_HOSTS": "127.0.0.1",
            "LOG_LEVEL": "WARNING", **SECRETS, **env}


def _refused(server: Gunicorn, log_path) -> str:
    """Run ``server``'s gunicorn expecting it to exit instead of serving; its whole log."""
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [str(BIN / "gunicorn"), "-c", str(ROOT / "deploy" / "gunicorn.conf.py"),
             "--bind", f"127.0.0.1:{server.port}", "tradesignals.wsgi:application"],
            cwd=ROOT, env=server.env, stdout=log, stderr=subprocess.STDOUT,
        )
        try:
            def exited_or_serving():
                if proc.poll() is not None:
                    return "exited"
                try:
                    requests.get(f"{server.url}/healthz", timeout=1)
                except requests.ConnectionError:
                    return None
                return "serving"

            outcome = wait_until(exited_or_serving, timeout=60, message="gunicorn to exit or serve")
        finally:
            if proc.poll() is None:
                proc.terminate()
                proc.wait(timeout=30)
    text = log_path.read_text(errors="replace")
    assert outcome == "exited", text[-2000:]
    assert proc.returncode != 0
    return text


@pytest.mark.cluster
def test_a_production_gunicorn_with_two_workers_and_no_redis_exits_instead_of_serving(mongo_uri, tmp_path):
    server = Gunicorn(_prod_env(mongo_uri, REDIS_ENABLED="false"), workers=2, name="prod-local-state")
    log = _refused(server, tmp_path / "gunicorn.log")
    # The master refuses before any worker loads the settings (which refuse it too, tested above).
    assert "REDIS_ENABLED=false" in log and "2 gunicorn workers" in log and "REDIS_ENABLED=true" in log


@pytest.mark.cluster
@pytest.mark.parametrize("extra, expected", [
    ({"GUNICORN_CMD_ARGS": "--workers 3"}, "3 gunicorn workers"),
    ({"GUNICORN_MAX_REQUESTS": "1000"}, "recycled after 1000 requests"),
])
def test_gunicorns_own_worker_settings_cannot_bypass_the_single_process_rule(mongo_uri, tmp_path, extra, expected):
    """WEB_CONCURRENCY=1 satisfies the settings, but gunicorn's command-line arguments and recycling are what
    really run: the master refuses them before any worker starts."""
    env = _prod_env(mongo_uri, REDIS_ENABLED="false", REDIS_URL="redis://127.0.0.1:1/0", **extra)
    server = Gunicorn(env, workers=1, name="prod-bypass")
    log = _refused(server, tmp_path / "gunicorn.log")
    assert expected in log and "REDIS_ENABLED=true" in log


@pytest.mark.cluster
def test_a_single_process_production_gunicorn_without_redis_serves_and_logout_holds(mongo_uri):
    env = _prod_env(mongo_uri, REDIS_ENABLED="false", REDIS_URL="redis://127.0.0.1:1/0")
    with Gunicorn(env, workers=1, threads=4, name="prod-single") as web:
        def call(method, path, token=None, json=None):
            headers = {**HTTPS, **({"Authorization": f"Bearer {token}"} if token else {})}
            return requests.request(method, f"{web.url}/api/v1/auth/{path}", json=json, headers=headers, timeout=10)

        session = call("POST", "register", json={"email": unique_email(), "password": PASSWORD})
        assert session.status_code == 201, session.text
        access = session.json()["access"]
        assert call("GET", "me", access).status_code == 200
        assert call("POST", "logout", access).status_code == 204
        for _ in range(8):  # every thread of the one worker sees the revocation
            assert call("GET", "me", access).status_code == 401
        # Past gunicorn's default recycling point (GUNICORN_MAX_REQUESTS 5000 + jitter 500) the worker, and with
        # it the revocation, is still there.
        with requests.Session() as pump:
            for _ in range(5600):
                assert pump.get(f"{web.url}/healthz", timeout=10).status_code == 200
        assert call("GET", "me", access).status_code == 401


# --- B. the security Redis must not evict ------------------------------------------------------------------

class PolicyRedis(PrivateRedis):
    """A private redis-server started with extra arguments (an eviction policy, a disabled command)."""

    def __init__(self, workdir, *args: str):
        super().__init__(workdir)
        self.args = list(args)

    def start(self) -> PolicyRedis:
        binary = shutil.which("redis-server")
        require(binary is not None, "redis-server binary not installed")
        self.proc = subprocess.Popen(
            [binary, "--bind", "127.0.0.1", "--port", str(self.port), "--save", "", "--appendonly", "no",
             "--dir", str(self.workdir), *self.args],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        wait_until(lambda: redis_available(self.url), timeout=10, message="private redis to answer")
        return self


def _redis(tmp_path_factory, name: str, *args: str):
    server = PolicyRedis(tmp_path_factory.mktemp(name), *args)
    try:
        yield server.start()
    finally:
        server.stop()


@pytest.fixture(scope="module")
def lru_redis(tmp_path_factory):
    yield from _redis(tmp_path_factory, "lru", "--maxmemory", "64mb", "--maxmemory-policy", "allkeys-lru")


@pytest.fixture(scope="module")
def volatile_redis(tmp_path_factory):
    yield from _redis(tmp_path_factory, "volatile", "--maxmemory", "64mb", "--maxmemory-policy", "volatile-ttl")


@pytest.fixture(scope="module")
def safe_redis(tmp_path_factory):
    yield from _redis(tmp_path_factory, "safe", "--maxmemory", "64mb", "--maxmemory-policy", "noeviction")


@pytest.fixture(scope="module")
def no_config_redis(tmp_path_factory):
    """A managed-Redis look-alike: CONFIG refused, INFO still answered (it reports the policy too)."""
    yield from _redis(tmp_path_factory, "noconfig", "--maxmemory-policy", "allkeys-lru",
                      "--rename-command", "CONFIG", "")


@pytest.fixture(scope="module")
def mute_redis(tmp_path_factory):
    """Neither CONFIG nor INFO answered: the policy cannot be read at all."""
    yield from _redis(tmp_path_factory, "mute", "--maxmemory-policy", "allkeys-lru",
                      "--rename-command", "CONFIG", "", "--rename-command", "INFO", "")


def _on_redis(url: str, **env) -> dict[str, str]:
    return {"REDIS_ENABLED": "true", "REDIS_URL": url, "SECURITY_REDIS_URL": url, "EVENT_REDIS_URL": url, **env}


def test_an_evicting_security_redis_is_refused_naming_noeviction(lru_redis, volatile_redis):
    from django.core.exceptions import ImproperlyConfigured

    for server, policy in ((lru_redis, "allkeys-lru"), (volatile_redis, "volatile-ttl")):
        with pytest.raises(ImproperlyConfigured) as refused:
            check_redis_eviction_policy(server.url)
        message = str(refused.value)
        assert policy in message and "maxmemory-policy noeviction" in message
        assert "SECURITY_REDIS_ALLOW_EVICTION=true" in message
        assert f"127.0.0.1:{server.port}/0" in message


def test_a_noeviction_security_redis_is_accepted(safe_redis, caplog):
    with caplog.at_level(logging.WARNING, logger="tradesignals.kernel.security_store"):
        assert check_redis_eviction_policy(safe_redis.url) == "noeviction"
    assert not caplog.records


def test_a_security_redis_that_refuses_config_is_still_checked_through_info(no_config_redis):
    from django.core.exceptions import ImproperlyConfigured

    with pytest.raises(ImproperlyConfigured) as refused:
        check_redis_eviction_policy(no_config_redis.url)
    assert "allkeys-lru" in str(refused.value) and "maxmemory-policy noeviction" in str(refused.value)


def test_the_operator_may_accept_eviction_explicitly(lru_redis):
    assert check_redis_eviction_policy(lru_redis.url, allow_eviction=True) is None


@pytest.mark.parametrize("case", ["config-disabled", "unreachable", "silent"])
def test_an_unverifiable_policy_is_one_warning_naming_the_fix_and_never_a_hang(case, mute_redis, caplog):
    listener = None
    if case == "config-disabled":
        url = mute_redis.url
    elif case == "unreachable":
        url = f"redis://127.0.0.1:{free_port()}/0"
    else:  # accepts the connection, never answers
        listener = socket.socket()
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        url = f"redis://127.0.0.1:{listener.getsockname()[1]}/0"
    try:
        started = time.monotonic()
        with caplog.at_level(logging.WARNING, logger="tradesignals.kernel.security_store"):
            assert check_redis_eviction_policy(url) is None
        elapsed = time.monotonic() - started
    finally:
        if listener is not None:
            listener.close()
    assert elapsed < 5, elapsed
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    text = warnings[0].getMessage()
    assert "not verified" in text and "maxmemory-policy noeviction" in text
    assert "SECURITY_REDIS_ALLOW_EVICTION=true" in text
    if case == "config-disabled":
        assert "neither CONFIG GET nor INFO is permitted" in text
    else:
        assert "unreachable" in text


def test_production_start_up_refuses_an_evicting_security_redis(lru_redis, safe_redis):
    refused = boot(**_on_redis(lru_redis.url, WEB_CONCURRENCY="2"))
    assert refused.returncode != 0
    assert "ImproperlyConfigured" in refused.stderr and "maxmemory-policy noeviction" in refused.stderr
    accepted = boot(**_on_redis(safe_redis.url, WEB_CONCURRENCY="2"))
    assert accepted.returncode == 0, accepted.stderr
    opted_out = boot(**_on_redis(lru_redis.url, WEB_CONCURRENCY="2", SECURITY_REDIS_ALLOW_EVICTION="true"))
    assert opted_out.returncode == 0, opted_out.stderr


def test_production_start_up_warns_when_the_policy_cannot_be_read(mute_redis, no_config_redis):
    refused = boot(**_on_redis(no_config_redis.url, WEB_CONCURRENCY="2"))  # CONFIG refused, INFO tells
    assert refused.returncode != 0 and "maxmemory-policy noeviction" in refused.stderr
    result = boot(**_on_redis(mute_redis.url, WEB_CONCURRENCY="2"))
    assert result.returncode == 0, result.stderr
    lines = [line for line in result.stderr.splitlines() if '"level": "WARNING"' in line]
    assert any("SECURITY_REDIS_ALLOW_EVICTION=true" in line and "noeviction" in line for line in lines), result.stderr


def test_development_start_up_makes_no_policy_check(lru_redis):
    result = boot(settings_module="settings.dev", **_on_redis(lru_redis.url))
    assert result.returncode == 0, result.stderr
    assert "maxmemory-policy" not in result.stderr


@pytest.mark.cluster
def test_a_production_gunicorn_on_an_evicting_security_redis_exits_instead_of_serving(mongo_uri, lru_redis,
                                                                                      tmp_path):
    server = Gunicorn(_prod_env(mongo_uri, **_on_redis(lru_redis.url)), workers=2, name="prod-evicting")
    log = _refused(server, tmp_path / "gunicorn.log")
    assert "allkeys-lru" in log and "maxmemory-policy noeviction" in log
