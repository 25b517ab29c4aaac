"""Fixtures of the abuse-case tests: callers with real tokens (signals, users) and real accounts (accounts)."""
from __future__ import annotations

import pytest

from tests.accounts.conftest import Accounts

# The signals suite's callers and cache reset, shared as fixtures (one definition, two suites); BASE, VALID and
# Caller are re-exported for the modules here.
from tests.signals.conftest import (  # noqa: F401
    BASE,
    VALID,
    Caller,
    admin,
    anonymous,
    fresh_cache_service,
    make_caller,
    other,
    owner,
)


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
