"""The console and the browsable API in real headless Chromium against a real gunicorn (settings.test, the
session's MongoDB-compatible server, Redis db of this run, mail written to files by the server process).

Users come from the product itself: owners register through the API, the administrator is made with
``manage.py createadmin`` run with the server's environment, and everyone logs in through the HTML form.
"""
from __future__ import annotations

import email
import json
from pathlib import Path

import pytest
import requests

from tests.support import live
from tests.support.live import api
from tests.support.procs import ROOT, Gunicorn
from tests.support.servers import wait_until

pytestmark = pytest.mark.cluster

PASSWORD = "console-Test-passphrase-4821"
ARTIFACTS = ROOT / "tests" / "artifacts"
SIGNAL = {"symbol": "BTC/USDT", "direction": "long", "entry_price": "64000.10", "stop_loss": "63000",
          "take_profit": "66000.50", "timeframe": "4h",
          "rationale": "Breakout above the weekly range with rising volume."}



def register(server, name: str) -> dict:
    return live.register(server, name, password=PASSWORD)


def make_admin(server) -> str:
    return live.make_admin(server, password=PASSWORD)

@pytest.fixture(scope="module")
def server(mongo_uri, redis_server_url, tmp_path_factory):
    mail_dir = tmp_path_factory.mktemp("mail")
    web = Gunicorn({"MONGODB_URI": mongo_uri, "REDIS_URL": redis_server_url, "REDIS_ENABLED": "true",
                    "EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
                    "EMAIL_FILE_PATH": str(mail_dir)}, workers=2, name="console").start()
    web.mail_dir = mail_dir
    yield web
    web.stop()






def create_signal(server, owner: dict, **overrides) -> dict:
    response = api(server, "POST", "/api/v1/trade-signals", owner["access"], json={**SIGNAL, **overrides})
    assert response.status_code == 201, response.text
    return response.json()




@pytest.fixture
def open_page(browser, server):
    """A fresh browser context (own cookies) per person; CSP violations and page errors are collected."""
    contexts, problems = [], []

    def open_(viewport=(1280, 900)):
        context = browser.new_context(base_url=server.url, viewport={"width": viewport[0], "height": viewport[1]})
        contexts.append(context)
        page = context.new_page()
        # Errors other than HTTP statuses (a refused form answers 400 on purpose): CSP violations, script errors.
        page.on("console", lambda msg: problems.append(msg.text)
                if msg.type == "error" and not msg.text.startswith("Failed to load resource") else None)
        page.on("pageerror", lambda exc: problems.append(str(exc)))
        return page

    open_.problems = problems
    yield open_
    for context in contexts:
        context.close()


def login(page, address: str, next_path: str, *, redirected: bool = True):
    """Sign in through the HTML form; the console sends anonymous visitors there by itself."""
    if redirected:
        page.goto(next_path)
        assert page.url.endswith("/auth/login/?next=" + next_path.replace("/", "%2F"))
    else:
        page.goto(f"/auth/login/?next={next_path}")
    page.get_by_label("Email").fill(address)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()


def screenshot(page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / name), full_page=True)


def messages(mail_dir: Path) -> list[email.message.Message]:
    found = []
    for path in sorted(mail_dir.glob("*.log")):
        for chunk in path.read_text().split("-" * 79):
            if chunk.strip():
                found.append(email.message_from_string(chunk.strip()))
    return found


