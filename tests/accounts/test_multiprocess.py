"""Two real gunicorn processes on one MongoDB and one Redis: revocation, role changes and rate limits made
in one process hold in the other; a Redis outage answers 503 quickly for authenticated requests only."""
from __future__ import annotations

import os
import threading
import time
from io import StringIO

import pytest
import requests
from django.core.management import call_command

from tests.support.accounts import PASSWORD, unique_email
from tests.support.procs import Gunicorn
from tests.support.servers import PrivateRedis

pytestmark = pytest.mark.cluster
LIMIT = 5


class Node:
    def __init__(self, url: str, client_ip: str = "203.0.113.50"):
        self.url = url
        self.client_ip = client_ip  # what nginx (the trusted proxy on loopback) reports

    def call(self, method: str, path: str, token: str | None = None, json=None, headers=None):
        merged = {"X-Forwarded-For": self.client_ip, **(headers or {})}
        if token:
            merged["Authorization"] = f"Bearer {token}"
        return requests.request(method, f"{self.url}/api/v1/auth/{path}", json=json, headers=merged, timeout=10)

    def register(self, email=None) -> dict:
        response = self.call("POST", "register", json={"email": email or unique_email(), "password": PASSWORD})
        assert response.status_code == 201, response.text
        return response.json()

    def login(self, email, password=PASSWORD) -> dict:
        response = self.call("POST", "login", json={"email": email, "password": password})
        assert response.status_code == 200, response.text
        return response.json()

    def me(self, token) -> int:
        return self.call("GET", "me", token).status_code


@pytest.fixture(scope="module")
def pair(mongo_uri, redis_server_url):
    env = {"MONGODB_URI": mongo_uri, "REDIS_URL": redis_server_url, "REDIS_ENABLED": "true",
           "TRUSTED_PROXIES": "127.0.0.1/32", "AUTH_RATE_LIMIT_MAX": str(LIMIT)}
    first = Gunicorn(env, name="accounts-a").start()
    try:
        second = Gunicorn(env, name="accounts-b").start()
    except BaseException:
        first.stop()
        raise
    yield first, second
    first.stop()
    second.stop()


@pytest.fixture
def nodes(pair):
    return Node(pair[0].url), Node(pair[1].url)


def admin_token(node: Node) -> dict:
    email = unique_email("admin")
    os.environ["TS_MP_ADMIN_PASSWORD"] = PASSWORD
    call_command("createadmin", "--email", email, "--password-env", "TS_MP_ADMIN_PASSWORD", stdout=StringIO())
    return node.login(email)


def test_logout_in_one_process_is_refused_by_the_other(nodes):
    a, b = nodes
    session = a.register()
    assert b.me(session["access"]) == 200
    assert a.call("POST", "logout", session["access"]).status_code == 204
    assert b.me(session["access"]) == 401
    assert b.call("POST", "refresh", json={"refresh": session["refresh"]}).status_code == 401


def test_logout_all_and_password_change_are_seen_by_the_other_process(nodes):
    a, b = nodes
    first = a.register()
    email = first["user"]["email"]
    second = b.login(email)
    assert a.call("POST", "logout-all", second["access"]).status_code == 204
    assert b.me(first["access"]) == 401 and a.me(second["access"]) == 401

    third = a.login(email)
    response = b.call("POST", "password", third["access"],
                      json={"current_password": PASSWORD, "new_password": "amber-quartz-meadow-58"})
    assert response.status_code == 204
    assert a.me(third["access"]) == 401


def test_deactivation_and_role_change_take_effect_in_the_other_process(nodes):
    a, b = nodes
    admin = admin_token(a)
    promoted = a.register()
    demoted_id = promoted["user"]["id"]
    response = a.call("PATCH", f"admin/users/{demoted_id}", admin["access"], json={"role": "admin"})
    assert response.status_code == 200
    assert b.me(promoted["access"]) == 401
    renewed = b.call("POST", "refresh", json={"refresh": promoted["refresh"]}).json()
    assert b.call("GET", "admin/audit", renewed["access"]).status_code == 200

    victim = b.register()
    assert a.call("PATCH", f"admin/users/{victim['user']['id']}", admin["access"],
                  json={"is_active": False}).status_code == 200
    assert b.me(victim["access"]) == 401


