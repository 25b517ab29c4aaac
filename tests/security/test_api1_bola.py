"""API1:2023 Broken Object Level Authorization — on every route that takes an object id, a caller reaches only
the objects they may: others' private objects are 404 (their existence is not revealed), visible-but-not-theirs
objects refuse changes with 403, and nothing changes either way.

The id routes are enumerated from the URL resolver; ``test_every_id_route_has_a_case`` fails when a new one
appears without a case below.
"""
from __future__ import annotations

import pytest
from bson import ObjectId

from tests.security.routes import all_routes, api_operations
from tests.support.discussions import BASE as D
from tests.support.discussions import (
    approved_signal,
    comment,
    hide_comment,
    hide_thread,
    report,
    same_error,
    signal_comment,
    start_thread,
    text,
)
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
    # discussions
    ("GET", f"{D}/{{thread_id}}"): "test_hidden_thread_reads_like_a_missing_one",
    ("PATCH", f"{D}/{{thread_id}}"): "test_thread_edit_and_delete_by_another_user_*",
    ("DELETE", f"{D}/{{thread_id}}"): "test_thread_edit_and_delete_by_another_user_*",
    ("GET", f"{D}/{{thread_id}}/comments"): "test_hidden_thread_reads_like_a_missing_one",
    ("POST", f"{D}/{{thread_id}}/comments"): "test_hidden_thread_reads_like_a_missing_one",
    ("GET", f"{D}/{{thread_id}}/comments/{{comment_id}}"): "test_hidden_comment_reads_like_a_missing_one, "
                                                          "test_a_comment_through_another_thread_*",
    ("PATCH", f"{D}/{{thread_id}}/comments/{{comment_id}}"): "test_comment_edit_and_delete_by_another_user_*",
    ("DELETE", f"{D}/{{thread_id}}/comments/{{comment_id}}"): "test_comment_edit_and_delete_by_another_user_*, "
                                                             "test_the_threads_author_may_delete_*",
    ("POST", f"{D}/{{thread_id}}/hide"): "test_moderation_by_a_user_*",
    ("POST", f"{D}/{{thread_id}}/unhide"): "test_moderation_by_a_user_*",
    ("POST", f"{D}/{{thread_id}}/comments/{{comment_id}}/hide"): "test_moderation_by_a_user_*",
    ("POST", f"{D}/{{thread_id}}/comments/{{comment_id}}/unhide"): "test_moderation_by_a_user_*",
    ("POST", f"{D}/comments/{{comment_id}}/report"): "test_report_*",
    ("POST", f"{D}/reports/{{report_id}}/dismiss"): "test_report_dismiss_by_a_user_is_403",
    ("GET", f"{D}/signals/{{signal_id}}/comments"): "test_signal_comments_of_a_signal_not_approved_*",
    ("POST", f"{D}/signals/{{signal_id}}/comments"): "test_signal_comments_of_a_signal_not_approved_*",
    ("GET", "/console/discussions/threads/{thread_id}/"): "test_console_discussion_pages_by_a_user_are_403",
    ("GET", "/console/discussions/signals/{signal_id}/"): "test_console_discussion_pages_by_a_user_are_403",
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
    assert set(response.json()) == {"id", "display_name", "bio", "avatar_url", "approved_signals", "comments",
                                    "created_at", "track_record"}


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


# --- discussions ------------------------------------------------------------------------------------------------

def _fresh() -> str:
    return str(ObjectId())


@pytest.fixture
def thread(owner):
    return start_thread(owner)


def test_thread_edit_and_delete_by_another_user_are_403_and_change_nothing(thread, owner, other, admin):
    before = owner.get(f"{D}/{thread['id']}").json()
    assert_error(other.send("PATCH", f"{D}/{thread['id']}", {"title": "Hijacked title"}), 403, "permission_denied")
    assert_error(other.send("DELETE", f"{D}/{thread['id']}"), 403, "permission_denied")
    # an administrator deletes (moderation) but never rewrites someone's words
    assert_error(admin.send("PATCH", f"{D}/{thread['id']}", {"title": "Admin rewrite"}), 403, "permission_denied")
    after = owner.get(f"{D}/{thread['id']}").json()
    assert after == before and after["edited_at"] is None


