"""The renewal bounce in real headless Chromium against a real gunicorn: an expired access cookie is renewed
without a click when the navigation is the site's own (a typed address or a same-origin link), while a link
on another site lands on the "Continue" form and rotates nothing until the user confirms.

The other site is a real HTTP server on ``localhost`` (a different site from ``127.0.0.1`` for the browser).
"""
from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt
import pytest
from django.conf import settings

from tests.support.accounts import PASSWORD, unique_email
from tests.support.procs import Gunicorn
from tests.support.servers import free_port

pytestmark = pytest.mark.cluster


@pytest.fixture(scope="module")
def server(mongo_uri, redis_server_url):
    web = Gunicorn({"MONGODB_URI": mongo_uri, "REDIS_URL": redis_server_url, "REDIS_ENABLED": "true"},
                   workers=2, name="refresh-bounce").start()
    yield web
    web.stop()


@pytest.fixture
def other_site(server):
    """A page on another site with a plain link to an authenticated page of ours."""
    body = (f'<!doctype html><title>elsewhere</title><a id="go" href="{server.url}/api/v1/auth/me">'
            "open tradesignals</a>").encode()

    class Page(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - the http.server hook name
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", free_port()), Page)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://localhost:{httpd.server_address[1]}/"
    httpd.shutdown()
    httpd.server_close()
    thread.join(10)


@pytest.fixture
def signed_in(browser, server):
    """A browser context signed in through the HTML form, and the address it used."""
    import requests

    address = unique_email("bounce")
    registered = requests.post(f"{server.url}/api/v1/auth/register", json={"email": address, "password": PASSWORD},
                               timeout=10)
    assert registered.status_code == 201, registered.text
    context = browser.new_context(base_url=server.url)
    page = context.new_page()
    page.goto("/auth/login/?next=/api/v1/auth/me")
    page.get_by_label("Email").fill(address)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/api/v1/auth/me")
    seen = []
    page.on("request", lambda request: seen.append(request) if "/auth/refresh/" in request.url else None)
    yield page, address, seen
    context.close()


def cookie(page, name: str) -> str:
    return next(c["value"] for c in page.context.cookies() if c["name"] == name)


def expire_access_cookie(page, server) -> None:
    claims = jwt.decode(cookie(page, settings.AUTH_ACCESS_COOKIE), options={"verify_signature": False})
    now = int(time.time())
    claims.update(iat=now - 2000, exp=now - 1000)
    page.context.add_cookies([{"name": settings.AUTH_ACCESS_COOKIE, "url": server.url, "httpOnly": True,
                               "sameSite": "Lax",
                               "value": jwt.encode(claims, settings.JWT_SECRET, algorithm="HS256")}])


def fetch_sites(seen) -> list[str | None]:
    return [request.all_headers().get("sec-fetch-site") for request in seen]


def test_a_typed_address_is_renewed_without_a_click(signed_in, server):
    page, address, seen = signed_in
    before = cookie(page, settings.AUTH_REFRESH_COOKIE)
    expire_access_cookie(page, server)
    page.goto("/api/v1/auth/me")
    assert page.url == f"{server.url}/api/v1/auth/me"
    assert address in page.content()
    assert cookie(page, settings.AUTH_REFRESH_COOKIE) != before
    assert fetch_sites(seen) == ["none"]


def test_a_same_origin_link_is_renewed_without_a_click(signed_in, server):
    page, address, seen = signed_in
    page.goto("/auth/logout/?next=/api/v1/auth/me")  # a page of ours with a plain link back
    before = cookie(page, settings.AUTH_REFRESH_COOKIE)
    expire_access_cookie(page, server)
    page.get_by_role("link", name="Cancel").click()
    page.wait_for_url("**/api/v1/auth/me")
    assert address in page.content()
    assert cookie(page, settings.AUTH_REFRESH_COOKIE) != before
    assert fetch_sites(seen) == ["same-origin"]


def test_a_link_from_another_site_asks_before_rotating(signed_in, server, other_site):
    page, address, seen = signed_in
    before = cookie(page, settings.AUTH_REFRESH_COOKIE)
    expire_access_cookie(page, server)
    page.goto(other_site)
    page.click("#go")
    page.wait_for_url("**/auth/refresh/**")
    assert fetch_sites(seen) == ["cross-site"]
    assert cookie(page, settings.AUTH_REFRESH_COOKIE) == before  # nothing rotated yet
    page.get_by_role("button", name="Continue").click()
    page.wait_for_url("**/api/v1/auth/me")
    assert address in page.content()
    assert cookie(page, settings.AUTH_REFRESH_COOKIE) != before
