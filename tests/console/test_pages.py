"""The console pages through Django's test client with real tokens in the access cookie, the real
MongoDB-compatible server and Redis: who gets in, what each page shows, and what a decision does."""
import re
from decimal import Decimal

import pytest
from django.conf import settings
from django.test import Client

from apps.signals import services
from apps.signals.models import TradeSignal
from tests.console.test_selectors import create, principal
from tests.support.tokens import make_token


def listed(body: str) -> list[str]:
    """The signal ids a page links to, in page order (each once)."""
    return list(dict.fromkeys(re.findall(r'href="/console/signals/([0-9a-f]{24})/"', body)))


def browser(role: str | None, user_id: str = "admin1", *, csrf: bool = False) -> Client:
    client = Client(enforce_csrf_checks=csrf, HTTP_ACCEPT="text/html")
    if role:
        client.cookies[settings.AUTH_ACCESS_COOKIE] = make_token(user_id, role=role, name=f"{role} {user_id}")
    return client


@pytest.fixture
def admin():
    return browser("admin")


@pytest.mark.parametrize("path", ["/console/", "/console/signals/", "/console/reviewed/", "/console/overview/",
                                  "/console/signals/0123456789abcdef01234567/"])
def test_anonymous_and_bad_tokens_are_sent_to_the_login_page(path):
    for client in (browser(None), browser(None)):
        response = client.get(path + "?x=1")
        assert response.status_code == 302
        assert response["Location"] == "/auth/login/?next=" + path.replace("/", "%2F") + "%3Fx%3D1"
    forged = Client(HTTP_ACCEPT="text/html")
    forged.cookies[settings.AUTH_ACCESS_COOKIE] = make_token("admin1", role="admin", ttl=-60)
    assert forged.get(path).status_code == 302


def test_a_regular_user_gets_a_clear_403_page():
    response = browser("user", "u1").get("/console/")
    assert response.status_code == 403
    body = response.content.decode()
    assert "Administrators only" in body and "user u1" in body and 'action="/auth/logout/"' in body
    assert "csrfmiddlewaretoken" in body


def test_queue_lists_pending_oldest_first_with_the_count_and_strict_headers(admin):
    older, newer = create(symbol="ETH"), create(symbol="SOL")
    services.signal_review(signal_id=str(create(symbol="ADA").id), actor=principal("a"), status="approved")
    response = admin.get("/console/")
    assert response.status_code == 200
    body = response.content.decode()
    assert body.index(f"/console/signals/{older.id}/") < body.index(f"/console/signals/{newer.id}/")
    assert "ADA" not in body
    assert '<strong class="count" id="pending-count">2</strong>' in body
    csp = response["Content-Security-Policy"]
    assert "script-src 'self' 'nonce-" in csp and "style-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert response["X-Frame-Options"] == "DENY"
    assert response["Cache-Control"] == "no-store"
    assert " style=" not in body and "<script" not in body


def test_queue_filters_and_keyset_pages(admin):
    made = [create(symbol="BTC") for _ in range(22)] + [create(symbol="ETH", owner="u9")]
    first = admin.get("/console/", {"symbol": "btc"})
    body = first.content.decode()
    assert listed(body) == [str(s.id) for s in made[:20]] and "ETH" not in body
    next_url = first.context["next_url"]
    assert next_url.startswith("/console/?symbol=BTC&cursor=")
    second = admin.get(next_url).content.decode()
    assert listed(second) == [str(s.id) for s in made[20:22]]
    only = admin.get("/console/", {"owner_id": "u9"}).content.decode()
    assert listed(only) == [str(made[22].id)]
    tampered = admin.get("/console/", {"symbol": "BTC", "cursor": next_url.split("cursor=")[1][:-2] + "xx"})
    assert tampered.status_code == 200 and "no longer valid" in tampered.content.decode()
    invalid = admin.get("/console/", {"symbol": "not a symbol!"})
    assert invalid.status_code == 200 and "Use 1–15 letters" in invalid.content.decode()