def test_thread_edit_and_delete_by_anonymous_are_401(thread, anonymous, owner):
    assert_error(anonymous.send("PATCH", f"{D}/{thread['id']}", {"title": "Anonymous edit"}), 401,
                 "not_authenticated")
    assert_error(anonymous.send("DELETE", f"{D}/{thread['id']}"), 401, "not_authenticated")
    assert owner.get(f"{D}/{thread['id']}").json()["title"] == thread["title"]


def test_a_signals_thread_is_edited_by_no_one_and_deleted_by_admins_only(owner, other, admin):
    signal = approved_signal(owner=owner, admin=admin)
    thread_id = signal_comment(other, signal["id"])["thread_id"]
    for caller in (owner, other, admin):
        assert_error(caller.send("PATCH", f"{D}/{thread_id}", {"title": "Renamed"}), 403, "permission_denied")
    for caller in (owner, other):
        assert_error(caller.send("DELETE", f"{D}/{thread_id}"), 403, "permission_denied")
    assert other.get(f"{D}/{thread_id}").status_code == 200
    assert admin.send("DELETE", f"{D}/{thread_id}").status_code == 204


def test_hidden_thread_reads_like_a_missing_one(thread, owner, other, anonymous, admin):
    reply = comment(other, thread["id"])
    for caller in (anonymous, owner):  # their pages are cached before the thread is hidden
        assert caller.get(f"{D}/{thread['id']}").status_code == 200
        assert caller.get(f"{D}/{thread['id']}/comments").status_code == 200
    hide_thread(admin, thread["id"])
    assert admin.get(f"{D}/{thread['id']}").json()["hidden"] is True  # the admins' read warms the cache too
    absent = _fresh()
    for caller in (anonymous, other, owner):  # its author included
        for suffix in ("", "/comments", f"/comments/{reply['id']}"):
            hidden = caller.get(f"{D}/{thread['id']}{suffix}")
            missing = caller.get(f"{D}/{absent}{suffix}" if "/comments/" not in suffix
                                 else f"{D}/{absent}/comments/{_fresh()}")
            assert hidden.status_code == 404, (suffix, hidden.content)
            assert same_error(hidden, missing), suffix
        assert thread["id"] not in [t["id"] for t in caller.get(D).json()["results"]]
    for caller in (owner, other):
        posted = caller.send("POST", f"{D}/{thread['id']}/comments", {"body": text()})
        assert same_error(posted, caller.send("POST", f"{D}/{absent}/comments", {"body": text()}))
        assert posted.status_code == 404
        edited = caller.send("PATCH", f"{D}/{thread['id']}", {"title": "Edited while hidden"})
        assert edited.status_code == 404 and same_error(edited, caller.send("PATCH", f"{D}/{absent}",
                                                                            {"title": "Edited while hidden"}))
        deleted = caller.send("DELETE", f"{D}/{thread['id']}")
        assert deleted.status_code == 404 and same_error(deleted, caller.send("DELETE", f"{D}/{absent}"))
    assert admin.get(f"{D}/{thread['id']}").json()["title"] == thread["title"]
    assert [c["id"] for c in admin.get(f"{D}/{thread['id']}/comments").json()["results"]] == [reply["id"]]


def test_hidden_comment_reads_like_a_missing_one(thread, owner, other, anonymous, admin):
    reply = comment(other, thread["id"])
    path = f"{D}/{thread['id']}/comments/{reply['id']}"
    assert anonymous.get(path).status_code == 200
    hide_comment(admin, thread["id"], reply["id"])
    missing_path = f"{D}/{thread['id']}/comments/{_fresh()}"
    for caller in (anonymous, owner, other):  # the comment's author included
        hidden = caller.get(path)
        assert hidden.status_code == 404 and same_error(hidden, caller.get(missing_path))
        assert reply["id"] not in [c["id"] for c in caller.get(f"{D}/{thread['id']}/comments").json()["results"]]
    for method, body in (("PATCH", {"body": text()}), ("DELETE", None)):
        refused = other.send(method, path, body)
        assert refused.status_code == 404 and same_error(refused, other.send(method, missing_path, body))
    assert owner.get(f"{D}/{thread['id']}").json()["comment_count"] == 0
    assert admin.get(path).json()["hidden"] is True


