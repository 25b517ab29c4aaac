"""Refresh rotation with reuse detection, logout, logout-all, password change, sessions — durable and immediate."""
import threading

import jwt

from apps.accounts.models import AuditEntry, Session
from tests.support.accounts import PASSWORD, unique_email


def claims(token: str) -> dict:
    return jwt.decode(token, options={"verify_signature": False})


def test_refresh_rotates_the_pair_within_the_family(accounts):
    first = accounts.register()
    response = accounts.post("refresh", {"refresh": first["refresh"]})
    assert response.status_code == 200
    second = response.json()
    assert set(second) == {"access", "refresh"}
    assert second["refresh"] != first["refresh"] and second["access"] != first["access"]
    assert claims(second["refresh"])["fam"] == claims(first["refresh"])["fam"]
    assert accounts.me(second["access"]).status_code == 200
    # and the new refresh token rotates again
    assert accounts.post("refresh", {"refresh": second["refresh"]}).status_code == 200


def test_reusing_a_rotated_refresh_token_revokes_the_whole_family(accounts):
    """Two rotations back: no race explains it (a replay of the token just rotated is test_refresh_race's)."""
    first = accounts.register()
    second = accounts.post("refresh", {"refresh": first["refresh"]}).json()
    second = accounts.post("refresh", {"refresh": second["refresh"]}).json()
    other_device = accounts.login(first["user"]["email"])

    reuse = accounts.post("refresh", {"refresh": first["refresh"]})
    assert reuse.status_code == 401 and reuse.json()["error"]["code"] == "token_invalid"

    # every token of that family is dead: the current refresh and the access tokens
    assert accounts.post("refresh", {"refresh": second["refresh"]}).status_code == 401
    assert accounts.me(second["access"]).status_code == 401
    assert accounts.me(first["access"]).status_code == 401
    # another family (another login) is untouched
    assert accounts.me(other_device["access"]).status_code == 200
    entry = AuditEntry.objects(type="refresh_reuse_detected").get()
    assert entry.user_id == first["user"]["id"] and entry.details["session_id"] == claims(first["refresh"])["fam"]


