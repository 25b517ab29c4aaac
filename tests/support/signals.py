"""The trade-signals API as tests drive it: its path, a valid body, and signals built through the real API."""
from __future__ import annotations

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


def review(admin, signal_id: str, status: str, reason: str | None = "Looks good", **kwargs):
    """An admin's decision on a signal (``PATCH …/status``), returned unchecked: tests assert on refusals too."""
    body = {"status": status}
    if reason is not None:
        body["reason"] = reason
    return admin.send("PATCH", f"{BASE}/{signal_id}/status", body, **kwargs)


def signal_in(status: str, *, owner, admin, reason: str | None = "Reviewed", **overrides) -> dict:
    """A signal created by ``owner`` and, unless ``status`` is ``pending``, reviewed into ``status`` by
    ``admin``: the signal as the last call returned it."""
    signal = owner.create(**overrides)
    if status == "pending":
        return signal
    response = review(admin, signal["id"], status, reason=reason)
    assert response.status_code == 200, response.content
    return response.json()
