"""The discussions console pages through Django's test client with real tokens in the access cookie, the real
MongoDB-compatible server and Redis: who gets in, the reports and recent comments, hiding and unhiding, a
thread, the thread under a signal framed in the signal page, escaping, and the framing headers."""
import re
import uuid

import pytest

from apps.discussions import selectors as discussion_selectors
from apps.discussions import services as discussions
from apps.signals import services as signals
from tests.console.test_pages import browser
from tests.console.test_selectors import create, principal

HOME = "/console/discussions/"


def person(user_id: str, role: str = "user"):
    return principal(user_id, role=role)


def say(prefix: str = "A comment") -> str:
    return f"{prefix} {uuid.uuid4().hex[:8]}"  # the duplicate-post guard refuses the same text twice a minute


def forum_thread(author: str = "u1", title: str = "Stops on breakouts"):
    return discussions.thread_create(actor=person(author), title=title, body=say("Where do you put the stop?"))


def post(thread, author: str = "u2", body: str | None = None):
    return discussions.comment_create(thread_id=str(thread.id), actor=person(author), body=body or say())


def report(comment, reporter: str = "u3", reason: str = "Spam"):
    return discussions.report_create(comment_id=str(comment.id), actor=person(reporter), reason=reason)


def stored(comment):
    return discussion_selectors.comment_get(comment_id=str(comment.id))


def approved_signal(owner: str = "u1"):
    signal = create(owner=owner)
    signals.signal_review(signal_id=str(signal.id), actor=principal("admin9"), status="approved")
    return signal


@pytest.fixture
def admin():
    return browser("admin")


def html(response) -> str:
    return response.content.decode()


def reports_on(body: str) -> list[str]:
    """The report ids a page lists, in page order."""
    return re.findall(r'<li class="comment report" id="report-([^"]+)"', body)


def item(body: str, key: str) -> str:
    """The <li> of one row of a page (its id is the row's key)."""
    match = re.search(rf'<li class="comment[^"]*" id="{re.escape(key)}">.*?</li>', body, re.S)
    assert match, key
    return match.group(0)


# -- access ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("path", [HOME, "/console/discussions/threads/0123456789abcdef01234567/",
                                  "/console/discussions/signals/0123456789abcdef01234567/"])
def test_anonymous_visitors_are_sent_to_login_and_regular_users_get_the_403_page(path):
    response = browser(None).get(path)
    assert response.status_code == 302
    assert response["Location"] == "/auth/login/?next=" + path.replace("/", "%2F")
    denied = browser("user", "u1").get(path)
    assert denied.status_code == 403
    body = html(denied)
    assert "Administrators only" in body and "user u1" in body and 'action="/auth/logout/"' in body
    assert browser("user", "u1").post(HOME, {"action": "dismiss", "report_id": "x"}).status_code == 403


def test_the_shared_layout_links_both_consoles_by_path(admin):
    body = html(admin.get(HOME))
    assert '<a href="/console/discussions/" aria-current="page">Discussions</a>' in body
    for path in ("/console/", "/console/reviewed/", "/console/signals/", "/console/overview/"):
        assert f'<a href="{path}"' in body
    assert 'class="badge"' not in body  # the pending count is the signals pages' own
    create()
    queue = html(admin.get("/console/"))
    assert '<span class="badge" aria-label="1 pending">1</span>' in queue
    assert '<a href="/console/discussions/">Discussions</a>' in queue


