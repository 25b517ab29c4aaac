"""No personal data in shared caches: every response that carries tokens or personal data says
``Cache-Control: no-store`` — register, login, refresh, ``/auth/me``, sessions, audit, ``/users/me`` and the
administrators' directory — whether it is a success, an error, or a cached hit."""
from __future__ import annotations

import pytest

from tests.support.accounts import PASSWORD, unique_email


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
