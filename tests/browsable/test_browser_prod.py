"""The browsable API as production serves it, in real headless Chromium.

A real gunicorn under ``settings.prod`` (random secrets, Redis, the session's MongoDB-compatible server, static
files collected as the image collects them) behind a real TLS-terminating nginx (tests/browsable/tls.py), so
the cookies are ``Secure`` for real, CSRF checks a real ``https`` origin, and ``SECURE_SSL_REDIRECT`` is on.
Users come from the product: traders register through the API, the administrator is made with ``manage.py
createadmin`` under the same environment, and the browser logs in through ``/auth/login/``.

Every page is watched for Content-Security-Policy violations and script errors from its first byte.
"""
from __future__ import annotations

import json
import re
import secrets
import subprocess
import sys
import uuid

import pytest
import requests

from tests.browsable.tls import TlsProxy
from tests.support.browser import watched_page
from tests.support.procs import ROOT, Gunicorn

pytestmark = pytest.mark.cluster

SECRETS = {"DJANGO_SECRET_KEY": secrets.token_urlsafe(48), "JWT_SECRET": secrets.token_urlsafe(48)}
PASSWORD = "browsable-Prod-passphrase-4821"
SIGNAL = {"symbol": "XRP/USDT", "direction": "long", "entry_price": "0.5", "stop_loss": "0.45",
          "take_profit": "0.6", "timeframe": "4h", "rationale": "Reclaimed the range high on volume."}
# The methods a page offers: what each submit button sends, in every form but the GET link and the logout.
OFFERED = """() => [...document.querySelectorAll('form button')]
  .filter((button) => !['get-form', 'logoutForm'].includes(button.form.id))
  .map((button) => (button.dataset.method || button.form.dataset.method || button.form.getAttribute('method')
                    || 'GET').toUpperCase())
  .sort()"""


def prod_env(**extra) -> dict[str, str]:
    return {"DJANGO_SETTINGS_MODULE": "settings.prod", "ALLOWED_HOSTS": "127.0.0.1", **SECRETS, **extra}


