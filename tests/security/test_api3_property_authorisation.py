"""API3:2023 Broken Object Property Level Authorization — a client sets only the fields it may (every
read-only or unknown field is a 400, never silently ignored or, worse, applied), and no response ever carries
a password hash, token internals or storage fields.

The response walk drives every endpoint of the four slices through the real API as user and admin and checks
every JSON body it gets back: no moderation internals anywhere, and ``hidden``/``closed`` (a moderator's view)
only in administrators' answers.
"""
from __future__ import annotations

import json

import pytest

from tests.support.discussions import BASE as DISCUSSIONS
from tests.support.discussions import approved_signal, comment, report, start_thread, text
from tests.support.errors import assert_error
from tests.support.signals import BASE, VALID, review

SIGNAL_READ_ONLY = ["id", "owner_id", "owner_name", "status", "review", "version", "created_at", "updated_at",
                    "risk_reward", "history", "owner_active", "outcome"]
PROFILE_READ_ONLY = ["id", "user_id", "email", "role", "is_active", "created_at", "updated_at", "signal_counts",
                     "approved_signals", "registered"]
FORBIDDEN_KEYS = {"password", "password_hash", "hash", "epoch", "jti", "fam", "family", "ver", "_id", "_cls",
                  "owner_active", "refresh_jti", "secret", "token_hash", "failed_logins"}
FORBIDDEN_TEXT = ("$argon2", "pbkdf2_sha256$", "Traceback", "mongodb://", "redis://")
# Stored moderation state of the discussions: never in any answer, administrators' included.
MODERATION_INTERNALS = {"moderation", "visible", "author_active", "moderation_version", "resolved_by",
                        "resolved_at", "fingerprint"}
# A moderator's view of a thread or comment: administrators only.
ADMIN_ONLY_KEYS = {"hidden", "closed"}

# Every field of a discussions representation, none of which a client sets except as the route says.
THREAD_FIELDS = ["id", "author_id", "author_name", "signal_id", "comment_count", "last_activity_at", "created_at",
                 "edited_at", "hidden", "closed"]
COMMENT_FIELDS = ["id", "thread_id", "author_id", "author_name", "created_at", "edited_at", "hidden"]
REPORT_FIELDS = ["id", "comment_id", "thread_id", "reporter_id", "state", "comment_body", "comment_author_id",
                 "created_at"]


@pytest.mark.parametrize("field", SIGNAL_READ_ONLY)
def test_signal_create_refuses_read_only_fields(owner, field):
    response = owner.send("POST", BASE, {**VALID, field: "approved" if field == "status" else "x"})
    assert assert_error(response, 400, "validation_error")["details"] == {field: ["This field is read-only."]}
    assert owner.get(BASE).json()["results"] == []


@pytest.mark.parametrize("field", SIGNAL_READ_ONLY)
def test_signal_edit_refuses_read_only_fields(owner, field):
    signal = owner.create()
    response = owner.send("PATCH", f"{BASE}/{signal['id']}", {field: "approved" if field == "status" else "x"})
    assert assert_error(response, 400, "validation_error")["details"] == {field: ["This field is read-only."]}
    after = owner.get(f"{BASE}/{signal['id']}").json()
    assert (after["status"], after["version"], after["owner_id"]) == ("pending", signal["version"], owner.user_id)


@pytest.mark.parametrize("field", ["owner", "approved", "is_admin", "__proto__", "$set"])
def test_signal_create_refuses_unknown_fields(owner, field):
    response = owner.send("POST", BASE, {**VALID, field: True})
    assert assert_error(response, 400, "validation_error")["details"] == {field: ["Unknown field."]}


@pytest.mark.parametrize("field", ["owner_id", "by", "version"])
def test_review_refuses_fields_it_does_not_take(owner, admin, field):
    signal = owner.create()
    response = admin.send("PATCH", f"{BASE}/{signal['id']}/status", {"status": "approved", field: "x"})
    assert field in assert_error(response, 400, "validation_error")["details"]
    assert owner.get(f"{BASE}/{signal['id']}").json()["status"] == "pending"


@pytest.mark.parametrize("field", PROFILE_READ_ONLY)
def test_profile_edit_refuses_read_only_fields(owner, field):
    response = owner.send("PATCH", "/api/v1/users/me", {field: "admin" if field == "role" else "x"})
    assert assert_error(response, 400, "validation_error")["details"] == {field: ["This field is read-only."]}
    assert owner.get("/api/v1/users/me").json()["role"] == "user"


@pytest.mark.parametrize("field,value", [("role", "admin"), ("is_active", True), ("id", "x"), ("epoch", 0),
                                         ("email_verified", True)])