def test_two_concurrent_refreshes_with_one_token_have_exactly_one_winner(accounts):
    """The loser is told it raced (409), not treated as a thief."""
    from rest_framework.test import APIClient

    session = accounts.register()
    barrier = threading.Barrier(2)
    statuses = []

    def refresh():
        client = APIClient()
        barrier.wait()
        statuses.append(client.post("/api/v1/auth/refresh", {"refresh": session["refresh"]}, format="json")
                        .status_code)

    threads = [threading.Thread(target=refresh) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(statuses) == [200, 409]


def test_logout_revokes_this_access_token_and_its_family(accounts):
    session = accounts.register()
    other = accounts.login(session["user"]["email"])
    response = accounts.post("logout", token=session["access"])
    assert response.status_code == 204
    assert accounts.me(session["access"]).status_code == 401
    assert accounts.post("refresh", {"refresh": session["refresh"]}).status_code == 401
    assert accounts.me(other["access"]).status_code == 200


def test_logout_all_revokes_every_session_of_the_caller_only(accounts):
    one = accounts.register()
    two = accounts.login(one["user"]["email"])
    stranger = accounts.register()
    assert accounts.post("logout-all", token=one["access"]).status_code == 204
    for token in (one["access"], two["access"]):
        assert accounts.me(token).status_code == 401
    for token in (one["refresh"], two["refresh"]):
        assert accounts.post("refresh", {"refresh": token}).status_code == 401
    assert accounts.me(stranger["access"]).status_code == 200
    fresh = accounts.login(one["user"]["email"])  # a new login works again
    assert accounts.me(fresh["access"]).status_code == 200


def test_password_change_revokes_other_sessions_and_keeps_this_one_renewable(accounts):
    email = unique_email()
    here = accounts.register(email=email)
    elsewhere = accounts.login(email)
    new_password = "saffron-glacier-orbit-77"
    response = accounts.post("password", {"current_password": PASSWORD, "new_password": new_password},
                             token=here["access"])
    assert response.status_code == 204
    # tokens older than the change fail everywhere, including this access token
    assert accounts.me(here["access"]).status_code == 401
    assert accounts.me(elsewhere["access"]).status_code == 401
    assert accounts.post("refresh", {"refresh": elsewhere["refresh"]}).status_code == 401
    # this session renews into the new epoch
    renewed = accounts.post("refresh", {"refresh": here["refresh"]})
    assert renewed.status_code == 200 and accounts.me(renewed.json()["access"]).status_code == 200
    # the old password no longer logs in; the new one does
    assert accounts.post("login", {"email": email, "password": PASSWORD}).status_code == 401
    assert accounts.login(email, new_password)["user"]["email"] == email


def test_password_change_with_a_wrong_current_password_is_400(accounts):
    session = accounts.register()
    response = accounts.post("password", {"current_password": "wrong-password-123", "new_password": "x" * 20},
                             token=session["access"])
    assert response.status_code == 400
    assert "current_password" in response.json()["error"]["details"]
    assert accounts.me(session["access"]).status_code == 200  # nothing was revoked


def test_password_change_validates_the_new_password(accounts):
    session = accounts.register()
    response = accounts.post("password", {"current_password": PASSWORD, "new_password": "password1234"},
                             token=session["access"])
    assert response.status_code == 400 and "new_password" in response.json()["error"]["details"]


def test_sessions_lists_own_live_sessions_with_device_and_ip(accounts):
    email = unique_email()
    first = accounts.register(email=email)
    second = accounts.login(email, HTTP_USER_AGENT="Firefox/140 (test)", REMOTE_ADDR="10.1.2.3")
    accounts.register()  # someone else's session is not listed
    response = accounts.get("sessions", second["access"])
    assert response.status_code == 200
    body = response.json()
    assert body["next"] is None
    rows = body["results"]
    assert [row["id"] for row in rows] == [claims(second["refresh"])["fam"], claims(first["refresh"])["fam"]]
    assert rows[0]["device"] == "Firefox/140 (test)" and rows[0]["ip"] == "10.1.2.3" and rows[0]["current"] is True
    assert rows[1]["current"] is False
    assert set(rows[0]) == {"id", "device", "ip", "created_at", "last_used_at", "expires_at", "current"}


def test_sessions_paginate_with_a_cursor(accounts):
    email = unique_email()
    session = accounts.register(email=email)
    for _ in range(3):
        accounts.login(email)
    page = accounts.get("sessions?limit=3", session["access"]).json()
    assert len(page["results"]) == 3 and page["next"]
    rest = accounts.client.get(page["next"], HTTP_AUTHORIZATION=f"Bearer {session['access']}").json()
    assert len(rest["results"]) == 1 and rest["next"] is None
    ids = [row["id"] for row in page["results"] + rest["results"]]
    assert len(set(ids)) == 4
    assert accounts.get("sessions?limit=0", session["access"]).status_code == 400
    assert accounts.get("sessions?cursor=forged", session["access"]).status_code == 400


def test_deleting_a_session_ends_it(accounts):
    email = unique_email()
    here = accounts.register(email=email)
    there = accounts.login(email)
    family = claims(there["refresh"])["fam"]
    response = accounts.client.delete(f"/api/v1/auth/sessions/{family}", HTTP_AUTHORIZATION=f"Bearer {here['access']}")
    assert response.status_code == 204
    assert accounts.me(there["access"]).status_code == 401
    assert accounts.post("refresh", {"refresh": there["refresh"]}).status_code == 401
    assert accounts.me(here["access"]).status_code == 200
    assert [row["id"] for row in accounts.get("sessions", here["access"]).json()["results"]] == \
        [claims(here["refresh"])["fam"]]


def test_someone_elses_session_is_404(accounts):
    mine = accounts.register()
    theirs = accounts.register()
    family = claims(theirs["refresh"])["fam"]
    response = accounts.client.delete(f"/api/v1/auth/sessions/{family}", HTTP_AUTHORIZATION=f"Bearer {mine['access']}")
    assert response.status_code == 404
    assert accounts.me(theirs["access"]).status_code == 200


def test_sessions_have_a_ttl_index_on_expiry():
    indexes = Session._get_collection().index_information()
    ttl = [spec for spec in indexes.values() if "expireAfterSeconds" in spec]
    assert ttl and ttl[0]["key"] == [("expires_at", 1)] and ttl[0]["expireAfterSeconds"] == 0


def test_refresh_is_refused_for_a_deactivated_user_and_revoked_tokens_stay_revoked(accounts):
    session = accounts.register()
    admin = accounts.make_admin()
    user_id = session["user"]["id"]
    patch = accounts.client.patch(f"/api/v1/auth/admin/users/{user_id}", {"is_active": False}, format="json",
                                  HTTP_AUTHORIZATION=f"Bearer {admin['access']}")
    assert patch.status_code == 200 and patch.json()["is_active"] is False
    assert accounts.me(session["access"]).status_code == 401
    assert accounts.post("refresh", {"refresh": session["refresh"]}).status_code == 401
    # reactivation does not resurrect old tokens; a new login works
    accounts.client.patch(f"/api/v1/auth/admin/users/{user_id}", {"is_active": True}, format="json",
                          HTTP_AUTHORIZATION=f"Bearer {admin['access']}")
    assert accounts.me(session["access"]).status_code == 401
    assert accounts.me(accounts.login(session["user"]["email"])["access"]).status_code == 200
