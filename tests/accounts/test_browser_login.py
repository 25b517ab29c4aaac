"""The HTML login: CSRF-protected form, HttpOnly cookies, no open redirect, cookie auth with CSRF on
unsafe methods, transparent renewal of an expired access cookie, logout."""
import re
import time

import jwt
import pytest
from django.conf import settings
from django.test import Client

from tests.support.accounts import PASSWORD, unique_email

HTML = {"HTTP_ACCEPT": "text/html,application/xhtml+xml"}
# What a browser sends when the site's own redirect or link brings it to /auth/refresh/ (Chromium, verified in
# test_refresh_bounce_browser); without it the renewal asks for a click first (test_refresh_bounce).
OWN = {"HTTP_SEC_FETCH_SITE": "same-origin"}


@pytest.fixture
def browser():
    return Client(enforce_csrf_checks=True)


def csrf_from(page) -> str:
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.content.decode()).group(1)


def login(browser, email, password=PASSWORD, next_url=None):
    page = browser.get("/auth/login/" + (f"?next={next_url}" if next_url else ""))
    assert page.status_code == 200
    body = {"email": email, "password": password, "csrfmiddlewaretoken": csrf_from(page)}
    if next_url is not None:
        body["next"] = next_url
    return browser.post("/auth/login/", body)


@pytest.fixture
def user(accounts):
    email = unique_email()
    accounts.register(email=email)
    return email


def test_login_page_is_html_with_csrf_and_a_strict_csp(browser):
    page = browser.get("/auth/login/")
    assert page.status_code == 200 and page["Content-Type"].startswith("text/html")
    assert "csrfmiddlewaretoken" in page.content.decode()
    assert "script-src 'self'" in page["Content-Security-Policy"]
    assert "no-cache" in page["Cache-Control"] or "no-store" in page["Cache-Control"]


def test_login_sets_httponly_lax_cookies_and_redirects(browser, user):
    response = login(browser, user, next_url="/api/v1/auth/sessions")
    assert response.status_code == 302 and response["Location"] == "/api/v1/auth/sessions"
    for name in (settings.AUTH_ACCESS_COOKIE, settings.AUTH_REFRESH_COOKIE):
        cookie = response.cookies[name]
        assert cookie["httponly"] and cookie["samesite"] == "Lax" and not cookie["secure"]
    me = browser.get("/api/v1/auth/me", HTTP_ACCEPT="application/json")
    assert me.status_code == 200 and me.json()["email"] == user


def test_cookies_are_secure_when_configured(browser, user, settings):
    settings.AUTH_COOKIE_SECURE = True
    response = login(browser, user)
    assert response.cookies[settings.AUTH_ACCESS_COOKIE]["secure"]
    assert response.cookies[settings.AUTH_REFRESH_COOKIE]["secure"]


def test_login_post_without_csrf_is_refused(browser, user):
    response = browser.post("/auth/login/", {"email": user, "password": PASSWORD})
    assert response.status_code == 403
    assert settings.AUTH_ACCESS_COOKIE not in response.cookies


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/x", "/\\evil.example",
                                    "http:/evil.example", "javascript:alert(1)", "\\\\evil.example"])
def test_next_never_redirects_off_site(browser, user, target):
    response = login(browser, user, next_url=target)
    assert response.status_code == 302
    assert response["Location"] == "/api/v1/auth/me"


def test_wrong_password_shows_the_generic_message(browser, user):
    response = login(browser, user, password="wrong-password-123")
    assert response.status_code == 401
    assert "Invalid email or password." in response.content.decode()
    assert settings.AUTH_ACCESS_COOKIE not in response.cookies


def test_cookie_authenticated_unsafe_requests_need_csrf(browser, user):
    login(browser, user)
    no_csrf = browser.post("/api/v1/auth/logout-all", content_type="application/json", HTTP_ACCEPT="application/json")
    assert no_csrf.status_code == 403 and no_csrf.json()["error"]["code"] == "permission_denied"
    assert browser.get("/api/v1/auth/me", HTTP_ACCEPT="application/json").status_code == 200
    token = browser.cookies[settings.CSRF_COOKIE_NAME].value
    ok = browser.post("/api/v1/auth/logout-all", content_type="application/json", HTTP_ACCEPT="application/json",
                      HTTP_X_CSRFTOKEN=token)
    assert ok.status_code == 204
    assert browser.get("/api/v1/auth/me", HTTP_ACCEPT="application/json").status_code == 401


def _expire_access_cookie(browser):
    claims = jwt.decode(browser.cookies[settings.AUTH_ACCESS_COOKIE].value, options={"verify_signature": False})
    now = int(time.time())
    claims.update(iat=now - 2000, exp=now - 1000)
    browser.cookies[settings.AUTH_ACCESS_COOKIE] = jwt.encode(claims, settings.JWT_SECRET, algorithm="HS256")