def test_register_refuses_fields_it_does_not_take(accounts, field, value):
    body = {"email": "newcomer@example.com", "password": "violet-harbour-lantern-42", field: value}
    response = accounts.post("register", body)
    assert field in assert_error(response, 400, "validation_error")["details"]
    assert accounts.post("login", {"email": "newcomer@example.com", "password": body["password"]}).status_code == 401


def test_admin_user_update_refuses_other_fields(accounts):
    admin = accounts.make_admin()
    target = accounts.register()
    for field, value in (("email", "x@example.com"), ("password", "new-password-123456"), ("epoch", 0)):
        response = accounts.client.patch(f"/api/v1/auth/admin/users/{target['user']['id']}", {field: value},
                                         format="json", HTTP_AUTHORIZATION=f"Bearer {admin['access']}")
        assert field in assert_error(response, 400, "validation_error")["details"]
    assert accounts.me(target["access"]).json()["email"] == target["user"]["email"]


# --- discussions -------------------------------------------------------------------------------------------

def _refused_naming(response, field: str) -> None:
    details = assert_error(response, 400, "validation_error")["details"]
    assert set(details) == {field}, details
    assert details[field] in (["This field is read-only."], ["Unknown field."]), details


def _bogus(field: str):
    return {"hidden": False, "closed": False, "comment_count": 10**6, "state": "dismissed"}.get(field, "x" * 24)


@pytest.mark.parametrize("field", THREAD_FIELDS)
def test_thread_create_and_edit_refuse_read_only_fields(owner, admin, field):
    response = owner.send("POST", DISCUSSIONS, {"title": "Range trading", "body": text("The plan"),
                                                field: _bogus(field)})
    _refused_naming(response, field)
    assert admin.get(DISCUSSIONS).json()["results"] == []
    thread = start_thread(owner)
    _refused_naming(owner.send("PATCH", f"{DISCUSSIONS}/{thread['id']}", {field: _bogus(field)}), field)
    _refused_naming(owner.send("PATCH", f"{DISCUSSIONS}/{thread['id']}", {"title": "Edited", field: _bogus(field)}),
                    field)
    after = admin.get(f"{DISCUSSIONS}/{thread['id']}").json()
    assert (after["title"], after["edited_at"], after["hidden"], after["author_id"]) == (
        thread["title"], None, False, owner.user_id)


@pytest.mark.parametrize("field", COMMENT_FIELDS)
def test_comment_create_and_edit_refuse_read_only_fields(owner, admin, field):
    thread = start_thread(owner)
    signal = approved_signal(owner=owner, admin=admin)
    for path in (f"{DISCUSSIONS}/{thread['id']}/comments", f"{DISCUSSIONS}/signals/{signal['id']}/comments"):
        _refused_naming(owner.send("POST", path, {"body": text(), field: _bogus(field)}), field)
    assert admin.get(f"{DISCUSSIONS}/{thread['id']}/comments").json()["results"] == []
    assert admin.get(f"{DISCUSSIONS}/signals/{signal['id']}/comments").json()["results"] == []
    reply = comment(owner, thread["id"])
    path = f"{DISCUSSIONS}/{thread['id']}/comments/{reply['id']}"
    _refused_naming(owner.send("PATCH", path, {"body": "Edited", field: _bogus(field)}), field)
    after = admin.get(path).json()
    assert (after["body"], after["edited_at"], after["hidden"]) == (reply["body"], None, False)


@pytest.mark.parametrize("field", REPORT_FIELDS)
def test_report_refuses_fields_it_does_not_take(owner, other, admin, field):
    thread = start_thread(owner)
    reply = comment(owner, thread["id"])
    response = other.send("POST", f"{DISCUSSIONS}/comments/{reply['id']}/report",
                          {"reason": "Spam", field: _bogus(field)})
    _refused_naming(response, field)
    assert admin.get(f"{DISCUSSIONS}/reports").json()["results"] == []


@pytest.mark.parametrize("field", sorted(set(THREAD_FIELDS + COMMENT_FIELDS + REPORT_FIELDS + ["by", "reason"])))
def test_moderation_bodies_refuse_fields_they_do_not_take(owner, other, admin, field):
    thread = start_thread(owner)
    reply = comment(owner, thread["id"])
    filed = report(other, reply["id"])
    hides = {"reason": "Off topic"} if field != "reason" else {}
    calls = [(f"{DISCUSSIONS}/{thread['id']}/unhide", {field: _bogus(field)}),
             (f"{DISCUSSIONS}/{thread['id']}/comments/{reply['id']}/unhide", {field: _bogus(field)}),
             (f"{DISCUSSIONS}/reports/{filed['id']}/dismiss", {field: _bogus(field)})]
    if field != "reason":
        calls += [(f"{DISCUSSIONS}/{thread['id']}/hide", {**hides, field: _bogus(field)}),
                  (f"{DISCUSSIONS}/{thread['id']}/comments/{reply['id']}/hide", {**hides, field: _bogus(field)})]
    for path, body in calls:
        _refused_naming(admin.send("POST", path, body), field)
    assert admin.get(f"{DISCUSSIONS}/{thread['id']}").json()["hidden"] is False
    assert admin.get(f"{DISCUSSIONS}/{thread['id']}/comments/{reply['id']}").json()["hidden"] is False
    assert [r["state"] for r in admin.get(f"{DISCUSSIONS}/reports").json()["results"]] == ["open"]