@pytest.fixture(scope="module")
def static_root(tmp_path_factory):
    """What the image's build step collects, here into a temporary STATIC_ROOT."""
    root = tmp_path_factory.mktemp("static")
    env = {"PATH": "/usr/bin:/bin", "HOME": str(root), "WEB_CONCURRENCY": "1", **prod_env(STATIC_ROOT=str(root))}
    result = subprocess.run([sys.executable, "manage.py", "collectstatic", "--noinput", "--verbosity", "0"], cwd=ROOT,
                            env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert (root / "rest_framework" / "js" / "ajax-form.js").exists()
    return root


class Site:
    def __init__(self, web: Gunicorn, proxy: TlsProxy):
        self.web, self.proxy = web, proxy
        self.url = proxy.url

    def api(self, method: str, path: str, token: str | None = None, **kwargs) -> requests.Response:
        headers = {"Accept": "application/json", **({"Authorization": f"Bearer {token}"} if token else {}),
                   **kwargs.pop("headers", {})}
        return requests.request(method, f"{self.url}{path}", headers=headers, verify=self.proxy.certificate,
                                timeout=15, **kwargs)


@pytest.fixture(scope="module")
def site(mongo_uri, redis_server_url, static_root, tmp_path_factory):
    web = Gunicorn(prod_env(MONGODB_URI=mongo_uri, REDIS_URL=redis_server_url, REDIS_ENABLED="true",
                            STATIC_ROOT=str(static_root)), threads=4, name="browsable-prod").start()
    try:
        proxy = TlsProxy(web.port, tmp_path_factory.mktemp("tls")).start()
    except BaseException:
        web.stop()
        raise
    yield Site(web, proxy)
    proxy.stop()
    web.stop()


def register(site: Site, name: str) -> dict:
    address = f"{name.lower()}-{uuid.uuid4().hex[:8]}@example.com"
    response = site.api("POST", "/api/v1/auth/register",
                        json={"email": address, "password": PASSWORD, "display_name": name})
    assert response.status_code == 201, response.text
    return {**response.json(), "email": address}


def create_signal(site: Site, owner: dict, **overrides) -> dict:
    response = site.api("POST", "/api/v1/trade-signals", owner["access"], json={**SIGNAL, **overrides})
    assert response.status_code == 201, response.text
    return response.json()


def admin_token(site: Site) -> str:
    address = f"admin-{uuid.uuid4().hex[:8]}@example.com"
    subprocess.run([sys.executable, "manage.py", "createadmin", "--email", address, "--password-env", "TS_ADMIN_PW"],
                   cwd=ROOT, env={**site.web.env, "TS_ADMIN_PW": PASSWORD}, check=True, capture_output=True,
                   timeout=60)
    response = site.api("POST", "/api/v1/auth/login", json={"email": address, "password": PASSWORD})
    assert response.status_code == 200, response.text
    return response.json()["access"]


@pytest.fixture
def open_page(browser, site):
    """A fresh browser context (own cookies) per person, trusting the proxy's throwaway certificate."""
    contexts = []

    def open_():
        context = browser.new_context(base_url=site.url, ignore_https_errors=True)
        contexts.append(context)
        return watched_page(context)

    yield open_
    for context in contexts:
        context.close()


def assert_clean(page) -> None:
    violations = page.evaluate("window.__cspViolations")
    assert violations == [], violations
    assert page.problems == [], page.problems


def offered(page) -> list[str]:
    return page.evaluate(OFFERED)


def status_line(page) -> str:
    return page.locator(".response-info b").first.inner_text()


def assert_private_strict_page(response) -> None:
    """An HTML page of the browsable API: never stored, under the strict policy, HTTPS only."""
    headers = response.headers
    assert headers["content-type"].startswith("text/html")
    assert headers["cache-control"] == "no-store"
    scripts = re.search(r"script-src ([^;]*)", headers["content-security-policy"]).group(1)
    assert "'unsafe-inline'" not in scripts and "'unsafe-hashes'" not in scripts and "'unsafe-eval'" not in scripts
    assert headers["strict-transport-security"].startswith("max-age=")


def assert_no_secret(page, *values: str) -> None:
    html = page.content()
    for value in (*SECRETS.values(), *values):
        assert value not in html
    assert "Traceback (most recent call last)" not in html and "File &quot;" not in html


def login(page, address: str) -> None:
    page.get_by_label("Email").fill(address)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()


def test_a_trader_logs_in_lists_creates_and_meets_a_403_in_production(site, open_page):
    trader = register(site, "Tara")
    listed = create_signal(site, trader)
    page = open_page()

    # Anonymous: the own list is a 401 page that offers nothing but the link to our browser login.
    page.goto("/api/v1/trade-signals/")
    assert status_line(page) == "HTTP 401 Unauthorized"
    assert offered(page) == []
    log_in = page.get_by_role("link", name="Log in")
    assert log_in.get_attribute("href") == "/auth/login/?next=%2Fapi%2Fv1%2Ftrade-signals%2F"
    log_in.click()
    page.wait_for_url("**/auth/login/?next=*")
    login(page, trader["email"])
    page.wait_for_url("**/api/v1/trade-signals/")

    # The login cookies only travel over HTTPS, and scripts cannot read the tokens.
    cookies = {cookie["name"]: cookie for cookie in page.context.cookies()}
    for name in ("ts_access", "ts_refresh"):
        assert cookies[name]["secure"] and cookies[name]["httpOnly"] and cookies[name]["sameSite"] == "Lax", name
    assert cookies["csrftoken"]["secure"]

    # The own list, with the signal made through the API.
    listing = page.goto("/api/v1/trade-signals/")
    assert_private_strict_page(listing)
    assert status_line(page) == "HTTP 200 OK"
    assert listed["id"] in page.inner_text(".response-info")
    assert page.locator("#signed-in-as").inner_text() == "Tara"
    assert offered(page) == ["OPTIONS", "POST"]
    # The create form is JSON (the one media type the API parses), pre-filled with the fields to send.
    assert page.locator("#post-object-form").count() == 0
    assert page.locator("#id__content_type option").all_inner_texts() == ["application/json"]
    assert set(json.loads(page.input_value("#id__content"))) == {*SIGNAL, "image_url", "image_id"}
    assert_no_secret(page, cookies["ts_access"]["value"], cookies["ts_refresh"]["value"])

    # Create one through the form: csrf.js sends the token, the server answers 201 and the page shows it.
    page.fill("#id__content", json.dumps({**SIGNAL, "symbol": "ADA/USDT", "entry_price": "0.4",
                                          "stop_loss": "0.35", "take_profit": "0.5"}))
    with page.expect_response(lambda r: r.request.method == "POST") as posted:
        page.locator("#post-generic-content-form button", has_text="POST").click()
    assert posted.value.status == 201
    assert posted.value.headers["cache-control"] == "no-store"
    page.get_by_text("HTTP 201 Created").first.wait_for()
    assert "ADA/USDT" in page.inner_text(".response-info")
    mine = site.api("GET", "/api/v1/trade-signals", trader["access"]).json()["results"]
    assert {item["symbol"] for item in mine} == {"XRP/USDT", "ADA/USDT"}
    assert_clean(page)

    # An admin-only endpoint is a 403 page, with the error envelope and nothing to submit.
    forbidden = page.goto("/api/v1/trade-signals/admin")
    assert forbidden.status == 403
    assert_private_strict_page(forbidden)
    assert status_line(page) == "HTTP 403 Forbidden"
    assert '"code": "permission_denied"' in page.inner_text(".response-info")
    assert offered(page) == []
    # The review of a signal is an administrator's: the trader gets a 403 page and no review form.
    page.goto(f"/api/v1/trade-signals/{listed['id']}/status")
    assert status_line(page) == "HTTP 403 Forbidden"
    assert offered(page) == [] and page.locator("textarea").count() == 0
    assert_clean(page)

    # Log out with the navbar's button: the session ends and the cookies are gone.
    page.goto("/api/v1/trade-signals/")
    page.get_by_role("button", name="Log out").click()
    page.wait_for_url("**/auth/login/")
    assert not {"ts_access", "ts_refresh"} & {cookie["name"] for cookie in page.context.cookies()}
    assert site.api("GET", "/api/v1/trade-signals", cookies["ts_access"]["value"]).status_code == 401
    assert_clean(page)


def test_no_one_is_offered_an_action_they_may_not_take(site, open_page):
    owner = register(site, "Olivia")
    signal = create_signal(site, owner, symbol="DOT/USDT", entry_price="7.5", stop_loss="7", take_profit="9")
    reviewed = site.api("PATCH", f"/api/v1/trade-signals/{signal['id']}/status", admin_token(site),
                        json={"status": "approved"})
    assert reviewed.status_code == 200, reviewed.text

    # An anonymous visitor reads the feed and the signal; no form anywhere, only the login link.
    visitor = open_page()
    for path in ("/api/v1/trade-signals/public", f"/api/v1/trade-signals/{signal['id']}"):
        response = visitor.goto(path)
        assert response.status == 200, path
        assert "DOT/USDT" in visitor.inner_text(".response-info"), path
        assert offered(visitor) == [] and visitor.locator("textarea").count() == 0, path
        assert visitor.get_by_role("link", name="Log in").count() == 1, path
        assert response.headers["cache-control"] == "no-store", path
        assert_no_secret(visitor)
    assert_clean(visitor)

    # Another trader sees Olivia's signal but is offered neither an edit nor a delete, nor a review.
    other = register(site, "Tom")
    page = open_page()
    page.goto("/auth/login/?next=/api/v1/trade-signals/" + signal["id"])
    login(page, other["email"])
    page.wait_for_url(f"**/api/v1/trade-signals/{signal['id']}")
    assert status_line(page) == "HTTP 200 OK"
    assert offered(page) == ["OPTIONS"] and page.locator("textarea").count() == 0
    page.goto(f"/api/v1/trade-signals/{signal['id']}/status")
    assert status_line(page) == "HTTP 403 Forbidden"
    assert offered(page) == []
    assert_clean(page)


def test_error_pages_show_the_envelope_without_a_trace(site):
    trader = register(site, "Eve")
    html = {"Accept": "text/html"}
    for path, status, code in (("/api/v1/trade-signals?limit=abc", 400, "validation_error"),
                               (f"/api/v1/trade-signals/{'f' * 24}", 404, "not_found"),
                               ("/api/v1/trade-signals/admin", 403, "permission_denied")):
        response = site.api("GET", path, trader["access"], headers=html)
        assert response.status_code == status, path
        assert response.headers["Content-Type"].startswith("text/html"), path
        assert response.headers["Cache-Control"] == "no-store", path
        assert f"&quot;code&quot;: &quot;{code}&quot;" in response.text, path
        assert "Traceback (most" not in response.text and not any(value in response.text for value in SECRETS.values())
        assert trader["access"] not in response.text and trader["refresh"] not in response.text
        if status != 400:  # a 400 may be corrected and sent again; a 403 or a 404 offers nothing
            assert "<textarea" not in response.text and "data-method" not in response.text, path