def test_signal_page_shows_every_field_the_https_image_and_history(admin):
    signal = services.signal_create(owner_id="u1", owner_name="Olivia", symbol="BTC/USDT", direction="short",
                                    entry_price=Decimal("64000.10"), stop_loss=Decimal("65000"),
                                    take_profit=Decimal("60000.5"), timeframe="4h", rationale="Lower high.",
                                    image_url="https://charts.example.com/a.png")
    services.signal_review(signal_id=str(signal.id), actor=principal("admin1"), status="rejected", reason="Thin")
    body = admin.get(f"/console/signals/{signal.id}/").content.decode()
    for text in ("BTC/USDT", "short", "64000.10", "65000", "60000.5", "4h", "Lower high.", "Olivia", "4.00",
                 'src="https://charts.example.com/a.png"', "pending → <strong>rejected</strong> by you: “Thin”"):
        assert text in body, text
    assert 'value="approved"' in body and 'value="rejected"' not in body  # only the possible decision
    assert admin.get("/console/signals/0123456789abcdef01234567/").status_code == 404


def test_reject_needs_a_reason_then_approve_and_the_queue_confirms(admin):
    signal = create()
    page = f"/console/signals/{signal.id}/"
    refused = admin.post(page, {"version": 1, "decision": "rejected", "reason": "  "})
    assert refused.status_code == 400
    assert "A reason is required to reject a signal." in refused.content.decode()
    assert TradeSignal.objects.get(id=signal.id).status == "pending"

    done = admin.post(page, {"version": 1, "decision": "rejected", "reason": "No stop rationale"})
    assert done.status_code == 303 and done["Location"] == f"/console/?reviewed={signal.id}"
    stored = TradeSignal.objects.get(id=signal.id)
    assert (stored.status, stored.review.reason, stored.review.by, stored.version) == (
        "rejected", "No stop rationale", "admin1", 2)
    confirmation = admin.get(done["Location"]).content.decode()
    assert "is now <strong>rejected</strong>" in confirmation
    assert "is now" not in browser("admin", "admin2").get(done["Location"]).content.decode()

    approved = admin.post(page, {"version": 2, "decision": "approved", "reason": ""})
    assert approved.status_code == 303
    assert TradeSignal.objects.get(id=signal.id).status == "approved"
    mine = admin.get("/console/reviewed/").content.decode()
    assert f"/console/signals/{signal.id}/" in mine and "by you" in mine
    assert f"/console/signals/{signal.id}/" not in browser("admin", "admin2").get("/console/reviewed/").content.decode()
    assert f"/console/signals/{signal.id}/" in browser("admin", "admin2").get(
        "/console/reviewed/?who=anyone").content.decode()


@pytest.mark.parametrize("version", ["\uff11", "\u0661", "\u00b9", "0_1", " 1", "1.0", "0", ""])
def test_a_version_that_is_not_plain_ascii_digits_is_refused(admin, version):
    signal = create()
    response = admin.post(f"/console/signals/{signal.id}/", {"version": version, "decision": "approved"})
    assert response.status_code == 400
    stored = TradeSignal.objects.get(id=signal.id)
    assert (stored.status, stored.version) == ("pending", 1)


def test_a_stale_decision_is_refused_with_the_changed_message(admin):
    signal = create()
    services.signal_review(signal_id=str(signal.id), actor=principal("admin2"), status="approved")
    response = admin.post(f"/console/signals/{signal.id}/", {"version": 1, "decision": "rejected",
                                                            "reason": "Too risky"})
    assert response.status_code == 412
    body = response.content.decode()
    assert "changed since you opened it" in body and "version 2, approved" in body
    assert 'name="version" value="2"' in body and "Too risky</textarea>" in body  # decide again, text kept
    stored = TradeSignal.objects.get(id=signal.id)
    assert (stored.status, stored.version) == ("approved", 2)


def test_a_decision_sends_the_same_event_as_the_api(admin):
    """The owner's notification rides on trade_signal.status_changed (shown end to end in the browser test)."""
    from tradesignals.kernel import events

    seen = []
    events.subscribe("trade_signal.status_changed", seen.append, app="console-test")
    try:
        signal = create(owner="u1")
        admin.post(f"/console/signals/{signal.id}/", {"version": 1, "decision": "approved"})
    finally:
        events._subscribers["trade_signal.status_changed"].remove(("console-test", seen.append))
    assert [e.data["new_status"] for e in seen] == ["approved"]
    assert seen[0].data["reviewed_by"] == "admin1" and seen[0].data["owner_id"] == "u1"


def test_forms_are_csrf_protected():
    signal = create()
    client = browser("admin", csrf=True)
    response = client.post(f"/console/signals/{signal.id}/", {"version": 1, "decision": "approved"})
    assert response.status_code == 403
    assert TradeSignal.objects.get(id=signal.id).status == "pending"