# -- reports --------------------------------------------------------------------------------------------------
def test_open_reports_are_listed_oldest_first_and_dismissed(admin):
    thread = forum_thread(title="Scaling out")
    first, second = post(thread, body="First reported"), post(thread, body="Second reported")
    older, newer = report(first, reason="Spam link"), report(second, reason="Rude")
    body = html(admin.get(HOME))
    assert body.index(f'id="report-{older.id}"') < body.index(f'id="report-{newer.id}"')
    row = item(body, f"report-{older.id}")
    assert "First reported" in row and "Spam link" in row and "Scaling out" in row and "reported by u3" in row
    assert f'href="/console/discussions/threads/{thread.id}/"' in row
    assert 'name="csrfmiddlewaretoken"' in row

    done = admin.post(HOME, {"action": "dismiss", "report_id": older.id, "row": f"report-{older.id}"})
    assert done.status_code == 303
    assert done["Location"] == f"{HOME}?done=dismissed&id={first.id}"
    after = html(admin.get(done["Location"]))
    assert "Report dismissed: the comment by u2 stays visible." in after
    assert f'id="report-{older.id}"' not in after and f'id="report-{newer.id}"' in after
    assert stored(first).hidden is False

    again = admin.post(HOME, {"action": "dismiss", "report_id": older.id, "row": f"report-{older.id}"})
    assert again.status_code == 404 and "No open report with this id." in html(again)


def test_reports_walk_keyset_pages(admin):
    thread = forum_thread()
    made = [report(post(thread), reporter=f"r{n}") for n in range(22)]
    first = admin.get(HOME)
    assert reports_on(html(first)) == [r.id for r in made[:20]]
    next_url = first.context["reports"].next_url
    assert next_url.startswith(f"{HOME}?reports=")
    assert reports_on(html(admin.get(next_url))) == [r.id for r in made[20:]]
    stale = admin.get(HOME, {"reports": next_url.split("reports=")[1][:-2] + "xx"})
    assert stale.status_code == 200 and "no longer valid" in html(stale)


def test_hiding_a_reported_comment_needs_a_reason_then_resolves_its_report(admin):
    thread = forum_thread()
    comment = post(thread, body="Buy my course")
    open_report = report(comment)
    form = {"action": "hide_comment", "thread_id": str(thread.id), "comment_id": str(comment.id),
            "row": f"report-{open_report.id}"}
    refused = admin.post(HOME, {**form, "reason": "   "})
    assert refused.status_code == 400
    row = item(html(refused), f"report-{open_report.id}")
    assert "A reason is required to hide it." in row and 'aria-invalid="true"' in row
    assert stored(comment).hidden is False

    too_long = admin.post(HOME, {**form, "reason": "x" * 501})
    assert too_long.status_code == 400 and "at most 500 characters" in html(too_long)

    done = admin.post(HOME, {**form, "reason": "Advertising"})
    assert done.status_code == 303 and done["Location"] == f"{HOME}?done=comment&id={comment.id}"
    after = html(admin.get(done["Location"]))
    assert "The comment by u2 is now hidden." in after
    assert f'id="report-{open_report.id}"' not in after
    recent = item(after, f"comment-{comment.id}")
    assert "status--hidden" in recent and "Hidden by you" in recent and "Advertising" in recent
    assert 'value="unhide_comment"' in recent
    assert (stored(comment).hidden, stored(comment).moderation.reason) == (True, "Advertising")


# -- recent comments ------------------------------------------------------------------------------------------
def test_recent_comments_newest_first_with_their_thread_then_hide_and_unhide(admin):
    breakout, risk = forum_thread(title="Breakouts"), forum_thread(title="Risk sizing")
    older, newer = post(breakout, body="Older one"), post(risk, body="Newer one")
    body = html(admin.get(HOME))
    assert body.index(f'id="comment-{newer.id}"') < body.index(f'id="comment-{older.id}"')
    assert "Risk sizing" in item(body, f"comment-{newer.id}") and "Breakouts" in item(body, f"comment-{older.id}")

    base = {"thread_id": str(risk.id), "comment_id": str(newer.id), "row": f"comment-{newer.id}"}
    hidden = admin.post(HOME, {**base, "action": "hide_comment", "reason": "Off topic"})
    assert hidden.status_code == 303
    assert "status--hidden" in item(html(admin.get(hidden["Location"])), f"comment-{newer.id}")
    assert discussion_selectors.thread_get(thread_id=str(risk.id)).comment_count == 0

    shown = admin.post(HOME, {**base, "action": "unhide_comment"})
    assert shown.status_code == 303
    after = html(admin.get(shown["Location"]))
    assert "The comment by u2 is now visible." in after
    row = item(after, f"comment-{newer.id}")
    assert "status--hidden" not in row and 'value="hide_comment"' in row
    assert stored(newer).hidden is False
    assert discussion_selectors.thread_get(thread_id=str(risk.id)).comment_count == 1


