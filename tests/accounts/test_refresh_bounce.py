"""The browser renewal bounce (``/auth/refresh/``) rotates tokens on GET only for the site's own navigations
(``Sec-Fetch-Site: same-origin``, or ``none`` for a typed/bookmarked address). Any other GET — cross-site,
same-site or without the header — only shows a "Continue" form whose CSRF-protected POST rotates, so a
cross-site page can neither rotate the refresh cookie nor race two rotations into a reuse detection."""
from __future__ import annotations

import pytest
from django.conf import settings

from apps.accounts.models import AuditEntry, Session
from tests.accounts.test_browser_login import _expire_access_cookie, browser, csrf_from, login, user  # noqa: F401

NEXT = "/api/v1/auth/me?tab=2"
BOUNCE = "/auth/refresh/?next=%2Fapi%2Fv1%2Fauth%2Fme%3Ftab%3D2"


def refresh_cookie(browser) -> str:  # noqa: F811
    return browser.cookies[settings.AUTH_REFRESH_COOKIE].value


def live_sessions() -> int:
    return Session.objects(revoked_at=None).count()


@pytest.mark.parametrize("site", ["cross-site", "same-site", None])
def test_a_get_not_started_by_the_site_itself_only_shows_a_continue_form(browser, user, site, accounts):  # noqa: F811
    login(browser, user)
    before = refresh_cookie(browser)
    headers = {"HTTP_SEC_FETCH_SITE": site} if site else {}

    page = browser.get(BOUNCE, **headers)
    assert page.status_code == 200 and page["Content-Type"].startswith("text/html")
    body = page.content.decode()
    assert "csrfmiddlewaretoken" in body and 'method="post"' in body and "Continue" in body
    assert 'name="next" value="/api/v1/auth/me?tab=2"' in body
    assert settings.AUTH_REFRESH_COOKIE not in page.cookies  # nothing rotated, nothing cleared
    assert "no-store" in page["Cache-Control"] or "no-cache" in page["Cache-Control"]
    # the cookie the browser holds is still the session's current token
    assert accounts.post("refresh", {"refresh": before}).status_code == 200


def test_two_cross_site_bounces_cannot_race_the_session_into_revocation(browser, user):  # noqa: F811
    login(browser, user)
    live = live_sessions()
    for _ in range(2):
        assert browser.get(BOUNCE, HTTP_SEC_FETCH_SITE="cross-site").status_code == 200
    assert live_sessions() == live
    assert not AuditEntry.objects(type__in=["refresh_reuse_detected", "refresh_race"]).count()


def test_continue_posts_with_csrf_and_rotates(browser, user):  # noqa: F811
    login(browser, user)
    before = refresh_cookie(browser)
    form = browser.get(BOUNCE, HTTP_SEC_FETCH_SITE="cross-site")
    done = browser.post("/auth/refresh/", {"csrfmiddlewaretoken": csrf_from(form), "next": NEXT})
    assert done.status_code == 302 and done["Location"] == NEXT
    assert refresh_cookie(browser) != before
    page = browser.get(NEXT, HTTP_ACCEPT="text/html")
    assert page.status_code == 200 and user in page.content.decode()


def test_a_post_without_csrf_is_refused_and_rotates_nothing(browser, user):  # noqa: F811
    login(browser, user)
    before, live = refresh_cookie(browser), live_sessions()
    refused = browser.post("/auth/refresh/", {"next": NEXT})
    assert refused.status_code == 403
    assert settings.AUTH_REFRESH_COOKIE not in refused.cookies
    assert refresh_cookie(browser) == before and live_sessions() == live


def test_continue_keeps_next_on_site(browser, user):  # noqa: F811
    login(browser, user)
    form = browser.get("/auth/refresh/?next=https://evil.example/", HTTP_SEC_FETCH_SITE="cross-site")
    assert 'value="https://evil.example/"' not in form.content.decode()
    done = browser.post("/auth/refresh/?next=https://evil.example/", {"csrfmiddlewaretoken": csrf_from(form),
                                                                      "next": "//evil.example/x"})
    assert done.status_code == 302 and done["Location"] == "/api/v1/auth/me"


@pytest.mark.parametrize("site", ["same-origin", "none"])
def test_the_sites_own_navigation_rotates_on_get(browser, user, site):  # noqa: F811
    login(browser, user)
    before = refresh_cookie(browser)
    back = browser.get(BOUNCE, HTTP_SEC_FETCH_SITE=site)
    assert back.status_code == 302 and back["Location"] == NEXT
    assert refresh_cookie(browser) != before


def test_a_bounce_that_lost_a_race_goes_back_to_next_with_the_winners_cookies(browser, user, accounts):  # noqa: F811
    """Two tabs renewing at once: the loser's browser already holds the winner's cookies."""
    login(browser, user)
    stale, live = refresh_cookie(browser), live_sessions()
    winner = accounts.post("refresh", {"refresh": stale})  # the other tab won
    assert winner.status_code == 200
    lost = browser.get(BOUNCE, HTTP_SEC_FETCH_SITE="same-origin")
    assert lost.status_code == 302 and lost["Location"] == NEXT
    assert settings.AUTH_REFRESH_COOKIE not in lost.cookies  # the jar keeps what the winner set
    browser.cookies[settings.AUTH_ACCESS_COOKIE] = winner.json()["access"]
    browser.cookies[settings.AUTH_REFRESH_COOKIE] = winner.json()["refresh"]
    page = browser.get(NEXT, HTTP_ACCEPT="text/html")
    assert page.status_code == 200 and user in page.content.decode()
    assert live_sessions() == live


def test_the_middleware_bounce_then_a_same_origin_renewal_serves_the_page(browser, user):  # noqa: F811
    login(browser, user)
    _expire_access_cookie(browser)
    response = browser.get(NEXT, follow=True, HTTP_ACCEPT="text/html", HTTP_SEC_FETCH_SITE="same-origin")
    assert response.status_code == 200 and user in response.content.decode()
