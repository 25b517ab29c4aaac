"""Fixtures of the abuse-case tests: callers with real tokens (signals, users) and real accounts (accounts)."""
from __future__ import annotations

import pytest

from tests.accounts.conftest import Accounts
from tests.signals.conftest import BASE, VALID, Caller  # noqa: F401 - re-exported for the modules here


@pytest.fixture(autouse=True)
def fresh_cache_service():
    from tradesignals.kernel.cache import get_cache, reset_cache

    reset_cache()
    get_cache().reset_state()
    yield
    reset_cache()


@pytest.fixture
def make_caller():
    from django.test import Client

    def make(role: str | None = "user", **kwargs) -> Caller:
        return Caller(Client(), role=role, **kwargs)

    return make


@pytest.fixture
def owner(make_caller):
    return make_caller("user", name="Olivia Owner")


@pytest.fixture
def other(make_caller):
    return make_caller("user", name="Otto Other")


@pytest.fixture
def admin(make_caller):
    return make_caller("admin", name="Ada Admin")


@pytest.fixture
def anonymous(make_caller):
    return make_caller(None)


@pytest.fixture
def accounts(api_client) -> Accounts:
    return Accounts(api_client)


def assert_error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content[:500]
    assert response["Content-Type"].startswith("application/json"), response["Content-Type"]
    error = response.json()["error"]
    assert error["code"] == code, error
    assert error["request_id"] == response["X-Request-ID"]
    return error