def test_admin_reviews_signals_in_the_console(server, open_page):
    owner = register(server, "Olivia")
    btc = create_signal(server, owner)
    eth = create_signal(server, owner, symbol="ETH/USDT", direction="short", entry_price="3000",
                        stop_loss="3100", take_profit="2700", image_url=None)
    admin_email = make_admin(server)

    page = open_page()
    login(page, admin_email, "/console/")
    page.wait_for_url("**/console/")
    assert page.locator("#pending-count").inner_text() == "2"
    rows = page.locator("table.signals tbody tr")
    assert rows.count() == 2
    assert rows.nth(0).locator("td").first.inner_text().startswith("BTC/USDT")  # oldest first
    assert "Olivia" in rows.nth(0).inner_text() and "3.00" in rows.nth(1).inner_text()
    # The stylesheet is served and applied (no inline styles anywhere).
    assert page.eval_on_selector(".topbar", "el => getComputedStyle(el).display") == "flex"
    screenshot(page, "console-queue.png")

    page.get_by_role("link", name="BTC/USDT").click()
    page.wait_for_url(f"**/console/signals/{btc['id']}/")
    assert "Breakout above the weekly range" in page.inner_text("main")
    screenshot(page, "console-signal.png")

    # Reject without a reason: refused, nothing changes.
    page.get_by_role("button", name="Reject").click()
    assert "A reason is required to reject a signal." in page.locator("#reason-error").inner_text()
    assert page.get_attribute("textarea[name=reason]", "aria-invalid") == "true"
    assert api(server, "GET", f"/api/v1/trade-signals/{btc['id']}", owner["access"]).json()["status"] == "pending"

    page.get_by_label("Reason (required to reject; the owner sees it)").fill("Stop is too tight for a 4h setup.")
    page.get_by_role("button", name="Reject").click()
    page.wait_for_url("**/console/?reviewed=*")
    assert "BTC/USDT is now rejected." in page.locator(".notice--ok").inner_text()
    assert page.locator("#pending-count").inner_text() == "1"

    # Approve the other one with the keyboard only: from the reason field, Tab reaches Approve.
    page.get_by_role("link", name="ETH/USDT").click()
    page.focus("textarea[name=reason]")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Approve"
    page.keyboard.press("Enter")
    page.wait_for_url("**/console/?reviewed=*")
    assert "ETH/USDT is now approved." in page.locator(".notice--ok").inner_text()
    assert page.locator("#pending-count").inner_text() == "0"

    # The API reports the decisions; the public feed shows the approved one only.
    rejected = api(server, "GET", f"/api/v1/trade-signals/{btc['id']}", owner["access"]).json()
    assert rejected["status"] == "rejected" and rejected["review"]["reason"] == "Stop is too tight for a 4h setup."
    assert api(server, "GET", f"/api/v1/trade-signals/{eth['id']}", owner["access"]).json()["status"] == "approved"
    public = api(server, "GET", "/api/v1/trade-signals/public").json()["results"]
    assert [item["id"] for item in public] == [eth["id"]]

    # The owner was notified of both decisions (the users slice mails on trade_signal.status_changed).
    def notifications():
        found = [m for m in messages(server.mail_dir) if m["To"] == owner["email"] and "signal was" in m["Subject"]]
        return found if len(found) == 2 else None

    mails = {m["Subject"]: m.get_payload() for m in wait_until(notifications, timeout=10, message="owner mail")}
    assert set(mails) == {"Your BTC/USDT signal was rejected", "Your ETH/USDT signal was approved"}
    assert "Stop is too tight for a 4h setup." in mails["Your BTC/USDT signal was rejected"]

    page.get_by_role("link", name="Recently reviewed").click()
    assert page.locator("table.signals tbody tr").count() == 2
    page.get_by_role("link", name="Overview").click()
    assert page.locator(".stat--approved .stat__value").inner_text() == "1"
    assert page.locator(".stat--rejected .stat__value").inner_text() == "1"
    assert page.locator("svg.chart rect.bar").count() == 2
    screenshot(page, "console-overview.png")
    assert open_page.problems == []  # no CSP violation, no script error

    page.get_by_role("button", name="Log out").click()
    page.wait_for_url("**/auth/login/")
    page.goto("/console/")
    assert "/auth/login/" in page.url


def test_a_stale_decision_shows_the_changed_message(server, open_page):
    owner = register(server, "Sam")
    signal = create_signal(server, owner)
    admin_email = make_admin(server)
    page = open_page()
    login(page, admin_email, f"/console/signals/{signal['id']}/")
    page.wait_for_url(f"**/console/signals/{signal['id']}/")

    edited = api(server, "PATCH", f"/api/v1/trade-signals/{signal['id']}", owner["access"],
                 json={"rationale": "Updated: volume confirmed on the retest."})
    assert edited.status_code == 200 and edited.json()["version"] == 2

    page.get_by_role("button", name="Approve").click()
    message = page.locator("#review-message").inner_text()
    assert "changed since you opened it" in message and "version 2, pending" in message
    assert "Updated: volume confirmed on the retest." in page.inner_text("main")
    assert api(server, "GET", f"/api/v1/trade-signals/{signal['id']}", owner["access"]).json()["status"] == "pending"
    page.get_by_role("button", name="Approve").click()  # decided again on the current version
    page.wait_for_url("**/console/?reviewed=*")
    assert api(server, "GET", f"/api/v1/trade-signals/{signal['id']}", owner["access"]).json()["status"] == "approved"


