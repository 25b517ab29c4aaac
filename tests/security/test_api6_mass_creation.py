"""API6:2023 Unrestricted Access to Sensitive Business Flows — creating trade signals is budgeted per user
(``SIGNAL_CREATE_RATE_MAX`` per ``SIGNAL_CREATE_RATE_WINDOW``, default 100 per hour), so one account cannot
flood the review queue; over the budget is 429 with Retry-After.

Posting in the discussions is budgeted per user the same way: threads (``DISCUSSION_THREAD_RATE_MAX``),
comments in forum and signal threads together (``DISCUSSION_COMMENT_RATE_MAX``) and reports
(``DISCUSSION_REPORT_RATE_MAX``), each per its ``_WINDOW`` (default one hour), 429 with Retry-After beyond it.

Account creation is the other mass flow: registrations per client IP (``REGISTER_RATE_LIMIT_MAX``) and login
attempts are limited and proven in tests/accounts/test_rate_limits.py; the counters live in Redis, so every
instance enforces one budget (tests/accounts/test_multiprocess.py).
"""
from __future__ import annotations

import pytest

from tests.support.discussions import BASE as DISCUSSIONS
from tests.support.discussions import approved_signal, comment, start_thread, text
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


# --- discussions ------------------------------------------------------------------------------------------------

POSTING = 3


@pytest.fixture
def posting(settings):
    for kind in ("THREAD", "COMMENT", "REPORT"):
        setattr(settings, f"DISCUSSION_{kind}_RATE_MAX", POSTING)
        setattr(settings, f"DISCUSSION_{kind}_RATE_WINDOW", 3600)
    return POSTING


def _thread_body() -> dict:
    return {"title": "Breakout retest", "body": text("Where does the stop go?")}


def _assert_limited(response, noun: str) -> None:
    error = assert_error(response, 429, "rate_limited")
    assert noun in error["message"], error
    assert 1 <= int(response["Retry-After"]) <= 3600


def test_the_posting_budgets_are_documented_settings_with_bounded_defaults():
    from settings import base

    for kind, ceiling in (("THREAD", 100), ("COMMENT", 1000), ("REPORT", 1000)):
        assert 1 <= getattr(base, f"DISCUSSION_{kind}_RATE_MAX") <= ceiling
        assert getattr(base, f"DISCUSSION_{kind}_RATE_WINDOW") >= 60


def test_threads_past_the_budget_are_429_with_retry_after(owner, other, admin, posting):
    for _ in range(posting):
        start_thread(owner)
    _assert_limited(owner.send("POST", DISCUSSIONS, _thread_body()), "threads")
    assert len([t for t in admin.get(DISCUSSIONS).json()["results"] if t["author_id"] == owner.user_id]) == posting
    assert other.send("POST", DISCUSSIONS, _thread_body()).status_code == 201  # per user


def test_comments_in_forum_and_signal_threads_share_one_budget(owner, other, admin, posting):
    thread = start_thread(other)
    signal = approved_signal(owner=other, admin=admin)
    for _ in range(posting - 1):
        comment(owner, thread["id"])
    under = owner.send("POST", f"{DISCUSSIONS}/signals/{signal['id']}/comments", {"body": text()})
    assert under.status_code == 201, under.content
    for path in (f"{DISCUSSIONS}/{thread['id']}/comments", f"{DISCUSSIONS}/signals/{signal['id']}/comments"):
        _assert_limited(owner.send("POST", path, {"body": text()}), "comments")
    assert len(admin.get(f"{DISCUSSIONS}/{thread['id']}/comments").json()["results"]) == posting - 1
    assert other.send("POST", f"{DISCUSSIONS}/{thread['id']}/comments", {"body": text()}).status_code == 201


def test_reports_past_the_budget_are_429(owner, other, admin, make_caller, posting):
    thread = start_thread(other)
    replies = [comment(make_caller("user"), thread["id"]) for _ in range(posting + 1)]
    for reply in replies[:posting]:
        assert owner.send("POST", f"{DISCUSSIONS}/comments/{reply['id']}/report",
                          {"reason": "Spam"}).status_code == 202
    _assert_limited(owner.send("POST", f"{DISCUSSIONS}/comments/{replies[-1]['id']}/report", {"reason": "Spam"}),
                    "reports")
    assert len(admin.get(f"{DISCUSSIONS}/reports").json()["results"]) == posting


def test_the_posting_budget_is_per_user_not_per_token(owner, make_caller, posting):
    thread = start_thread(owner)
    for _ in range(posting):
        comment(owner, thread["id"])
    second_device = make_caller("user", user_id=owner.user_id)
    assert second_device.send("POST", f"{DISCUSSIONS}/{thread['id']}/comments", {"body": text()}).status_code == 429
    assert second_device.send("POST", DISCUSSIONS, _thread_body()).status_code == 201  # a budget per kind


def test_invalid_posts_edits_and_reads_do_not_use_the_posting_budget(owner, posting):
    thread = start_thread(owner)
    path = f"{DISCUSSIONS}/{thread['id']}/comments"
    for _ in range(10):
        assert owner.send("POST", path, {"body": " "}).status_code == 400
        assert owner.send("POST", DISCUSSIONS, {"title": "x"}).status_code == 400
    reply = comment(owner, thread["id"])
    for index in range(posting + 2):
        edited = owner.send("PATCH", f"{path}/{reply['id']}", {"body": f"Edit {index}"})
        assert edited.status_code == 200, edited.content
        assert owner.send("PATCH", f"{DISCUSSIONS}/{thread['id']}", {"title": f"Edit {index}"}).status_code == 200
        assert owner.get(path).status_code == 200
    for _ in range(posting - 1):
        comment(owner, thread["id"])
    for _ in range(posting - 1):
        start_thread(owner)