def test_a_comment_body_is_plain_text_escaped_with_its_line_breaks(admin):
    thread = forum_thread()
    comment = post(thread, body="<script>alert(1)</script>\nsecond <b>line</b>")
    report(comment, reason="<img src=x onerror=alert(2)>")
    for page in (HOME, f"/console/discussions/threads/{thread.id}/"):
        body = html(admin.get(page))
        assert "<script>alert(1)</script>" not in body and "<b>line</b>" not in body
        assert "&lt;script&gt;alert(1)&lt;/script&gt;<br>second &lt;b&gt;line&lt;/b&gt;" in body
        assert "<img src=x" not in body
        assert "<script" not in body


def test_a_thread_of_another_page_or_a_forged_action_is_refused_without_a_500(admin):
    thread = forum_thread()
    comment = post(thread)
    unknown = admin.post(HOME, {"action": "hide_comment", "thread_id": "0" * 24, "comment_id": str(comment.id),
                                "reason": "x", "row": "nowhere"})
    assert unknown.status_code == 404
    assert "Thread not found." in html(unknown) and "Nothing was changed." in html(unknown)
    offered = admin.post(HOME, {"action": "hide_thread", "thread_id": str(thread.id), "reason": "x"})
    assert offered.status_code == 400 and "This page does not offer that action." in html(offered)
    garbage = admin.post(HOME, {"action": "explode"})
    assert garbage.status_code == 400
    assert discussion_selectors.thread_get(thread_id=str(thread.id)).hidden is False


def test_forms_are_csrf_protected():
    thread = forum_thread()
    comment = post(thread)
    client = browser("admin", csrf=True)
    response = client.post(HOME, {"action": "hide_comment", "thread_id": str(thread.id),
                                  "comment_id": str(comment.id), "reason": "Spam"})
    assert response.status_code == 403
    assert stored(comment).hidden is False


# -- a thread -------------------------------------------------------------------------------------------------
def test_thread_page_shows_every_comment_hides_and_unhides_the_thread_and_a_comment(admin):
    thread = forum_thread(title="Weekly levels")
    first, second = post(thread, body="Support at 60k"), post(thread, body="Resistance at 70k")
    discussions.comment_set_hidden(thread_id=str(thread.id), comment_id=str(first.id), actor=principal("admin2"),
                                   hidden=True, reason="Duplicate")
    page = f"/console/discussions/threads/{thread.id}/"
    body = html(admin.get(page))
    assert "<h1>Weekly levels</h1>" in body and "1 visible comment\n" in body
    assert body.index("Support at 60k") < body.index("Resistance at 70k")  # oldest first, hidden included
    assert "status--hidden" in item(body, f"comment-{first.id}")
    assert "status--hidden" not in item(body, f"comment-{second.id}")

    refused = admin.post(page, {"action": "hide_thread", "thread_id": str(thread.id), "reason": "",
                                "row": f"thread-{thread.id}"})
    assert refused.status_code == 400 and "A reason is required to hide it." in html(refused)
    hidden = admin.post(page, {"action": "hide_thread", "thread_id": str(thread.id), "reason": "Flame war",
                               "row": f"thread-{thread.id}"})
    assert hidden.status_code == 303 and hidden["Location"] == f"{page}?done=thread&id={thread.id}"
    after = html(admin.get(hidden["Location"]))
    assert "The thread “Weekly levels” is now hidden." in after and "Flame war" in after
    assert 'value="unhide_thread"' in after
    assert discussion_selectors.thread_get(thread_id=str(thread.id)).visible is False

    shown = admin.post(page, {"action": "unhide_thread", "thread_id": str(thread.id)})
    assert shown.status_code == 303
    assert "is now no longer hidden" in html(admin.get(shown["Location"]))
    unhid = admin.post(page, {"action": "unhide_comment", "thread_id": str(thread.id), "comment_id": str(first.id)})
    assert unhid.status_code == 303 and stored(first).hidden is False

    other = forum_thread(title="Elsewhere")
    stray = post(other)
    foreign = admin.post(page, {"action": "hide_comment", "thread_id": str(other.id), "comment_id": str(stray.id),
                                "reason": "x"})
    assert foreign.status_code == 400 and stored(stray).hidden is False
    missing = admin.get("/console/discussions/threads/0123456789abcdef01234567/")
    assert missing.status_code == 404 and "Thread not found" in html(missing)
    assert admin.get("/console/discussions/threads/nope/").status_code == 404