def test_overview_counts_and_chart(admin):
    create(), create()
    services.signal_review(signal_id=str(create().id), actor=principal("a"), status="approved")
    response = admin.get("/console/overview/")
    body = response.content.decode()
    assert response.status_code == 200
    assert '<span class="stat__value">2</span> <span class="stat__label">pending</span>' in body
    assert '<span class="stat__value">1</span> <span class="stat__label">approved</span>' in body
    assert body.count('<rect class="bar bar--pending"') == 1 and body.count('<rect class="bar bar--approved"') == 1
    assert "<svg" in body and " style=" not in body


def test_all_signals_filters_by_status(admin):
    pending, approved = create(symbol="ETH"), create(symbol="SOL")
    services.signal_review(signal_id=str(approved.id), actor=principal("a"), status="approved")
    body = admin.get("/console/signals/", {"status": "approved"}).content.decode()
    assert f"/console/signals/{approved.id}/" in body and f"/console/signals/{pending.id}/" not in body
    both = admin.get("/console/signals/").content.decode()
    assert f"/console/signals/{approved.id}/" in both and f"/console/signals/{pending.id}/" in both


def test_a_decision_posted_with_an_expired_cookie_is_not_replayed():
    signal = create()
    page = f"/console/signals/{signal.id}/"
    client = Client()
    client.cookies[settings.AUTH_ACCESS_COOKIE] = make_token("admin1", role="admin", ttl=-60)
    response = client.post(page, {"version": 1, "decision": "approved"})
    assert response.status_code == 303 and response["Location"] == f"/auth/login/?next={page.replace('/', '%2F')}"
    client.cookies[settings.AUTH_REFRESH_COOKIE] = "a-refresh-token"
    response = client.post(page, {"version": 1, "decision": "approved"})
    assert response.status_code == 303 and response["Location"] == f"/auth/refresh/?next={page.replace('/', '%2F')}"
    assert TradeSignal.objects.get(id=signal.id).status == "pending"


# -- separation of duties ---------------------------------------------------------------------------------
def test_own_signal_page_has_no_decision_form_and_others_have_it(admin):
    mine, theirs = create(owner="admin1"), create(owner="u1")
    body = admin.get(f"/console/signals/{mine.id}/").content.decode()
    assert "You cannot review your own signal" in body
    assert 'name="decision"' not in body and f'action="/console/signals/{mine.id}/"' not in body
    other = admin.get(f"/console/signals/{theirs.id}/").content.decode()
    assert 'value="approved"' in other and 'value="rejected"' in other
    assert "You cannot review your own signal" not in other
    # a colleague sees the form on the same signal
    assert 'value="approved"' in browser("admin", "admin2").get(f"/console/signals/{mine.id}/").content.decode()


def test_queue_marks_ones_own_signals(admin):
    mine, theirs = create(owner="admin1", symbol="ETH"), create(owner="u1", symbol="SOL")
    row = re.compile(r'<tr>\s*<td data-label="Symbol"><a href="/console/signals/([0-9a-f]{24})/".*?</tr>', re.S)
    rows = {match.group(1): match.group(0) for match in row.finditer(admin.get("/console/").content.decode())}
    assert "(you)" in rows[str(mine.id)] and "(you)" not in rows[str(theirs.id)]


@pytest.mark.parametrize(("decision", "reason"), [("approved", ""), ("rejected", "Fine by me")])
def test_a_forged_decision_on_ones_own_signal_is_403_and_changes_nothing(admin, decision, reason):
    mine = create(owner="admin1")
    response = admin.post(f"/console/signals/{mine.id}/", {"version": 1, "decision": decision, "reason": reason})
    assert response.status_code == 403
    body = response.content.decode()
    assert "Administrators cannot review their own signals" in body and 'name="decision"' not in body
    assert f'href="/console/signals/{mine.id}/">Back to the signal' in body and "Review queue" in body
    stored = TradeSignal.objects.get(id=mine.id)
    assert (stored.status, stored.review, stored.version, stored.history) == ("pending", None, 1, [])


def test_self_review_setting_shows_the_form_and_allows_the_decision(admin, settings):
    settings.SIGNAL_SELF_REVIEW = True
    mine = create(owner="admin1")
    page = f"/console/signals/{mine.id}/"
    assert 'value="approved"' in admin.get(page).content.decode()
    assert admin.post(page, {"version": 1, "decision": "approved"}).status_code == 303
    assert TradeSignal.objects.get(id=mine.id).status == "approved"
