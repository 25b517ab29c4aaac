"""Fault-injection tests call real gunicorns over HTTP: a valid signal, timed calls, and an approved signal."""
from __future__ import annotations

import time

import requests

from tests.support.tokens import bearer, make_token

SIGNAL = {"symbol": "BTC/USDT", "direction": "long", "entry_price": "64000.10", "stop_loss": "63000",
          "take_profit": "66000.50", "timeframe": "4h", "rationale": "Breakout above the weekly range."}


def timed(method: str, url: str, **kwargs) -> tuple[requests.Response, float]:
    started = time.monotonic()
    response = requests.request(method, url, timeout=15, **kwargs)
    return response, time.monotonic() - started


def seed_approved_signal(base_url: str) -> tuple[str, str]:
    """A signal created by a user and approved by an admin through the real API: (signal id, owner token)."""
    owner = make_token(role="user", name="Fault Owner")
    admin = make_token(role="admin", name="Fault Admin")
    created = requests.post(f"{base_url}/api/v1/trade-signals", json=SIGNAL, headers=bearer(owner, wsgi=False),
                            timeout=10)
    assert created.status_code == 201, created.text
    signal_id = created.json()["id"]
    reviewed = requests.patch(f"{base_url}/api/v1/trade-signals/{signal_id}/status",
                              json={"status": "approved", "reason": "ok"}, headers=bearer(admin, wsgi=False),
                              timeout=10)
    assert reviewed.status_code == 200, reviewed.text
    return signal_id, owner