def test_reuse_detected_in_one_process_kills_the_family_in_the_other(nodes):
    a, b = nodes
    first = a.register()
    second = a.call("POST", "refresh", json={"refresh": first["refresh"]}).json()
    assert b.call("POST", "refresh", json={"refresh": first["refresh"]}).status_code == 409  # a race: spared
    second = a.call("POST", "refresh", json={"refresh": second["refresh"]}).json()
    assert b.call("POST", "refresh", json={"refresh": first["refresh"]}).status_code == 401  # two back: reuse
    assert a.me(second["access"]) == 401
    assert a.call("POST", "refresh", json={"refresh": second["refresh"]}).status_code == 401


def test_concurrent_refreshes_in_two_processes_have_one_winner(nodes):
    a, b = nodes
    session = a.register()
    barrier = threading.Barrier(2)
    statuses = []

    def refresh(node):
        barrier.wait()
        statuses.append(node.call("POST", "refresh", json={"refresh": session["refresh"]}).status_code)

    threads = [threading.Thread(target=refresh, args=(node,)) for node in (a, b)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(statuses) == [200, 409]


def test_login_limit_is_shared_by_both_processes_and_spoofing_does_not_dodge_it(nodes):
    a, b = nodes
    email = unique_email()
    Node(a.url, client_ip="198.51.100.1").register(email)  # registered from another client

    for n in range(LIMIT):
        node = (a, b)[n % 2]
        spoofed = {"X-Forwarded-For": f"10.{n}.{n}.{n}, 203.0.113.50"}  # varying left-most value
        response = node.call("POST", "login", json={"email": email, "password": PASSWORD}, headers=spoofed)
        assert response.status_code == 200, (n, response.text)
    limited = b.call("POST", "login", json={"email": email, "password": PASSWORD},
                     headers={"X-Forwarded-For": "9.9.9.9, 203.0.113.50"})
    assert limited.status_code == 429
    assert limited.json()["error"]["code"] == "rate_limited"
    assert 1 <= int(limited.headers["Retry-After"]) <= 60
    # a different real client (as nginx reports it) is not affected
    other = a.call("POST", "login", json={"email": email, "password": PASSWORD},
                   headers={"X-Forwarded-For": "203.0.113.51"})
    assert other.status_code == 200


def test_redis_outage_is_503_for_authenticated_requests_and_public_ones_keep_working(mongo_uri, tmp_path):
    redis = PrivateRedis(tmp_path).start()
    env = {"MONGODB_URI": mongo_uri, "REDIS_URL": redis.url, "REDIS_ENABLED": "true"}
    try:
        with Gunicorn(env, name="accounts-redis-outage") as web:
            node = Node(web.url)
            session = node.register()
            assert node.me(session["access"]) == 200
            assert node.call("POST", "logout", session["access"]).status_code == 204
            revoked = session["access"]
            fresh = node.login(session["user"]["email"])

            redis.stop()
            for token in (fresh["access"], revoked):
                started = time.monotonic()
                response = node.call("GET", "me", token)
                assert time.monotonic() - started < 2
                assert response.status_code == 503, response.text
                assert response.json()["error"]["code"] == "service_unavailable"
            # public endpoints keep working without the store
            assert requests.get(f"{web.url}/healthz", timeout=5).status_code == 200
            assert requests.get(f"{web.url}/api/schema/", timeout=10).status_code == 200
            anonymous = node.call("GET", "me")
            assert anonymous.status_code == 401
            health = requests.get(f"{web.url}/health", timeout=5).json()
            assert health["checks"]["redis:security"]["status"] == "fail"
    finally:
        redis.stop()
