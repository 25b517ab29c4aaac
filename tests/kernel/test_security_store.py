"""The embedded run's security store (``REDIS_ENABLED=false``): revoked tokens and rate-limit counters are
never evicted while they are live, however many other entries arrive; they leave only by expiring.

Every test runs on the ``security`` alias exactly as settings/base.py configures it without Redis (read from
the settings module in a subprocess), so the tests exercise the configured backend, not a hand-built one.
"""
from __future__ import annotations

import json
import subprocess
import sys
import threading
import uuid

import pytest
from django.core.cache import caches

from tests.support.accounts import PASSWORD, unique_email
from tests.support.procs import ROOT
from tests.support.servers import wait_until
from tradesignals.kernel import ratelimit, revocation
from tradesignals.kernel.errors import RateLimited

OTHERS = 5000  # well past LocMemCache's 300 entries


@pytest.fixture(scope="module")
def embedded_caches() -> dict:
    code = "import json; from settings import base; print(json.dumps(base.CACHES))"
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60,
                            env={"PATH": "/usr/bin:/bin", "HOME": "/tmp", "REDIS_ENABLED": "false"})
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest.fixture
def store(settings, embedded_caches):
    settings.CACHES = {**settings.CACHES, "security": embedded_caches["security"]}
    settings.RATE_LIMIT_WINDOW_MS = 3_600_000  # no window rolls over in the middle of a test
    security = caches["security"]
    security.clear()
    yield security
    security.clear()


def revoke_others(count: int = OTHERS) -> None:
    for _ in range(count):
        revocation.revoke_token(uuid.uuid4().hex, ttl=900)


def test_a_logged_out_token_stays_revoked_after_5000_more_logouts(store, accounts):
    session = accounts.register()
    assert accounts.me(session["access"]).status_code == 200
    assert accounts.post("logout", token=session["access"]).status_code == 204
    assert accounts.me(session["access"]).status_code == 401
    revoke_others()
    assert accounts.me(session["access"]).status_code == 401


def test_a_login_counter_survives_5000_other_clients(store, accounts, settings):
    settings.AUTH_RATE_LIMIT_MAX = 3
    email = unique_email()
    accounts.register(email=email)
    for _ in range(3):
        assert accounts.post("login", {"email": email, "password": PASSWORD}).status_code == 200
    for n in range(OTHERS):  # 5000 other clients' login attempts, each its own counter
        ratelimit.hit(None, group="accounts:login:ip", key=f"203.0.{n // 256}.{n % 256}", rate="20/3600s")
    limited = accounts.post("login", {"email": email, "password": PASSWORD})
    assert limited.status_code == 429, limited.content
    assert int(limited["Retry-After"]) >= 1


def test_the_gateway_budget_survives_5000_other_entries(store, api_client, settings):
    settings.RATE_LIMIT_MAX = 5
    for _ in range(5):
        assert api_client.get("/api/v1/nowhere").status_code == 404
    revoke_others()
    limited = api_client.get("/api/v1/nowhere")
    assert limited.status_code == 429, limited.content
    assert limited.json()["error"]["code"] == "rate_limited"
    assert api_client.get("/api/v1/nowhere", REMOTE_ADDR="198.51.100.7").status_code == 404  # another client


def test_a_failed_login_lockout_and_a_logout_all_work_on_it(store, accounts, settings):
    settings.LOGIN_ACCOUNT_BURST_MAX = 2
    email = unique_email()
    first = accounts.register(email=email)
    for n in range(2):
        assert accounts.post("login", {"email": email, "password": "wrong-password-123"},
                             REMOTE_ADDR=f"10.7.0.{n}").status_code == 401
    assert accounts.post("login", {"email": email, "password": PASSWORD}, REMOTE_ADDR="10.7.0.9").status_code == 429
    assert accounts.post("logout-all", token=first["access"]).status_code == 204
    assert accounts.me(first["access"]).status_code == 401


def test_an_expired_entry_disappears_and_frees_its_memory(store):
    jti = uuid.uuid4().hex
    key = revocation.keys_for(_principal(jti))[0]
    revocation.revoke_token(jti, ttl=1)
    revocation.revoke_token(uuid.uuid4().hex, ttl=900)
    with pytest.raises(revocation.TokenRevoked):
        revocation.check(_principal(jti))
    wait_until(lambda: store.get(key) is None, timeout=5, message="the 1 s revocation to expire")
    revocation.check(_principal(jti))  # no longer revoked: the token itself has expired by then
    wait_until(lambda: store.entry_count() == 1, timeout=5, message="the expired entry to be purged")


def test_entries_that_never_expire_are_refused(store):
    with pytest.raises(ValueError, match="expire"):
        store.set("forever", 1, timeout=None)
    with pytest.raises(ValueError, match="expire"):
        store.add("forever", 1, timeout=None)
    assert store.get("forever") is None


def test_the_cache_operations_the_limits_and_revocations_use(store):
    assert store.add("n", 0, 60) is True
    assert store.add("n", 5, 60) is False
    assert store.incr("n") == 1 and store.incr("n", 4) == 5 and store.decr("n") == 4
    with pytest.raises(ValueError):
        store.incr("missing")
    store.set_many({"a": 1, "b": {"x": [1]}}, timeout=60)
    assert store.get_many(["a", "b", "missing"]) == {"a": 1, "b": {"x": [1]}}
    assert store.has_key("a") and "b" in store and not store.has_key("missing")
    assert store.get("missing", "fallback") == "fallback"
    assert store.get_or_set("c", 7, timeout=60) == 7 and store.get("c") == 7
    assert store.touch("a", 60) is True and store.touch("missing", 60) is False
    assert store.delete("a") is True and store.delete("a") is False
    store.delete_many(["b", "c"])
    assert store.get_many(["b", "c"]) == {}
    store.set("gone", 1, timeout=0)
    assert store.get("gone") is None
    store.clear()
    assert store.get("n") is None and store.entry_count() == 0


def test_touch_keeps_an_entry_past_its_first_expiry(store):
    store.set("kept", 1, timeout=1)
    store.set("dropped", 1, timeout=1)
    assert store.touch("kept", 60) is True
    wait_until(lambda: store.get("dropped") is None, timeout=5, message="the untouched entry to expire")
    assert store.get("kept") == 1
    assert revocation.raise_epoch("user-1", 3) == 3 and revocation.raise_epoch("user-1", 2) == 3


def test_every_thread_shares_one_store_and_increments_are_exact(store):
    store.add("shared", 0, 60)
    revocation.revoke_token("jti-main", ttl=60)
    seen: list[bool] = []

    def work():
        mine = caches["security"]  # each thread gets its own backend instance, as under gthread workers
        seen.append(mine.get(revocation.keys_for(_principal("jti-main"))[0]) == 1)
        for _ in range(500):
            mine.incr("shared")

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert seen == [True] * 8
    assert store.get("shared") == 4000


def test_rate_limit_helpers_count_on_it(store):
    for _ in range(3):
        ratelimit.hit(None, group="test:group", key="k", rate="3/3600s")
    with pytest.raises(RateLimited):
        ratelimit.hit(None, group="test:group", key="k", rate="3/3600s")
    with pytest.raises(RateLimited):
        ratelimit.check(None, group="test:group", key="k", rate="3/3600s")
    ratelimit.check(None, group="test:group", key="other", rate="3/3600s")


def _principal(jti: str):
    from tradesignals.kernel.identity import Principal

    return Principal(user_id="u-expiry", role="user", name="", jti=jti, family=None, version=0, expires_at=0)
