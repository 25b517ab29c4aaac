"""Verified-token memo: repeated requests skip re-verification, and nothing it remembers weakens a check."""
import time

import pytest

from tests.support.tokens import make_token
from tradesignals.kernel import tokens
from tradesignals.kernel.errors import TokenInvalid
from tradesignals.kernel.lru import BoundedLRU


@pytest.fixture(autouse=True)
def empty_memo():
    tokens.verified_tokens.clear()
    yield
    tokens.verified_tokens.clear()


def test_second_verification_is_served_from_the_memo(monkeypatch):
    raw = make_token("u1")
    first = tokens.verify(raw)
    monkeypatch.setattr(tokens.TokenBackend, "decode", lambda *a, **k: pytest.fail("decoded twice"))
    assert tokens.verify(raw) == first


def test_expiry_is_rechecked_on_every_hit(settings, monkeypatch):
    raw = make_token("u1", ttl=60)
    claims = tokens.verify(raw)
    monkeypatch.setattr(tokens.time, "time", lambda: claims["exp"] + settings.JWT_LEEWAY_SECONDS + 1)
    with pytest.raises(tokens.TokenExpired):
        tokens.verify(raw)


def test_type_is_rechecked_on_every_hit():
    raw = make_token("u1", token_type="refresh")
    assert tokens.verify(raw, expected_type=tokens.REFRESH)["token_type"] == "refresh"
    with pytest.raises(TokenInvalid):
        tokens.verify(raw)  # a refresh token is never an access token, memo or not


def test_a_new_secret_does_not_reuse_what_the_old_one_verified(settings):
    raw = make_token("u1")
    tokens.verify(raw)
    settings.JWT_SECRET = "another-secret-of-enough-length-0123456789"
    with pytest.raises(TokenInvalid):
        tokens.verify(raw)


def test_a_tampered_token_is_never_a_hit():
    raw = make_token("u1")
    tokens.verify(raw)
    header, payload, signature = raw.split(".")
    with pytest.raises(TokenInvalid):
        tokens.verify(f"{header}.{payload}.{signature[:-2]}AA")


def test_memo_is_bounded():
    memo = BoundedLRU(size=3)
    for i in range(5):
        memo.put((str(i),), {"exp": time.time() + 60})
    assert memo.get(("0",)) is None and memo.get(("4",)) is not None
