"""No personal data in shared caches: every response that carries tokens or personal data says
``Cache-Control: no-store`` — register, login, refresh, ``/auth/me``, sessions, audit, ``/users/me`` and the
administrators' directory — whether it is a success, an error, or a cached hit. The discussions' writes say
``no-store``; their signed-in reads (the report queue included) are ``private``, never kept by a shared cache."""
from __future__ import annotations

import pytest

from tests.support.accounts import PASSWORD, unique_email
from tests.support.discussions import BASE as DISCUSSIONS
from tests.support.discussions import comment, report, start_thread, text


def no_store(response) -> bool:
    return "no-store" in response.get("Cache-Control", "")


@pytest.fixture
def admin_session(accounts):
    return accounts.make_admin()


def test_token_endpoints_are_no_store(accounts):
    email = unique_email()
    registered = accounts.post("register", {"email": email, "password": PASSWORD})
    assert registered.status_code == 201 and no_store(registered)
    login = accounts.post("login", {"email": email, "password": PASSWORD})
    assert login.status_code == 200 and no_store(login)
    refreshed = accounts.post("refresh", {"refresh": login.json()["refresh"]})
    assert refreshed.status_code == 200 and no_store(refreshed)
    failed = accounts.post("login", {"email": email, "password": "wrong password 12345"})
    assert failed.status_code == 401 and no_store(failed)


@pytest.mark.parametrize("path", ["/api/v1/auth/me", "/api/v1/auth/sessions", "/api/v1/users/me"])
def test_own_account_reads_are_no_store(accounts, path):
    token = accounts.register()["access"]
    for _ in range(2):  # the second /users/me read is a cache hit, answered from stored bytes
        response = accounts.client.get(path, HTTP_AUTHORIZATION=f"Bearer {token}")
        assert response.status_code == 200, response.content
        assert no_store(response), response.get("Cache-Control")


@pytest.mark.parametrize("path", ["/api/v1/auth/admin/audit", "/api/v1/users"])
def test_administrators_directories_are_no_store(accounts, admin_session, path):
    response = accounts.client.get(path, HTTP_AUTHORIZATION=f"Bearer {admin_session['access']}")
    assert response.status_code == 200, response.content
    assert no_store(response)


def test_the_browsable_api_rendering_of_personal_data_is_no_store(accounts):
    token = accounts.register()["access"]
    response = accounts.client.get("/api/v1/users/me", HTTP_AUTHORIZATION=f"Bearer {token}",
                                   HTTP_ACCEPT="text/html")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/html")
    assert no_store(response)


def test_cacheable_public_reads_keep_their_own_policy(api_client):
    response = api_client.get("/api/v1/trade-signals/public")
    assert response.status_code == 200
    assert response["Cache-Control"].startswith("public, max-age=")


def test_discussion_writes_are_no_store(owner, other, admin):
    thread = start_thread(owner)
    reply = comment(other, thread["id"])
    filed = report(owner, reply["id"])
    writes = [
        (owner, "POST", DISCUSSIONS, {"title": "Another thread", "body": text("Another question")}),
        (owner, "PATCH", f"{DISCUSSIONS}/{thread['id']}", {"title": "Edited"}),
        (owner, "POST", f"{DISCUSSIONS}/{thread['id']}/comments", {"body": text()}),
        (other, "PATCH", f"{DISCUSSIONS}/{thread['id']}/comments/{reply['id']}", {"body": "Edited"}),
        (other, "POST", f"{DISCUSSIONS}/comments/{reply['id']}/report", {"reason": "Refused: theirs"}),
        (admin, "POST", f"{DISCUSSIONS}/comments/{reply['id']}/report", {"reason": "Spam"}),
        (admin, "POST", f"{DISCUSSIONS}/reports/{filed['id']}/dismiss", {}),
        (admin, "POST", f"{DISCUSSIONS}/{thread['id']}/comments/{reply['id']}/hide", {"reason": "Abusive"}),
        (admin, "POST", f"{DISCUSSIONS}/{thread['id']}/comments/{reply['id']}/unhide", {}),
        (admin, "POST", f"{DISCUSSIONS}/{thread['id']}/hide", {"reason": "Heated"}),
        (admin, "POST", f"{DISCUSSIONS}/{thread['id']}/unhide", {}),
    ]
    for caller, method, path, body in writes:
        response = caller.send(method, path, body)
        assert response.status_code < 500 and response.content, (method, path, response.status_code)
        assert no_store(response), (method, path, response.status_code, response.get("Cache-Control"))


def test_signed_in_discussion_reads_are_never_shared(owner, other, admin, anonymous):
    thread = start_thread(owner)
    reply = comment(other, thread["id"])
    report(owner, reply["id"])
    reads = [DISCUSSIONS, f"{DISCUSSIONS}/{thread['id']}", f"{DISCUSSIONS}/{thread['id']}/comments",
             f"{DISCUSSIONS}/{thread['id']}/comments/{reply['id']}"]
    for caller in (owner, admin):
        for path in [*reads, *([f"{DISCUSSIONS}/reports"] if caller is admin else [])]:
            for _ in range(2):  # the second read of a page is a cache hit, answered from stored bytes
                response = caller.get(path)
                assert response.status_code == 200, (path, response.content[:200])
                policy = response.get("Cache-Control", "")
                assert "private" in policy or "no-store" in policy, (path, policy)
                assert "public" not in policy, (path, policy)
    for path in reads:  # what anyone may read may be kept briefly by a shared cache
        assert anonymous.get(path)["Cache-Control"].startswith("public, max-age="), path