def test_comment_edit_and_delete_by_another_user_are_403_and_change_nothing(thread, owner, other, admin,
                                                                              make_caller):
    reply = comment(other, thread["id"])
    path = f"{D}/{thread['id']}/comments/{reply['id']}"
    stranger = make_caller("user", name="Sam Stranger")
    assert_error(stranger.send("PATCH", path, {"body": "Hijacked"}), 403, "permission_denied")
    assert_error(stranger.send("DELETE", path), 403, "permission_denied")
    # the thread's author and administrators may remove a comment, never rewrite it
    for caller in (owner, admin):
        assert_error(caller.send("PATCH", path, {"body": "Rewritten"}), 403, "permission_denied")
    assert other.get(path).json() == reply


def test_the_threads_author_may_delete_comments_in_their_thread_only(owner, other, make_caller):
    mine, theirs = start_thread(owner), start_thread(other, body=text("A thread of their own"))
    in_mine, in_theirs = comment(other, mine["id"]), comment(other, theirs["id"])
    assert owner.send("DELETE", f"{D}/{mine['id']}/comments/{in_mine['id']}").status_code == 204
    assert_error(owner.send("DELETE", f"{D}/{theirs['id']}/comments/{in_theirs['id']}"), 403, "permission_denied")
    assert other.get(f"{D}/{theirs['id']}/comments/{in_theirs['id']}").status_code == 200


def test_a_comment_through_another_thread_is_404(owner, other):
    """An id from one thread under another thread's path is not found: ids are checked against their parent."""
    first, second = start_thread(owner), start_thread(other, body=text("A thread of their own"))
    reply = comment(other, first["id"])
    crossed = f"{D}/{second['id']}/comments/{reply['id']}"
    missing = f"{D}/{second['id']}/comments/{_fresh()}"
    for method, body in (("GET", None), ("PATCH", {"body": text()}), ("DELETE", None)):
        answer = other.send(method, crossed, body)  # ``other`` wrote the comment and started ``second``
        assert answer.status_code == 404 and same_error(answer, other.send(method, missing, body)), method
    assert owner.get(f"{D}/{first['id']}/comments/{reply['id']}").json() == reply


@pytest.mark.parametrize("action", ["hide", "unhide"])
def test_moderation_by_a_user_is_403_and_changes_nothing(action, thread, owner, other, admin, anonymous):
    reply = comment(other, thread["id"])
    if action == "unhide":
        hide_thread(admin, thread["id"])
        hide_comment(admin, thread["id"], reply["id"])
    before = admin.get(f"{D}/{thread['id']}").json(), admin.get(f"{D}/{thread['id']}/comments").json()
    body = {"reason": "Mine to hide"} if action == "hide" else {}
    for caller in (owner, other):  # the thread's author and the comment's author alike
        for path in (f"{D}/{thread['id']}/{action}", f"{D}/{thread['id']}/comments/{reply['id']}/{action}"):
            assert_error(caller.send("POST", path, body), 403, "permission_denied")
            assert_error(anonymous.send("POST", path, body), 401, "not_authenticated")
    after = admin.get(f"{D}/{thread['id']}").json(), admin.get(f"{D}/{thread['id']}/comments").json()
    assert after == before


def test_report_of_ones_own_comment_is_403(thread, owner, admin):
    mine = comment(owner, thread["id"])
    assert_error(owner.send("POST", f"{D}/comments/{mine['id']}/report", {"reason": "Self report"}), 403,
                 "permission_denied")
    assert admin.get(f"{D}/reports").json()["results"] == []


