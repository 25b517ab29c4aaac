"""The browsable API renderer offers a form only for an action the caller may really take, in JSON only, and
its pages carry no trace, no secret and no cache permission. Real DRF views (tests/browsable/urls.py and the
product's own) through Django's full middleware stack, with real signed tokens."""
from __future__ import annotations

import json
import logging
from html.parser import HTMLParser

import pytest
from django.test import Client

from tests.support.tokens import make_token

pytestmark = pytest.mark.urls("tests.browsable.urls")
HTML = {"HTTP_ACCEPT": "text/html"}


class _Page(HTMLParser):
    """The methods a page's submit buttons send (not the GET link, not the logout), and its raw-form body."""

    def __init__(self, text: str):
        super().__init__()
        self.form: dict | None = None
        self.methods: list[str] = []
        self.textarea: str | None = None
        self._in_textarea = False
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self.form = attrs
        elif tag == "button" and self.form is not None and self.form.get("id") not in ("get-form", "logoutForm"):
            method = attrs.get("data-method") or self.form.get("data-method") or self.form.get("method") or "GET"
            self.methods.append(method.upper())
        elif tag == "textarea":
            self._in_textarea, self.textarea = True, ""

    def handle_endtag(self, tag):
        if tag == "form":
            self.form = None
        elif tag == "textarea":
            self._in_textarea = False

    def handle_data(self, data):
        if self._in_textarea:
            self.textarea += data


def page(path: str, *, user_id: str | None = None, role: str = "user"):
    headers = dict(HTML)
    if user_id:
        headers["HTTP_AUTHORIZATION"] = f"Bearer {make_token(user_id, role=role, name='Nora')}"
    response = Client().get(path, **headers)
    text = response.content.decode()
    parsed = _Page(text)
    return response, text, sorted(parsed.methods), parsed.textarea


def test_a_collection_offers_its_create_as_json_prefilled_with_the_input_fields():
    response, text, methods, body = page("/api/probe/notes", user_id="u1")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/html")
    assert methods == ["OPTIONS", "POST"]
    assert 'id="post-object-form"' not in text  # no field-by-field form: it would post multipart/form-data
    assert '<option value="application/json" selected>application/json</option>' in text
    assert json.loads(body) == {"title": "", "body": ""}


def test_an_anonymous_visitor_is_offered_nothing_but_the_login_link():
    response, text, methods, body = page("/api/probe/notes")
    assert response.status_code == 200
    assert methods == [] and body is None
    assert '<a href="/auth/login/?next=%2Fapi%2Fprobe%2Fnotes">Log in</a>' in text
    assert "logoutForm" not in text


def test_an_object_route_without_the_hook_offers_no_change():
    """Permission classes admit any signed-in caller, but the object's own rules are unknown: no form."""
    response, _text, methods, body = page("/api/probe/notes/n1?owner=u1", user_id="u1")
    assert response.status_code == 200
    assert methods == ["OPTIONS"] and body is None


def test_the_hook_decides_per_caller_and_an_edit_starts_from_the_current_values():
    _response, _text, methods, body = page("/api/probe/owned/n1?owner=u1", user_id="u1")
    assert methods == ["OPTIONS", "PATCH"]  # the owner edits; DELETE is refused by the hook
    assert json.loads(body) == {"title": "Levels", "body": "Watch the weekly close."}  # writable fields only
    _response, _text, methods, body = page("/api/probe/owned/n1?owner=u1", user_id="u2")
    assert methods == ["OPTIONS"] and body is None


def test_a_failing_hook_offers_nothing_and_the_page_still_renders(caplog):
    with caplog.at_level(logging.WARNING, logger="tradesignals.browsable"):
        response, _text, methods, _body = page("/api/probe/broken/n1?owner=u1", user_id="u1")
    assert response.status_code == 200 and methods == ["OPTIONS"]
    assert "action_allowed failed" in caplog.text


@pytest.mark.parametrize("path, status", [("/api/probe/owned/missing", 404), ("/api/probe/owned/busy", 429)])
def test_a_page_the_caller_cannot_act_on_offers_nothing(path, status):
    response, _text, methods, _body = page(path, user_id="u1")
    assert response.status_code == status
    assert methods == []


def test_an_operation_without_an_input_serializer_gets_an_empty_json_form():
    _response, _text, methods, body = page("/api/probe/plain", user_id="u1")
    assert methods == ["OPTIONS", "POST"] and body.strip() == ""


def test_an_unexpected_error_page_is_the_envelope_without_a_trace():
    response, text, methods, _body = page("/api/probe/boom")
    assert response.status_code == 500 and response["Content-Type"].startswith("text/html")
    assert "&quot;code&quot;: &quot;internal_error&quot;" in text
    assert "secret internal detail" not in text and "/etc/passwd" not in text
    assert "Traceback (most recent call last)" not in text and methods == []


def test_html_pages_are_never_stored_while_the_json_keeps_its_caching(make_signal_owner):
    owner_id, token = make_signal_owner
    client = Client(HTTP_AUTHORIZATION=f"Bearer {token}")
    as_json = client.get("/api/v1/trade-signals")
    as_html = client.get("/api/v1/trade-signals", **HTML)
    assert as_json.status_code == as_html.status_code == 200
    assert as_json["Cache-Control"] == "private, no-cache"
    assert as_html["Cache-Control"] == "no-store"
    assert as_html["Content-Type"].startswith("text/html")


def test_the_product_pages_link_our_login_and_logout(make_signal_owner):
    _owner_id, token = make_signal_owner
    signed_in = Client(HTTP_AUTHORIZATION=f"Bearer {token}").get("/api/v1/trade-signals", **HTML).content.decode()
    assert '<form id="logoutForm" class="navbar-form" method="post" action="/auth/logout/">' in signed_in
    assert "onclick" not in signed_in  # the logout is a form button: no inline handler for the policy to allow
    anonymous = Client().get("/api/v1/trade-signals/public", **HTML).content.decode()
    assert '<a href="/auth/login/?next=%2Fapi%2Fv1%2Ftrade-signals%2Fpublic">Log in</a>' in anonymous
    assert "django-rest-framework.org" not in anonymous


@pytest.fixture
def make_signal_owner():
    user_id = "a" * 24
    return user_id, make_token(user_id, name="Nora")
