"""The discussions console in real headless Chromium against a real gunicorn: the thread under a signal shown in
the signal page's frame (same-origin framing, no policy violation), a comment hidden from inside the frame, and
the Discussions page showing it hidden and showing it again.

Users and content come from the product itself: accounts and the comment through the API, the administrator
with ``manage.py createadmin``, the signal approved through the API, the admin signed in through the HTML form.
"""
from __future__ import annotations

import pytest

from tests.console.test_browser import (
    PASSWORD,
    create_signal,
    login,
    make_admin,
    register,
    screenshot,
    server,  # noqa: F401 - the module's gunicorn (its own instance here)
)
from tests.support.browser import csp_violations, watched_page
from tests.support.live import api

pytestmark = pytest.mark.cluster

BODY = "<script>alert(1)</script>\nSecond line"


@pytest.fixture
def admin_page(browser, server):  # noqa: F811 - the fixture imported above
    context = browser.new_context(base_url=server.url, viewport={"width": 1280, "height": 1200})
    page = watched_page(context)
    page.on("dialog", lambda dialog: (page.problems.append(f"dialog: {dialog.message}"), dialog.dismiss()))
    yield page
    context.close()


def frame_violations(page) -> list[str]:
    """The policy violations of every document of the page, the framed one included."""
    found = []
    for frame in page.frames:
        found += frame.evaluate("window.__cspViolations || []")
    return found


def test_the_signal_page_shows_its_thread_and_a_comment_is_hidden_within_the_frame(server, admin_page):  # noqa: F811
    owner, commenter = register(server, "Olga"), register(server, "Carl")
    signal = create_signal(server, owner)
    admin_email = make_admin(server)
    session = api(server, "POST", "/api/v1/auth/login", json={"email": admin_email, "password": PASSWORD})
    assert session.status_code == 200, session.text
    approved = api(server, "PATCH", f"/api/v1/trade-signals/{signal['id']}/status", session.json()["access"],
                   json={"status": "approved"})
    assert approved.status_code == 200, approved.text
    comments = f"/api/v1/discussions/signals/{signal['id']}/comments"
    posted = api(server, "POST", comments, commenter["access"], json={"body": BODY})
    assert posted.status_code == 201, posted.text
    comment_id = posted.json()["id"]

    page = admin_page
    signal_path = f"/console/signals/{signal['id']}/"
    login(page, admin_email, signal_path)
    page.wait_for_url(f"**{signal_path}")
    frame = page.frame_locator("#discussion-frame")
    row = frame.locator(f"#comment-{comment_id}")
    row.wait_for()
    assert row.locator(".comment__body").inner_text() == BODY  # plain text: shown, never run
    assert "Carl" in row.locator(".comment__meta").inner_text()
    # The frame is laid out with the console's stylesheet (a framed page, no top bar).
    assert frame.locator("body.framed").count() == 1 and frame.locator(".topbar").count() == 0
    screenshot(page, "console-signal-comments.png")

    row.get_by_label("Reason for hiding").fill("Spam")
    row.get_by_role("button", name="Hide", exact=True).click()
    frame.locator("#confirmation").wait_for()
    assert frame.locator("#confirmation").inner_text() == "The comment by Carl is now hidden."
    assert page.url.endswith(signal_path)  # the form posted within the frame; the signal page stayed
    assert frame.locator(f"#comment-{comment_id} .status--hidden").count() == 1
    assert api(server, "GET", comments).json()["results"] == []  # hidden for everyone else
    assert csp_violations(page) == [] and frame_violations(page) == [] and page.problems == []

    # The Discussions page (another slice's pages, the same layout) lists it hidden; show it again there.
    page.get_by_role("link", name="Discussions").click()
    page.wait_for_url("**/console/discussions/")
    recent = page.locator(f"#comment-{comment_id}")
    assert "hidden" in recent.locator(".status--hidden").inner_text()
    assert signal["symbol"] in recent.locator(".comment__meta").inner_text()  # the thread's title
    assert page.eval_on_selector(".topbar", "el => getComputedStyle(el).display") == "flex"
    screenshot(page, "console-discussions.png")
    recent.get_by_role("button", name="Unhide").click()
    page.wait_for_url("**/console/discussions/?done=comment*")
    assert page.locator("#confirmation").inner_text() == "The comment by Carl is now visible."
    assert [c["id"] for c in api(server, "GET", comments).json()["results"]] == [comment_id]
    assert csp_violations(page) == [] and page.problems == []