def test_report_of_hidden_content_reads_like_a_missing_comment(thread, owner, other, admin, make_caller):
    hidden_reply, in_hidden_thread = comment(other, thread["id"]), None
    hide_comment(admin, thread["id"], hidden_reply["id"])
    second = start_thread(other, body=text("Soon hidden"))
    in_hidden_thread = comment(other, second["id"])
    hide_thread(admin, second["id"])
    missing = owner.send("POST", f"{D}/comments/{_fresh()}/report", {"reason": "Spam"})
    assert missing.status_code == 404
    for target in (hidden_reply, in_hidden_thread):
        refused = owner.send("POST", f"{D}/comments/{target['id']}/report", {"reason": "Spam"})
        assert refused.status_code == 404 and same_error(refused, missing)
    assert admin.get(f"{D}/reports").json()["results"] == []


def test_reports_are_read_by_admins_only(thread, owner, other, admin):
    reply = comment(other, thread["id"])
    filed = report(owner, reply["id"])
    assert set(filed) >= {"id", "reporter_id"} and filed["reporter_id"] == owner.user_id
    for caller in (owner, other):  # neither the reporter nor the reported reads the queue
        assert_error(caller.get(f"{D}/reports"), 403, "permission_denied")
    assert [r["id"] for r in admin.get(f"{D}/reports").json()["results"]] == [filed["id"]]


def test_report_dismiss_by_a_user_is_403(thread, owner, other, admin):
    reply = comment(other, thread["id"])
    filed = report(owner, reply["id"])
    for caller in (owner, other):
        assert_error(caller.send("POST", f"{D}/reports/{filed['id']}/dismiss", {}), 403, "permission_denied")
    assert [(r["id"], r["state"]) for r in admin.get(f"{D}/reports").json()["results"]] == [(filed["id"], "open")]


@pytest.mark.parametrize("state", ["pending", "rejected"])
def test_signal_comments_of_a_signal_not_approved_read_like_an_unknown_signal(request, state, owner, other,
                                                                              anonymous):
    signal = request.getfixturevalue(state)
    unknown = f"{D}/signals/{'b' * 24}/comments"
    for caller in (anonymous, other, owner):  # its owner too: no thread before approval
        read = caller.get(f"{D}/signals/{signal['id']}/comments")
        assert read.status_code == 404 and same_error(read, caller.get(unknown))
    for caller in (other, owner):
        posted = caller.send("POST", f"{D}/signals/{signal['id']}/comments", {"body": text()})
        assert posted.status_code == 404 and same_error(posted, caller.send("POST", unknown, {"body": text()}))
    assert other.get(D, signal_id=signal["id"]).json()["results"] == []


@pytest.mark.parametrize("page", ["threads", "signals"])
def test_console_discussion_pages_by_a_user_are_403(page, thread, owner, client, settings):
    from tests.support.tokens import make_token

    target = thread["id"] if page == "threads" else "a" * 24
    client.cookies[settings.AUTH_ACCESS_COOKIE] = make_token(owner.user_id, role="user")
    assert client.get(f"/console/discussions/{page}/{target}/").status_code == 403


def test_a_closed_signal_thread_reads_like_a_missing_one(owner, other, admin, anonymous):
    """The thread under a signal that left the approved set (here: edited back to review) is the admins' only."""
    signal = approved_signal(owner=owner, admin=admin)
    reply = signal_comment(other, signal["id"])
    thread_id = reply["thread_id"]
    assert anonymous.get(f"{D}/{thread_id}/comments").status_code == 200  # cached while open
    assert owner.send("PATCH", f"{BASE}/{signal['id']}", {"rationale": "A new thesis."}).json()["status"] == "pending"
    absent = _fresh()
    for caller in (anonymous, other, owner):  # the signal's owner included
        for suffix in ("", "/comments", f"/comments/{reply['id']}"):
            closed = caller.get(f"{D}/{thread_id}{suffix}")
            missing = caller.get(f"{D}/{absent}{suffix.replace(reply['id'], _fresh())}")
            assert closed.status_code == 404 and same_error(closed, missing), suffix
    assert admin.get(f"{D}/{thread_id}").json()["closed"] is True