def test_expired_access_cookie_is_renewed_transparently(browser, user):
    login(browser, user)
    old_refresh = browser.cookies[settings.AUTH_REFRESH_COOKIE].value
    _expire_access_cookie(browser)

    bounce = browser.get("/api/v1/auth/me?tab=1", **HTML)
    assert bounce.status_code == 302
    assert bounce["Location"] == "/auth/refresh/?next=%2Fapi%2Fv1%2Fauth%2Fme%3Ftab%3D1"
    back = browser.get(bounce["Location"], **OWN)
    assert back.status_code == 302 and back["Location"] == "/api/v1/auth/me?tab=1"
    assert browser.cookies[settings.AUTH_REFRESH_COOKIE].value != old_refresh  # rotated
    page = browser.get(back["Location"], **HTML)
    assert page.status_code == 200 and page["Content-Type"].startswith("text/html")
    assert user in page.content.decode()


def test_missing_access_cookie_with_a_refresh_cookie_is_renewed(browser, user):
    login(browser, user)
    del browser.cookies[settings.AUTH_ACCESS_COOKIE]
    response = browser.get("/api/v1/auth/me", follow=True, **HTML, **OWN)
    assert response.status_code == 200 and user in response.content.decode()
    assert [hop[0].split("?")[0] for hop in response.redirect_chain] == ["/auth/refresh/", "/api/v1/auth/me"]


def test_renewal_with_a_dead_refresh_cookie_lands_on_the_login_page(browser, user, accounts):
    login(browser, user)
    refresh = browser.cookies[settings.AUTH_REFRESH_COOKIE].value
    rotated = accounts.post("refresh", {"refresh": refresh})  # rotated elsewhere, twice: now stale
    assert accounts.post("refresh", {"refresh": rotated.json()["refresh"]}).status_code == 200
    _expire_access_cookie(browser)
    bounce = browser.get("/api/v1/auth/me", **HTML)
    landing = browser.get(bounce["Location"], **OWN)
    assert landing.status_code == 302 and landing["Location"].startswith("/auth/login/?next=")
    assert landing.cookies[settings.AUTH_REFRESH_COOKIE].value == ""  # cleared


def test_json_clients_get_401_not_a_redirect(browser, user):
    login(browser, user)
    _expire_access_cookie(browser)
    response = browser.get("/api/v1/auth/me", HTTP_ACCEPT="application/json")
    assert response.status_code == 401


def test_refresh_view_refuses_off_site_next(browser, user):
    login(browser, user)
    response = browser.get("/auth/refresh/?next=https://evil.example/", **OWN)
    assert response.status_code == 302 and response["Location"] == "/api/v1/auth/me"


def test_logout_page_needs_a_post_and_ends_the_session(browser, user, accounts):
    login(browser, user)
    access = browser.cookies[settings.AUTH_ACCESS_COOKIE].value
    refresh = browser.cookies[settings.AUTH_REFRESH_COOKIE].value
    confirm = browser.get("/auth/logout/")
    assert confirm.status_code == 200 and "csrfmiddlewaretoken" in confirm.content.decode()
    assert accounts.me(access).status_code == 200  # a GET changed nothing
    done = browser.post("/auth/logout/", {"csrfmiddlewaretoken": csrf_from(confirm)})
    assert done.status_code == 302 and done["Location"] == "/auth/login/"
    assert done.cookies[settings.AUTH_ACCESS_COOKIE].value == ""
    assert accounts.me(access).status_code == 401
    assert accounts.post("refresh", {"refresh": refresh}).status_code == 401


def test_browsable_api_links_to_the_login_page(user):
    page = Client().get("/api/v1/auth/me", HTTP_ACCEPT="text/html")
    assert page.status_code == 401
    # The path is URL-encoded so a query string in it cannot leak into the login URL's own parameters.
    assert 'href="/auth/login/?next=%2Fapi%2Fv1%2Fauth%2Fme"' in page.content.decode()


def test_html_login_is_rate_limited_with_retry_after(browser, user, settings):
    settings.AUTH_RATE_LIMIT_MAX = 1
    assert login(browser, user, password="wrong-password-123").status_code == 401
    limited = login(browser, user)
    assert limited.status_code == 429 and int(limited["Retry-After"]) >= 1
    assert settings.AUTH_ACCESS_COOKIE not in limited.cookies


def test_rate_limited_renewal_explains_instead_of_failing(browser, user, settings):
    login(browser, user)
    settings.REFRESH_RATE_LIMIT_MAX = 1
    assert browser.get("/auth/refresh/?next=/api/v1/auth/me", **OWN).status_code == 302
    limited = browser.get("/auth/refresh/?next=/api/v1/auth/me", **OWN)
    assert limited.status_code == 429 and int(limited["Retry-After"]) >= 1
    assert "Too many requests" in limited.content.decode()