# -- the thread under a signal, framed in the signal page ------------------------------------------------------
def test_the_signal_page_frames_its_thread_and_only_that_view_may_be_framed(admin):
    signal = approved_signal()
    frame = f"/console/discussions/signals/{signal.id}/"
    page = admin.get(f"/console/signals/{signal.id}/")
    body = html(page)
    assert f'<iframe class="discussion-frame" id="discussion-frame" src="{frame}"' in body
    assert "frame-src 'self'" in page["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in page["Content-Security-Policy"] and page["X-Frame-Options"] == "DENY"

    empty = admin.get(frame)
    assert empty.status_code == 200 and "No comments yet." in html(empty)
    assert "frame-ancestors 'self'" in empty["Content-Security-Policy"]
    assert "frame-ancestors 'none'" not in empty["Content-Security-Policy"]
    assert empty["X-Frame-Options"] == "SAMEORIGIN" and empty["Cache-Control"] == "no-store"
    assert 'class="topbar"' not in html(empty)

    for other in (HOME, "/console/", "/console/overview/", f"/console/discussions/threads/{'0' * 24}/"):
        response = admin.get(other)
        assert response["X-Frame-Options"] == "DENY", other
        assert "frame-ancestors 'none'" in response["Content-Security-Policy"], other
        assert "frame-src" not in response["Content-Security-Policy"], other
    assert browser("user", "u1").get(frame)["X-Frame-Options"] == "SAMEORIGIN"  # its 403 page shows in the frame


def test_the_framed_thread_lists_the_signals_comments_and_hides_within_the_frame(admin):
    signal = approved_signal()
    comment = discussions.signal_comment_create(signal_id=str(signal.id), actor=person("u2"),
                                                body="Nice <setup>\nagreed")
    frame = f"/console/discussions/signals/{signal.id}/"
    body = html(admin.get(frame))
    row = item(body, f"comment-{comment.id}")
    assert "Nice &lt;setup&gt;<br>agreed" in row and f'action="{frame}"' in row
    assert 'name="csrfmiddlewaretoken"' in row and 'target="_top"' in body

    form = {"action": "hide_comment", "thread_id": str(comment.thread_id), "comment_id": str(comment.id),
            "row": f"comment-{comment.id}"}
    refused = admin.post(frame, {**form, "reason": ""})
    assert refused.status_code == 400 and "A reason is required to hide it." in html(refused)
    assert refused["X-Frame-Options"] == "SAMEORIGIN"
    done = admin.post(frame, {**form, "reason": "Spam"})
    assert done.status_code == 303 and done["Location"] == f"{frame}?done=comment&id={comment.id}"
    after = admin.get(done["Location"])
    assert "The comment by u2 is now hidden." in html(after)
    assert "status--hidden" in item(html(after), f"comment-{comment.id}")
    shown = admin.post(frame, {**form, "action": "unhide_comment"})
    assert shown.status_code == 303 and stored(comment).hidden is False

    other_thread = forum_thread()
    stray = post(other_thread)
    foreign = admin.post(frame, {"action": "hide_comment", "thread_id": str(other_thread.id),
                                 "comment_id": str(stray.id), "reason": "x"})
    assert foreign.status_code == 400 and stored(stray).hidden is False
    nothing = admin.post(f"/console/discussions/signals/{'0' * 24}/", form)
    assert nothing.status_code == 404 and "No comments yet." in html(nothing)
