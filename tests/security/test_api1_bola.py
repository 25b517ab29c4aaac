"""API1:2023 Broken Object Level Authorization — on every route that takes an object id, a caller reaches only
the objects they may: others' private objects are 404 (their existence is not revealed), visible-but-not-theirs
objects refuse changes with 403, and nothing changes either way.

The id routes are enumerated from the URL resolver; ``test_every_id_route_has_a_case`` fails when a new one
appears without a case below.
"""
from __future__ import annotations

import pytest

from tests.security.routes import all_routes, api_operations
from tests.support.errors import assert_error
from tests.support.signals import BASE, review

COVERED = {
    ("GET", "/api/v1/trade-signals/{signal_id}"): "test_signal_detail_*",
    ("PATCH", "/api/v1/trade-signals/{signal_id}"): "test_signal_edit_*",
    ("DELETE", "/api/v1/trade-signals/{signal_id}"): "test_signal_delete_*",
    ("PATCH", "/api/v1/trade-signals/{signal_id}/status"): "test_signal_review_by_a_user",
    ("DELETE", "/api/v1/auth/sessions/{session_id}"): "test_session_of_another_user",
    ("PATCH", "/api/v1/auth/admin/users/{user_id}"): "test_admin_user_update_by_a_user",
    ("GET", "/api/v1/users/{user_id}"): "test_public_profile_of_another_user",
    ("GET", "/console/signals/{signal_id}/"): "test_console_signal_page_by_a_user",
}


def test_every_id_route_has_a_case():
    found = {(method, path) for method, path, _ in api_operations() if "{" in path}
    found |= {("GET", route.path) for route in all_routes() if route.path.startswith("/console/") and "{" in route.path}
    assert found == set(COVERED)


# --- trade signals -----------------------------------------------------------------------------------------

@pytest.fixture
def pending(owner):
    return owner.create()


@pytest.fixture
def approved(owner, admin):
    signal = owner.create(symbol="ETH/USDT")
    assert review(admin, signal["id"], "approved").status_code == 200
    return owner.get(f"{BASE}/{signal['id']}").json()


@pytest.fixture
def rejected(owner, admin):
    signal = owner.create(symbol="SOL/USDT")
    assert review(admin, signal["id"], "rejected", reason="Stop too tight").status_code == 200
    return owner.get(f"{BASE}/{signal['id']}").json()


@pytest.mark.parametrize("state", ["pending", "rejected"])
def test_signal_detail_of_another_user_is_404_unless_approved(request, other, anonymous, state):
    signal = request.getfixturevalue(state)
    for caller in (other, anonymous):
        assert_error(caller.get(f"{BASE}/{signal['id']}"), 404, "not_found")


def test_signal_detail_approved_is_public_without_history(approved, other, anonymous, owner):
    for caller in (other, anonymous):
        body = caller.get(f"{BASE}/{approved['id']}").json()
        assert body["id"] == approved["id"] and "history" not in body
    assert "history" in owner.get(f"{BASE}/{approved['id']}").json()


def test_signal_detail_from_a_cache_warmed_by_the_owner_is_still_404(pending, owner, other):
    assert owner.get(f"{BASE}/{pending['id']}").status_code == 200  # the owner's read fills the cache
    assert_error(other.get(f"{BASE}/{pending['id']}"), 404, "not_found")


@pytest.mark.parametrize("state,status", [("pending", 404), ("rejected", 404), ("approved", 403)])
def test_signal_edit_by_another_user_is_refused_and_changes_nothing(request, owner, other, state, status):
    signal = request.getfixturevalue(state)
    before = owner.get(f"{BASE}/{signal['id']}").json()
    response = other.send("PATCH", f"{BASE}/{signal['id']}", {"rationale": "Hijacked."})
    assert_error(response, status, "not_found" if status == 404 else "permission_denied")
    assert owner.get(f"{BASE}/{signal['id']}").json() == before


def test_signal_edit_by_an_admin_is_refused(pending, admin, owner):
    """Admins review and delete; only the owner edits the content."""
    response = admin.send("PATCH", f"{BASE}/{pending['id']}", {"rationale": "Admin rewrite."})
    assert_error(response, 403, "permission_denied")
    assert owner.get(f"{BASE}/{pending['id']}").json()["rationale"] == pending["rationale"]


