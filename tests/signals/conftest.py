"""Fixtures of the signals tests: callers with real tokens, helpers that go through the real API."""
from __future__ import annotations

import json
import uuid

import pytest

from tests.support.tokens import make_token

BASE = "/api/v1/trade-signals"

VALID = {
    "symbol": "btc/usdt",
    "direction": "long",
    "entry_price": "64000.10",
    "stop_loss": "63000",
    "take_profit": "66000.50",
    "timeframe": "4h",
    "rationale": "Breakout above the weekly range with rising volume.",
}


class Caller:
    """Someone calling the API: anonymous, a user or an admin, with a real signed access token."""

    def __init__(self, client, *, role: str | None, name: str = "Test User", user_id: str | None = None):
        self.client = client
        self.role = role
        self.user_id = user_id or uuid.uuid4().hex[:24]
        self.name = name
        self.token = make_token(self.user_id, role=role, name=name) if role else None

    def _headers(self, headers: dict | None) -> dict:
        extra = {f"HTTP_{k.upper().replace('-', '_')}": v for k, v in (headers or {}).items()}
        if self.token:
            extra["HTTP_AUTHORIZATION"] = f"Bearer {self.token}"
        return extra

    def get(self, path: str, headers: dict | None = None, **params):
        return self.client.get(path, params or None, **self._headers(headers))

    def send(self, method: str, path: str, body=None, headers: dict | None = None, raw: str | None = None):
        data = raw if raw is not None else (json.dumps(body) if body is not None else None)
        call = getattr(self.client, method.lower())
        return call(path, data=data, content_type="application/json", **self._headers(headers))

    def create(self, **overrides):
        body = {**VALID, **overrides}
        response = self.send("POST", BASE, body)
        assert response.status_code == 201, response.content
        return response.json()


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


def review(admin: Caller, signal_id: str, status: str, reason: str | None = "Looks good", **kwargs):
    body = {"status": status}
    if reason is not None:
        body["reason"] = reason
    return admin.send("PATCH", f"{BASE}/{signal_id}/status", body, **kwargs)
