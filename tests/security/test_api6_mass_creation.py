"""API6:2023 Unrestricted Access to Sensitive Business Flows — creating trade signals is budgeted per user
(``SIGNAL_CREATE_RATE_MAX`` per ``SIGNAL_CREATE_RATE_WINDOW``, default 100 per hour), so one account cannot
flood the review queue; over the budget is 429 with Retry-After.

Account creation is the other mass flow: registrations per client IP (``REGISTER_RATE_LIMIT_MAX``) and login
attempts are limited and proven in tests/accounts/test_rate_limits.py; the counters live in Redis, so every
instance enforces one budget (tests/accounts/test_multiprocess.py).
"""
from __future__ import annotations

import pytest

from tests.support.errors import assert_error
from tests.support.signals import BASE, VALID


@pytest.fixture
def budget(settings):
    settings.SIGNAL_CREATE_RATE_MAX = 3
    settings.SIGNAL_CREATE_RATE_WINDOW = 3600
    return 3


def test_the_budget_is_a_documented_setting_with_a_bounded_default():
    from settings import base

    assert 1 <= base.SIGNAL_CREATE_RATE_MAX <= 1000 and base.SIGNAL_CREATE_RATE_WINDOW >= 60


def test_creating_past_the_budget_is_429_with_retry_after(owner, budget):
    for _ in range(budget):
        owner.create()
    response = owner.send("POST", BASE, VALID)
    error = assert_error(response, 429, "rate_limited")
    assert "signals" in error["message"]
    assert 1 <= int(response["Retry-After"]) <= 3600
    assert len(owner.get(BASE).json()["results"]) == budget


def test_the_budget_is_per_user(owner, other, budget):
    for _ in range(budget):
        owner.create()
    assert owner.send("POST", BASE, VALID).status_code == 429
    assert other.send("POST", BASE, VALID).status_code == 201


def test_the_budget_is_per_user_not_per_token(owner, make_caller, budget):
    """A second login (another token of the same user) does not reset the budget."""
    for _ in range(budget):
        owner.create()
    second_device = make_caller("user", user_id=owner.user_id)
    assert second_device.send("POST", BASE, VALID).status_code == 429


def test_invalid_requests_do_not_use_the_budget(owner, budget):
    for _ in range(10):
        assert owner.send("POST", BASE, {**VALID, "direction": "sideways"}).status_code == 400
    for _ in range(budget):
        owner.create()


def test_edits_and_reads_are_not_creations(owner, budget):
    signal = owner.create()
    for index in range(budget + 2):
        assert owner.send("PATCH", f"{BASE}/{signal['id']}", {"rationale": f"Edit {index}."}).status_code == 200
        assert owner.get(BASE).status_code == 200
    owner.create()
