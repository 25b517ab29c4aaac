"""The product's object pages offer exactly what the services allow: the owner edits and deletes a signal,
an administrator deletes it and reviews it unless it is their own, nobody else is offered a change; a session
is ended only by its user; an administrator changes other accounts only. Real views, real signed tokens."""
from __future__ import annotations

import json
import uuid

from django.test import Client

from tests.browsable.test_renderer import HTML, _Page
from tests.support.tokens import make_token

SIGNAL = {"symbol": "BTC/USDT", "direction": "long", "entry_price": "64000.10", "stop_loss": "63000",
          "take_profit": "66000.50", "timeframe": "4h", "rationale": "Breakout above the weekly range."}


def caller(role: str = "user") -> Client:
    user_id = uuid.uuid4().hex[:24]
    client = Client(HTTP_AUTHORIZATION=f"Bearer {make_token(user_id, role=role, name=role.title())}")
    client.user_id = user_id
    return client


def offered(client: Client, path: str) -> list[str]:
    response = client.get(path, **HTML)
    return sorted(_Page(response.content.decode()).methods)


def create(client: Client) -> str:
    response = client.post("/api/v1/trade-signals", json.dumps(SIGNAL), content_type="application/json")
    assert response.status_code == 201, response.content
    return response.json()["id"]


def test_a_signal_page_offers_what_each_caller_may_do():
    owner, other, admin = caller(), caller(), caller("admin")
    signal = create(owner)
    page = f"/api/v1/trade-signals/{signal}"
    assert offered(owner, page) == ["DELETE", "OPTIONS", "PATCH"]
    assert offered(admin, page) == ["DELETE", "OPTIONS"]  # admins delete, only owners edit
    approved = admin.patch(f"{page}/status", json.dumps({"status": "approved"}), content_type="application/json")
    assert approved.status_code == 200, approved.content
    assert offered(other, page) == ["OPTIONS"]  # visible (approved), not theirs


def test_the_review_form_is_offered_to_another_administrator_only():
    admin, second = caller("admin"), caller("admin")
    own = create(admin)
    assert offered(admin, f"/api/v1/trade-signals/{own}/status") == ["OPTIONS"]  # no self-review
    assert offered(second, f"/api/v1/trade-signals/{own}/status") == ["OPTIONS", "PATCH"]


def test_an_admin_is_offered_changes_to_other_accounts_only():
    admin = caller("admin")
    assert offered(admin, f"/api/v1/auth/admin/users/{admin.user_id}") == ["OPTIONS"]
    assert offered(admin, f"/api/v1/auth/admin/users/{uuid.uuid4().hex[:24]}") == ["OPTIONS", "PATCH"]


def test_a_session_page_offers_delete_only_for_an_own_live_session():
    someone = caller()
    assert offered(someone, f"/api/v1/auth/sessions/{uuid.uuid4().hex[:24]}") == ["OPTIONS"]
