"""An administrator's deactivation (or a ``createadmin`` promotion) whose epoch mirror failed answers an error;
the retry, once the security store is back, must make it effective: the user's old access token is refused.

The security store is a private redis-server this test owns (``SECURITY_REDIS_URL`` of a real gunicorn; the
response cache stays on the run's Redis). The first attempt runs while that store refuses writes
(``CLIENT PAUSE … WRITE``: reads still answer, so the administrator authenticates, the MongoDB change commits
and only the mirror fails); the store is then restarted empty — a real outage — before the retry.
"""
from __future__ import annotations

import subprocess
import sys

import pytest
import redis
import requests

from tests.support.accounts import PASSWORD
from tests.support.errors import assert_unavailable
from tests.support.procs import ROOT, Gunicorn
from tests.support.servers import PrivateRedis, wait_until
from tests.support.tokens import bearer

pytestmark = pytest.mark.cluster


@pytest.fixture
def stack(mongo_uri, redis_server_url, tmp_path):
    store = PrivateRedis(tmp_path).start()
    web = None
    try:
        web = Gunicorn({"MONGODB_URI": mongo_uri, "REDIS_URL": redis_server_url, "REDIS_ENABLED": "true",
                        "SECURITY_REDIS_URL": store.url}, name="admin-retry").start()
        yield web, store
    finally:
        if web:
            web.stop()
        store.stop()


def api(web, method: str, path: str, token: str | None = None, **kwargs) -> requests.Response:
    return requests.request(method, f"{web.url}/api/v1/auth/{path}", headers=bearer(token, wsgi=False) if token else {},
                            timeout=15, **kwargs)


def register(web, email: str) -> dict:
    response = api(web, "POST", "register", json={"email": email, "password": PASSWORD})
    assert response.status_code == 201, response.text
    return response.json()


def createadmin(web, email: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "manage.py", "createadmin", "--email", email, "--password-env", "TS_PW"],
                          cwd=ROOT, env={**web.env, "TS_PW": PASSWORD}, capture_output=True, text=True, timeout=120)


def admin_token(web) -> str:
    assert createadmin(web, "root@example.com").returncode == 0
    response = api(web, "POST", "login", json={"email": "root@example.com", "password": PASSWORD})
    assert response.status_code == 200, response.text
    return response.json()["access"]


def refuse_writes(store: PrivateRedis) -> None:
    """Writes (and scripts) stall past the client's socket timeout; reads keep answering."""
    redis.Redis.from_url(store.url).execute_command("CLIENT", "PAUSE", 120_000, "WRITE")


def restart(store: PrivateRedis, web, token: str) -> None:
    store.stop()
    store.start()  # same port, empty: whatever the first attempt left queued is gone
    wait_until(lambda: api(web, "GET", "me", token).status_code == 200, timeout=15,
               message="authenticated requests after the store restart")


def test_a_deactivation_retried_after_a_503_takes_effect(stack):
    web, store = stack
    admin = admin_token(web)
    victim = register(web, "victim@example.com")
    assert api(web, "GET", "me", victim["access"]).status_code == 200
    path = f"admin/users/{victim['user']['id']}"

    refuse_writes(store)
    assert_unavailable(api(web, "PATCH", path, admin, json={"is_active": False}))
    restart(store, web, admin)

    retried = api(web, "PATCH", path, admin, json={"is_active": False})
    assert retried.status_code == 200, retried.text
    assert retried.json()["is_active"] is False
    refused = api(web, "GET", "me", victim["access"])
    assert refused.status_code == 401, refused.text
    assert api(web, "POST", "refresh", json={"refresh": victim["refresh"]}).status_code == 401


def test_a_role_change_retried_after_a_503_takes_effect(stack):
    web, store = stack
    admin = admin_token(web)
    target = register(web, "target@example.com")
    path = f"admin/users/{target['user']['id']}"

    refuse_writes(store)
    assert_unavailable(api(web, "PATCH", path, admin, json={"role": "admin"}))
    restart(store, web, admin)

    assert api(web, "PATCH", path, admin, json={"role": "admin"}).status_code == 200
    assert api(web, "GET", "me", target["access"]).status_code == 401  # the old token still says "user"
    renewed = api(web, "POST", "refresh", json={"refresh": target["refresh"]})
    assert renewed.status_code == 200
    assert api(web, "GET", "admin/audit", renewed.json()["access"]).status_code == 200


def test_a_createadmin_promotion_rerun_after_a_failure_takes_effect(stack):
    web, store = stack
    admin = admin_token(web)
    promoted = register(web, "promoted@example.com")

    refuse_writes(store)
    failed = createadmin(web, "promoted@example.com")
    assert failed.returncode != 0 and "unavailable" in failed.stderr
    restart(store, web, admin)

    rerun = createadmin(web, "promoted@example.com")
    assert rerun.returncode == 0, rerun.stderr
    assert api(web, "GET", "me", promoted["access"]).status_code == 401