def test_a_regular_user_is_denied_and_the_queue_fits_a_narrow_screen(server, open_page):
    user = register(server, "Rita")
    page = open_page(viewport=(390, 844))
    login(page, user["email"], "/console/")
    page.wait_for_url("**/console/")
    assert "Administrators only" in page.inner_text("h1")
    response = page.request.get("/console/")
    assert response.status == 403

    admin_page = open_page(viewport=(390, 844))
    owner = register(server, "Nora")
    create_signal(server, owner, symbol="SOL/USDT", entry_price="150", stop_loss="140", take_profit="180")
    login(admin_page, make_admin(server), "/console/")
    admin_page.wait_for_url("**/console/")
    assert admin_page.locator("table.signals tbody tr").count() == 1
    assert admin_page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    screenshot(admin_page, "console-queue-narrow.png")


def test_browsable_api_lists_and_creates_signals_after_the_html_login(server, open_page):
    owner = register(server, "Bea")
    create_signal(server, owner, symbol="XRP/USDT", entry_price="0.5", stop_loss="0.45", take_profit="0.6")
    page = open_page()
    page.goto("/api/v1/trade-signals/")
    assert "Authentication credentials were not provided" in page.inner_text("body")
    login(page, owner["email"], "/api/v1/trade-signals/", redirected=False)
    page.wait_for_url("**/api/v1/trade-signals/")
    assert "XRP/USDT" in page.inner_text("body")

    body = json.dumps({**SIGNAL, "symbol": "ADA/USDT", "entry_price": "0.4", "stop_loss": "0.35",
                       "take_profit": "0.5"})
    page.fill("#id__content", body)
    with page.expect_response(lambda r: r.request.method == "POST") as posted:
        page.locator("#post-generic-content-form button", has_text="POST").click()
    assert posted.value.status == 201
    page.wait_for_function("document.body.innerText.includes('201 Created')")
    assert "ADA/USDT" in page.inner_text("body")
    mine = api(server, "GET", "/api/v1/trade-signals", owner["access"]).json()["results"]
    assert {item["symbol"] for item in mine} == {"XRP/USDT", "ADA/USDT"}

    # Edit it through the detail page's PATCH form.
    created = next(item for item in mine if item["symbol"] == "ADA/USDT")
    page.goto(f"/api/v1/trade-signals/{created['id']}")
    assert "Breakout above the weekly range" in page.inner_text("body")
    page.fill("#put-generic-content-form textarea", json.dumps({"rationale": "Edited in the browsable API."}))
    with page.expect_response(lambda r: r.request.method == "PATCH") as patched:
        page.locator("#put-generic-content-form button", has_text="PATCH").click()
    assert patched.value.status == 200
    detail = api(server, "GET", f"/api/v1/trade-signals/{created['id']}", owner["access"]).json()
    assert detail["rationale"] == "Edited in the browsable API." and detail["version"] == 2

    # The same cookie without the CSRF token is refused.
    cookies = {c["name"]: c["value"] for c in page.context.cookies()}
    forged = requests.post(f"{server.url}/api/v1/trade-signals", json=json.loads(body), cookies=cookies,
                           headers={"Accept": "application/json"}, timeout=10)
    assert forged.status_code == 403 and "CSRF" in forged.json()["error"]["message"]


def test_an_admin_is_not_offered_a_decision_on_their_own_signal(server, open_page):
    admin_email = make_admin(server)
    session = api(server, "POST", "/api/v1/auth/login", json={"email": admin_email, "password": PASSWORD})
    assert session.status_code == 200, session.text
    mine = create_signal(server, session.json())
    page = open_page()
    login(page, admin_email, f"/console/signals/{mine['id']}/")
    page.wait_for_url(f"**/console/signals/{mine['id']}/")
    assert "You cannot review your own signal" in page.locator("#own-signal-note").inner_text()
    assert page.get_by_role("button", name="Approve").count() == 0
    assert page.get_by_role("button", name="Reject").count() == 0
    screenshot(page, "console-own-signal.png")
    page.get_by_role("link", name="Review queue").click()
    assert "(you)" in page.locator("table.signals tbody tr").first.inner_text()
    assert open_page.problems == []
    assert api(server, "GET", f"/api/v1/trade-signals/{mine['id']}", session.json()["access"]).json()["status"] == \
        "pending"
