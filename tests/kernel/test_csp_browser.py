"""Every HTML page carries a strict Content-Security-Policy (no script allowed inline, by hash or by
``'unsafe-hashes'``), and the third-party pages we serve (Swagger UI at /api/docs/, the DRF browsable API) still
work under it: real headless Chromium against a real gunicorn, with every CSP violation
(``securitypolicyviolation`` events and console reports) and script error collected."""
from __future__ import annotations

import json
import re
import uuid

import pytest
import requests

from tests.support.browser import watched_page
from tests.support.procs import Gunicorn

pytestmark = pytest.mark.cluster

PASSWORD = "csp-Test-passphrase-4821"
SIGNAL = {"symbol": "DOT/USDT", "direction": "long", "entry_price": "7.5", "stop_loss": "7", "take_profit": "9",
          "timeframe": "1d", "rationale": "Range breakout under a strict policy."}
# Records violations from the first byte of every document; init scripts are injected by the browser
# itself, so the page's own policy does not apply to this one.


@pytest.fixture(scope="module")
def server(mongo_uri, redis_server_url):
    web = Gunicorn({"MONGODB_URI": mongo_uri, "REDIS_URL": redis_server_url, "REDIS_ENABLED": "true",
                    "BROWSABLE_API": "true"}, name="csp").start()
    yield web
    web.stop()


@pytest.fixture
def page(browser, server):
    context = browser.new_context(base_url=server.url)
    yield watched_page(context)
    context.close()


def assert_clean(page) -> None:
    violations = page.evaluate("window.__cspViolations")
    assert violations == [], violations
    assert page.problems == [], page.problems


def script_src(policy: str) -> str:
    return re.search(r"script-src ([^;]*)", policy).group(1)


def test_every_html_response_has_a_strict_policy(server):
    pages = {"/api/docs/": {}, "/api/v1/trade-signals/public": {"Accept": "text/html"},
             "/no-such-page/": {"Accept": "text/html"}, "/auth/login/": {}}
    for path, headers in pages.items():
        response = requests.get(server.url + path, headers=headers, timeout=10)
        assert response.headers["Content-Type"].startswith("text/html"), path
        policy = response.headers["Content-Security-Policy"]
        assert "'unsafe-inline'" not in script_src(policy) and "'unsafe-eval'" not in policy, (path, policy)
        assert "'unsafe-hashes'" not in policy and "'sha256-" not in script_src(policy), (path, policy)
        for directive in ("default-src 'self'", "object-src 'none'", "base-uri 'none'", "frame-ancestors 'none'"):
            assert directive in policy, (path, directive)
    json_response = requests.get(server.url + "/api/v1/trade-signals/public", timeout=10)
    assert "Content-Security-Policy" not in json_response.headers  # a policy governs documents, not data


def test_swagger_ui_renders_the_operations_under_the_policy(page):
    page.goto("/api/docs/")
    page.wait_for_selector(".opblock", timeout=15_000)
    assert page.locator(".opblock").count() >= 10
    assert page.locator(".opblock-summary-path", has_text="/api/v1/trade-signals/public").count() >= 1
    page.locator(".opblock-summary-path", has_text="/api/v1/trade-signals/public").first.click()
    page.wait_for_selector(".opblock.is-open", timeout=5_000)  # the UI reacts: its scripts all run
    assert_clean(page)


def test_browsable_api_shows_and_submits_its_forms_under_the_policy(page, server):
    address = f"csp-{uuid.uuid4().hex[:8]}@example.com"
    registered = requests.post(f"{server.url}/api/v1/auth/register", timeout=30,
                               json={"email": address, "password": PASSWORD, "display_name": "Csp"})
    assert registered.status_code == 201, registered.text
    page.goto("/auth/login/?next=/api/v1/trade-signals/")
    page.get_by_label("Email").fill(address)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/api/v1/trade-signals/")

    form = page.locator("#post-generic-content-form")
    assert form.is_visible()
    assert page.locator("pre.prettyprint span.pun").count() >= 1  # default.js ran: the response is highlighted
    page.fill("#id__content", json.dumps(SIGNAL))
    with page.expect_response(lambda r: r.request.method == "POST") as posted:
        form.locator("button", has_text="POST").click()
    assert posted.value.status == 201  # ajax-form.js and csrf.js ran: the form posted with the CSRF header
    page.get_by_text("201 Created").first.wait_for()  # the response page, written by ajax-form.js
    assert "DOT/USDT" in page.inner_text("body")
    assert_clean(page)

    # The navbar's "Log out" is a form button (DRF's stock link is an inline onclick handler, which the
    # policy would have to allow by hash): it works with no script at all.
    page.goto("/api/v1/trade-signals/")
    page.get_by_role("button", name="Log out").click()
    page.wait_for_url("**/auth/login/")
    assert "ts_access" not in {cookie["name"] for cookie in page.context.cookies()}
