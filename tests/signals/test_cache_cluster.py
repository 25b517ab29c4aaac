"""The cache across real gunicorn processes: freshness when the write and the read hit different processes
sharing one Redis, and a Redis outage that turns the cache into misses (never errors) and back."""
from __future__ import annotations

import time
import uuid

import pytest
import requests

from tests.support.procs import Gunicorn
from tests.support.servers import PrivateRedis, wait_until
from tests.support.signals import VALID
from tests.support.tokens import make_token

pytestmark = pytest.mark.cluster
BASE = "/api/v1/trade-signals"


class Http:
    def __init__(self, server: Gunicorn, token: str | None):
        self.server, self.token = server, token

    def __call__(self, method: str, path: str, body=None, **kwargs):
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        return requests.request(method, self.server.url + path, json=body, headers=headers, timeout=10, **kwargs)


@pytest.fixture(scope="module")
def pair(mongo_uri, redis_server_url):
    env = {"MONGODB_URI": mongo_uri, "REDIS_URL": redis_server_url, "REDIS_ENABLED": "true"}
    with Gunicorn(env, name="signals-a") as a, Gunicorn(env, name="signals-b") as b:
        yield a, b


def people(server_a, server_b):
    owner_id, admin_id = uuid.uuid4().hex[:24], uuid.uuid4().hex[:24]
    owner_token = make_token(owner_id, role="user", name="Owner")
    admin_token = make_token(admin_id, role="admin", name="Admin")
    return {
        "owner_a": Http(server_a, owner_token), "owner_b": Http(server_b, owner_token),
        "admin_a": Http(server_a, admin_token), "admin_b": Http(server_b, admin_token),
        "anon_b": Http(server_b, None),
    }


def create(http, **overrides):
    response = http("POST", BASE, {**VALID, **overrides})
    assert response.status_code == 201, response.text
    return response.json()


def approve(http, signal_id, status="approved", reason="ok"):
    response = http("PATCH", f"{BASE}/{signal_id}/status", {"status": status, "reason": reason})
    assert response.status_code == 200, response.text


# write kind → (setup on A before warming, the write on A) ; reads on B follow
READS = ("own", "detail", "admin", "public")


def read(p, kind, signal_id):
    caller, path = {"own": ("owner_b", BASE), "detail": ("owner_b", f"{BASE}/{signal_id}"),
                    "admin": ("admin_b", f"{BASE}/admin"), "public": ("anon_b", f"{BASE}/public")}[kind]
    return p[caller]("GET", path)


def ids_and_status(response):
    if response.status_code == 404:
        return None
    body = response.json()
    items = body["results"] if "results" in body else [body]
    return sorted((s["id"], s["status"], s["rationale"], s["owner_name"]) for s in items)


WRITES = {
    "create": (None, lambda p, sid: create(p["owner_a"], rationale="created later")),
    "edit_pending": ("pending", lambda p, sid: p["owner_a"]("PATCH", f"{BASE}/{sid}", {"rationale": "edited"})),
    "edit_approved": ("approved", lambda p, sid: p["owner_a"]("PATCH", f"{BASE}/{sid}", {"rationale": "edited"})),
    "approve": ("pending", lambda p, sid: approve(p["admin_a"], sid)),
    "reject": ("pending", lambda p, sid: approve(p["admin_a"], sid, "rejected", "no")),
    "take_down": ("approved", lambda p, sid: approve(p["admin_a"], sid, "rejected", "taken down")),
    "reapprove": ("rejected", lambda p, sid: approve(p["admin_a"], sid)),
    "delete_pending": ("pending", lambda p, sid: p["owner_a"]("DELETE", f"{BASE}/{sid}")),
    "delete_approved": ("approved", lambda p, sid: p["admin_a"]("DELETE", f"{BASE}/{sid}")),
}


@pytest.mark.parametrize("write", list(WRITES))
def test_freshness_matrix_across_two_processes(pair, write):
    a, b = pair
    p = people(a, b)
    state, do_write = WRITES[write]
    signal_id = "0" * 24
    if state is not None:
        signal_id = create(p["owner_a"])["id"]
        if state != "pending":
            approve(p["admin_a"], signal_id, state, "setup")
    # Warm every read on B until it is served from the cache.
    for kind in READS:
        read(p, kind, signal_id)
        assert read(p, kind, signal_id).headers.get("X-Cache") in ("hit", None)  # 404s carry no X-Cache
    do_write(p, signal_id)
    for kind in READS:
        on_b = ids_and_status(read(p, kind, signal_id))
        # Truth: the same read on A with caching bypassed by a fresh filter-free query against MongoDB is
        # what B must now show. Compare with A's answer after A's own invalidation, then with Mongo directly.
        from_mongo = ids_and_status(_uncached(p, kind, signal_id))
        assert on_b == from_mongo, (write, kind)


def _uncached(p, kind, signal_id):
    """The same read answered from MongoDB (a never-cached limit makes a new cache key → a miss)."""
    caller, path = {"own": ("owner_a", BASE), "detail": ("owner_a", f"{BASE}/{signal_id}"),
                    "admin": ("admin_a", f"{BASE}/admin"), "public": ("owner_a", f"{BASE}/public")}[kind]
    if kind == "detail":
        return p[caller]("GET", path)
    response = p[caller]("GET", path, params={"limit": "99"})
    assert response.headers["X-Cache"] == "miss"
    return response


def test_redis_outage_falls_back_to_mongodb_and_recovers(mongo_uri, redis_server_url, tmp_path):
    private = PrivateRedis(tmp_path).start()
    env = {"MONGODB_URI": mongo_uri, "REDIS_ENABLED": "true", "REDIS_URL": private.url,
           "SECURITY_REDIS_URL": redis_server_url, "CACHE_RETRY_SECONDS": "1"}
    try:
        with Gunicorn(env, name="signals-outage") as server:
            p = people(server, server)
            signal = create(p["owner_a"])
            approve(p["admin_a"], signal["id"])
            paths = [(p["owner_b"], BASE), (p["anon_b"], f"{BASE}/public"), (p["owner_b"], f"{BASE}/{signal['id']}")]
            for http, path in paths:
                http("GET", path)
                assert http("GET", path).headers["X-Cache"] == "hit"

            private.stop()
            for http, path in paths:
                started = time.monotonic()
                response = http("GET", path)
                assert response.status_code == 200 and response.headers["X-Cache"] == "miss"
                assert time.monotonic() - started < 1.5
            edited = p["owner_a"]("PATCH", f"{BASE}/{signal['id']}", {"rationale": "written during outage"})
            assert edited.status_code == 200
            assert p["owner_b"]("GET", BASE).json()["results"][0]["rationale"] == "written during outage"

            private.start()
            for http, path in paths:
                wait_until(lambda h=http, pa=path: h("GET", pa).headers["X-Cache"] == "hit", timeout=15,
                           interval=0.2, message=f"cache hits to resume on {path}")
            assert p["owner_b"]("GET", BASE).json()["results"][0]["rationale"] == "written during outage"
            assert "unhandled error" not in server.log()  # no 500 was logged
    finally:
        private.stop()