@pytest.mark.parametrize("field", ["author", "is_admin", "moderation", "visible", "__proto__", "$set"])
def test_discussion_writes_refuse_unknown_fields(owner, field):
    thread = start_thread(owner)
    for method, path, body in (("POST", DISCUSSIONS, {"title": "Another", "body": text("Another body")}),
                               ("PATCH", f"{DISCUSSIONS}/{thread['id']}", {"title": "Edited"}),
                               ("POST", f"{DISCUSSIONS}/{thread['id']}/comments", {"body": text()})):
        details = assert_error(owner.send(method, path, {**body, field: True}), 400, "validation_error")["details"]
        assert details == {field: ["Unknown field."]}, (method, path)


# --- the response walk ---------------------------------------------------------------------------------------

def _walk(value, path="$"):
    if isinstance(value, dict):
        for key, item in value.items():
            yield f"{path}.{key}", key, item
            yield from _walk(item, f"{path}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _walk(item, f"{path}[{index}]")


class Recorder:
    def __init__(self, client):
        self.client = client
        self.seen: list[tuple[str, str, int, bytes, bool]] = []
        self.admin_tokens: set[str] = set()

    def __call__(self, method: str, path: str, token: str | None = None, body=None):
        headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token else {}
        data = json.dumps(body) if body is not None else None
        response = self.client.generic(method, path, data=data or b"", content_type="application/json", **headers)
        self.seen.append((method, path, response.status_code, response.content, token in self.admin_tokens))
        return response


def test_no_response_of_any_endpoint_carries_a_secret_or_internal_field(client, accounts):
    call = Recorder(client)
    user = call("POST", "/api/v1/auth/register", body={"email": "walker@example.com",
                                                       "password": "violet-harbour-lantern-42"}).json()
    admin = accounts.make_admin()
    token, admin_token, user_id = user["access"], admin["access"], user["user"]["id"]
    call.admin_tokens.add(admin_token)
    call("POST", "/api/v1/auth/login", body={"email": "walker@example.com", "password": "violet-harbour-lantern-42"})
    call("POST", "/api/v1/auth/login", body={"email": "walker@example.com", "password": "wrong-password-00"})
    refreshed = call("POST", "/api/v1/auth/refresh", body={"refresh": user["refresh"]}).json()
    token = refreshed["access"]
    call("GET", "/api/v1/auth/me", token)
    sessions = call("GET", "/api/v1/auth/sessions", token).json()["results"]
    call("GET", "/api/v1/users/me", token)
    call("PATCH", "/api/v1/users/me", token, {"bio": "Swing trader."})
    call("GET", f"/api/v1/users/{user_id}")
    signal = call("POST", BASE, token, VALID).json()
    call("GET", BASE, token)
    call("GET", f"{BASE}/{signal['id']}", token)
    call("PATCH", f"{BASE}/{signal['id']}", token, {"rationale": "Updated reasoning."})
    call("PATCH", f"{BASE}/{signal['id']}/status", admin_token, {"status": "rejected", "reason": "Too tight."})
    call("PATCH", f"{BASE}/{signal['id']}", token, {"rationale": "Second try."})
    call("PATCH", f"{BASE}/{signal['id']}/status", admin_token, {"status": "approved", "reason": "Fine."})
    call("GET", f"{BASE}/public")
    call("GET", f"{BASE}/{signal['id']}")
    call("GET", f"{BASE}/{signal['id']}", admin_token)
    call("GET", f"{BASE}/admin", admin_token)
    call("GET", "/api/v1/users", admin_token)
    call("GET", "/api/v1/auth/admin/audit", admin_token)
    call("PATCH", f"/api/v1/auth/admin/users/{user_id}", admin_token, {"role": "user"})
    call("PATCH", f"/api/v1/auth/admin/users/{user_id}", admin_token, {"is_active": True})
    call("POST", "/api/v1/auth/password", token, {"current_password": "wrong-password-00",
                                                  "new_password": "another-lantern-harbour-7"})
    call("GET", f"{BASE}/{signal['id']}", "not-a-jwt")
    _walk_discussions(call, token, admin_token, signal["id"])
    call("DELETE", f"/api/v1/auth/sessions/{sessions[0]['id']}", token)
    call("POST", "/api/v1/auth/logout", admin_token)
    call("POST", "/api/v1/auth/logout-all", token)

    statuses = {(method, path): status for method, path, status, _, _ in call.seen}
    assert statuses[("POST", BASE)] == 201 and statuses[("GET", "/api/v1/auth/admin/audit")] == 200
    checked = discussions = 0
    for method, path, _status, content, by_admin in call.seen:
        if not content:
            continue
        body_text = content.decode()
        for marker in FORBIDDEN_TEXT:
            assert marker not in body_text, (method, path, marker)
        body = json.loads(body_text)
        forbidden = FORBIDDEN_KEYS | MODERATION_INTERNALS | (set() if by_admin else ADMIN_ONLY_KEYS)
        for where, key, _value in _walk(body):
            if ".track_record." in where:
                continue  # a track record's counts (closed, won, …), not a thread's moderation state
            assert key not in forbidden, (method, path, where)
        checked += 1
        discussions += path.startswith(DISCUSSIONS)
    assert checked >= 45 and discussions >= 20


def _walk_discussions(call, token: str, admin_token: str, signal_id: str) -> None:
    """Every discussions operation, as the user, as an administrator and anonymously (the signal is approved)."""
    d = DISCUSSIONS
    thread = call("POST", d, token, {"title": "Breakout retest", "body": text("Where does the stop go?")}).json()
    tid = thread["id"]
    for who in (token, admin_token, None):
        call("GET", d, who)
        call("GET", f"{d}/{tid}", who)
        call("GET", f"{d}/{tid}/comments", who)
    call("PATCH", f"{d}/{tid}", token, {"body": text("A clearer question")})
    mine = call("POST", f"{d}/{tid}/comments", token, {"body": text()}).json()
    theirs = call("POST", f"{d}/{tid}/comments", admin_token, {"body": text("An admin's reply")}).json()
    call("PATCH", f"{d}/{tid}/comments/{mine['id']}", token, {"body": text("Edited")})
    under = call("POST", f"{d}/signals/{signal_id}/comments", token, {"body": text("Under the signal")}).json()
    for who in (token, admin_token, None):
        call("GET", f"{d}/{tid}/comments/{mine['id']}", who)
        call("GET", f"{d}/signals/{signal_id}/comments", who)
        call("GET", d + f"?signal_id={signal_id}", who)
        call("GET", f"{d}/{under['thread_id']}", who)
    filed = call("POST", f"{d}/comments/{theirs['id']}/report", token, {"reason": "Off topic"}).json()
    call("POST", f"{d}/comments/{theirs['id']}/report", token, {"reason": "Again"})  # 409
    call("POST", f"{d}/comments/{mine['id']}/report", token, {"reason": "Mine"})  # 403
    call("POST", f"{d}/comments/{mine['id']}/report", admin_token, {"reason": "Spam"})
    call("GET", f"{d}/reports", admin_token)
    call("GET", f"{d}/reports", token)  # 403
    call("POST", f"{d}/reports/{filed['id']}/dismiss", admin_token, {})
    call("POST", f"{d}/{tid}/comments/{mine['id']}/hide", admin_token, {"reason": "Abusive"})
    call("GET", f"{d}/{tid}/comments", admin_token)
    call("GET", f"{d}/{tid}/comments/{mine['id']}", token)  # 404
    call("POST", f"{d}/{tid}/comments/{mine['id']}/unhide", admin_token, {})
    call("POST", f"{d}/{tid}/hide", admin_token, {"reason": "Heated"})
    call("GET", d, admin_token)
    call("GET", f"{d}/{tid}", token)  # 404
    call("POST", f"{d}/{tid}/unhide", admin_token, {})
    call("DELETE", f"{d}/{tid}/comments/{theirs['id']}", token)  # the thread's author
    call("PATCH", f"{d}/{tid}", admin_token, {"title": "Rewritten"})  # 403
    call("DELETE", f"{d}/{tid}", token)
    call("DELETE", f"{d}/{under['thread_id']}", admin_token)
    statuses = [status for method, path, status, _, _ in call.seen if path.startswith(d)]
    assert statuses.count(201) == 4 and statuses.count(202) == 2 and 409 in statuses and 404 in statuses


def test_the_public_views_of_a_user_hide_their_email_and_role(owner, admin, anonymous):
    signal = owner.create()
    review(admin, signal["id"], "approved")
    feed = anonymous.get(f"{BASE}/public").json()["results"][0]
    assert "email" not in json.dumps(feed) and "history" not in feed
    profile = anonymous.get(f"/api/v1/users/{owner.user_id}")
    if profile.status_code == 200:  # projected from events only when accounts registered the owner
        assert not {"email", "role", "is_active"} & set(profile.json())
