"""Schema fuzzing: schemathesis generates requests for every operation of ``/api/schema/`` (valid and invalid
data) and sends them to a real gunicorn. Every response must be no 5xx, documented (status code, content type,
headers, body — errors included) and faster than 2 s.

Three callers: anonymous, a user and an administrator. Each authenticated case gets a FRESH token from the real
API (a new account registered, or a new admin login), so a generated logout, logout-all, password change or
session deletion ends only its own case. The fuzz server runs with the rate limits raised (a fuzz run is one
client sending thousands of requests); the limits themselves are proven in tests/accounts and tests/security.

Bounded: ``FUZZ_MAX_EXAMPLES`` examples per operation and mode (default 8), about a minute on 2 cores.
"""
from __future__ import annotations

import os
import time
import uuid

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi import checks as openapi_checks

from tests.support.procs import Gunicorn

pytestmark = pytest.mark.cluster

MAX_EXAMPLES = int(os.environ.get("FUZZ_MAX_EXAMPLES", "8"))
MAX_SECONDS = 2.0
PASSWORD = "violet-harbour-lantern-42"
RAISED_LIMITS = {
    "RATE_LIMIT_MAX": "1000000",
    "AUTH_RATE_LIMIT_MAX": "1000000",
    "REGISTER_RATE_LIMIT_MAX": "1000000",
    "LOGIN_ACCOUNT_BURST_MAX": "1000000",
    "LOGIN_ACCOUNT_FAILURE_MAX": "1000000",
    "REFRESH_RATE_LIMIT_MAX": "1000000",
    "SIGNAL_CREATE_RATE_MAX": "1000000",
}
CHECKS = [
    schemathesis.checks.not_a_server_error,
    openapi_checks.status_code_conformance,
    openapi_checks.content_type_conformance,
    openapi_checks.response_headers_conformance,
    openapi_checks.response_schema_conformance,
]


@pytest.fixture(scope="module")
def fuzz_server(mongo_uri, redis_server_url):
    env = {"DJANGO_SETTINGS_MODULE": "tests.fuzz.settings", "MONGODB_URI": mongo_uri, "REDIS_URL": redis_server_url,
           "REDIS_ENABLED": "true", **RAISED_LIMITS}
    server = Gunicorn(env, workers=2, name="fuzz").start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def api_schema(fuzz_server):
    return schemathesis.openapi.from_url(f"{fuzz_server.url}/api/schema/?format=json")


schema = schemathesis.pytest.from_fixture("api_schema")
fuzz_settings = settings(max_examples=MAX_EXAMPLES, deadline=None, derandomize=False, print_blob=True,
                         suppress_health_check=list(HealthCheck))


class Account:
    """One account per mode; every case logs in again, so every case holds a token no other case has seen
    (a generated logout, logout-all, session delete or role change cannot end the next case's session)."""

    def __init__(self, base_url: str, *, admin: bool):
        from apps.accounts import services

        self.base_url = base_url
        self.email = f"fuzz-{'admin' if admin else 'user'}-{uuid.uuid4().hex[:12]}@example.com"
        if admin:
            services.user_create_admin(email=self.email, password=PASSWORD)
        else:
            response = requests.post(f"{base_url}/api/v1/auth/register",
                                     json={"email": self.email, "password": PASSWORD}, timeout=10)
            assert response.status_code == 201, response.text
        self.logins = 0

    def fresh_token(self) -> str:
        response = requests.post(f"{self.base_url}/api/v1/auth/login",
                                 json={"email": self.email, "password": PASSWORD}, timeout=10)
        assert response.status_code == 200, response.text
        self.logins += 1
        return response.json()["access"]


@pytest.fixture
def user_account(fuzz_server):
    return Account(fuzz_server.url, admin=False)


@pytest.fixture
def admin_account(fuzz_server, settings):
    settings.PASSWORD_HASHERS = ["tests.fuzz.hashers.CheapArgon2idHasher"]  # the fuzz server's cost
    return Account(fuzz_server.url, admin=True)


def call_and_check(case, base_url: str, token: str | None) -> None:
    headers = {"Authorization": f"Bearer {token}"} if token else None
    started = time.monotonic()
    response = case.call(base_url=base_url, headers=headers, timeout=10)
    elapsed = time.monotonic() - started
    case.validate_response(response, checks=CHECKS, headers=headers)
    assert elapsed < MAX_SECONDS, f"{case.method} {case.formatted_path} took {elapsed:.2f}s"


@schema.parametrize()
@fuzz_settings
def test_anonymous(case, fuzz_server):
    call_and_check(case, fuzz_server.url, None)


@schema.parametrize()
@fuzz_settings
def test_authenticated_user(case, fuzz_server, user_account):
    call_and_check(case, fuzz_server.url, user_account.fresh_token())


@schema.parametrize()
@fuzz_settings
def test_authenticated_admin(case, fuzz_server, admin_account):
    call_and_check(case, fuzz_server.url, admin_account.fresh_token())
