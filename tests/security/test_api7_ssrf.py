"""API7:2023 Server Side Request Forgery — the API never fetches a URL a client sends: ``image_url`` and
``avatar_url`` are stored and returned as text only (no preview, no proxy, no webhook). They are still
restricted to https URLs so a client cannot plant ``javascript:``/``data:`` links or internal http addresses
for other users' browsers."""
from __future__ import annotations

import pytest

from tests.support.errors import assert_error
from tests.support.signals import BASE, VALID

REFUSED = ["http://169.254.169.254/latest/meta-data/", "javascript:alert(1)", "data:text/html,<script>",
           "file:///etc/passwd", "gopher://127.0.0.1:6379/_FLUSHALL", "//evil.example/x.png",
           "https://", "https://exa mple.com/a.png"]


@pytest.mark.parametrize("url", REFUSED)
def test_signal_image_url_must_be_https(owner, url):
    assert "image_url" in assert_error(owner.send("POST", BASE, {**VALID, "image_url": url}), 400,
                                       "validation_error")["details"]


@pytest.mark.parametrize("url", REFUSED)
def test_avatar_url_must_be_https(owner, url):
    response = owner.send("PATCH", "/api/v1/users/me", {"avatar_url": url})
    assert "avatar_url" in assert_error(response, 400, "validation_error")["details"]


def test_an_https_url_is_stored_verbatim_and_never_fetched(owner):
    # An address nothing listens on: if the server fetched it, the request would fail or hang.
    url = "https://127.0.0.1:9/never-fetched.png"
    assert owner.create(image_url=url)["image_url"] == url


def test_a_url_in_a_discussion_post_is_text_never_fetched(owner):
    from tests.support.discussions import comment, start_thread

    url = "https://127.0.0.1:9/never-fetched.png http://169.254.169.254/latest/meta-data/"
    thread = start_thread(owner, body=f"See {url}")
    assert thread["body"] == f"See {url}"
    assert comment(owner, thread["id"], body=url)["body"] == url