@pytest.mark.parametrize("state,status", [("pending", 404), ("approved", 403)])
def test_signal_delete_by_another_user_is_refused(request, owner, other, state, status):
    signal = request.getfixturevalue(state)
    assert other.send("DELETE", f"{BASE}/{signal['id']}").status_code == status
    assert owner.get(f"{BASE}/{signal['id']}").status_code == 200


def test_signal_delete_by_anonymous_is_401(pending, anonymous, owner):
    assert_error(anonymous.send("DELETE", f"{BASE}/{pending['id']}"), 401, "not_authenticated")
    assert owner.get(f"{BASE}/{pending['id']}").status_code == 200


def test_signal_review_by_a_user_is_403(pending, other, owner):
    for caller in (other, owner):
        assert review(caller, pending["id"], "approved").status_code == 403
    assert owner.get(f"{BASE}/{pending['id']}").json()["status"] == "pending"


def test_signal_ids_from_another_list_do_not_leak_through_filters(pending, other, admin):
    """The own list is always the caller's: an owner_id filter is not honoured there."""
    mine = other.get(BASE, owner_id=pending["owner_id"]).json()["results"]
    assert mine == []
    assert [s["id"] for s in admin.get(f"{BASE}/admin", owner_id=pending["owner_id"]).json()["results"]] == [
        pending["id"]]


# --- accounts ------------------------------------------------------------------------------------------------

def test_session_of_another_user_cannot_be_ended(accounts):
    victim = accounts.register()
    attacker = accounts.register()
    sessions = accounts.get("sessions", victim["access"]).json()["results"]
    victim_session = sessions[0]["id"]
    response = accounts.client.delete(f"/api/v1/auth/sessions/{victim_session}",
                                      HTTP_AUTHORIZATION=f"Bearer {attacker['access']}")
    assert_error(response, 404, "not_found")
    assert accounts.me(victim["access"]).status_code == 200
    assert accounts.post("refresh", {"refresh": victim["refresh"]}).status_code == 200
    # the attacker's own list never shows the victim's session
    own = accounts.get("sessions", attacker["access"]).json()["results"]
    assert victim_session not in {s["id"] for s in own}


def test_admin_user_update_by_a_user_is_403_and_changes_nothing(accounts):
    victim = accounts.register()
    attacker = accounts.register()
    response = accounts.client.patch(f"/api/v1/auth/admin/users/{victim['user']['id']}", {"is_active": False},
                                     format="json", HTTP_AUTHORIZATION=f"Bearer {attacker['access']}")
    assert_error(response, 403, "permission_denied")
    assert accounts.me(victim["access"]).status_code == 200


# --- users ----------------------------------------------------------------------------------------------------

def test_public_profile_of_another_user_shows_only_public_fields(accounts, client):
    victim = accounts.register(display_name="Vera Victim")
    attacker = accounts.register()
    response = client.get(f"/api/v1/users/{victim['user']['id']}", HTTP_AUTHORIZATION=f"Bearer {attacker['access']}")
    assert response.status_code == 200
    assert set(response.json()) == {"id", "display_name", "bio", "avatar_url", "approved_signals", "created_at"}


def test_users_me_is_always_the_caller(accounts, client):
    victim = accounts.register(display_name="Vera Victim")
    attacker = accounts.register(display_name="Alex Attacker")
    body = client.get(f"/api/v1/users/me?user_id={victim['user']['id']}",
                      HTTP_AUTHORIZATION=f"Bearer {attacker['access']}").json()
    assert body["id"] == attacker["user"]["id"]


# --- console --------------------------------------------------------------------------------------------------

def test_console_signal_page_by_a_user_is_403(pending, client, settings):
    from tests.support.tokens import make_token

    client.cookies[settings.AUTH_ACCESS_COOKIE] = make_token(pending["owner_id"], role="user")
    assert client.get(f"/console/signals/{pending['id']}/").status_code == 403
