"""The discussions API end to end in one process: threads, comments, the thread under a signal, moderation."""
from __future__ import annotations

from tests.support.discussions import BASE, comment, signal_comment, start_thread, text
from tests.support.signals import review


def test_a_forum_thread_is_listed_read_and_commented(owner, other, anonymous):
    thread = start_thread(owner, title="Scaling out of winners")
    assert thread["author_id"] == owner.user_id and thread["author_name"] == "Olivia Owner"
    assert thread["comment_count"] == 0 and thread["signal_id"] is None and thread["edited_at"] is None
    assert "hidden" not in thread
    listed = anonymous.get(BASE)
    assert listed.status_code == 200, listed.content
    assert [t["id"] for t in listed.json()["results"]] == [thread["id"]]
    first = comment(other, thread["id"], "First!\nSecond line <b>kept</b>")
    assert first["body"] == "First!\nSecond line <b>kept</b>" and first["author_name"] == "Otto Other"
    page = anonymous.get(f"{BASE}/{thread['id']}/comments").json()
    assert [c["id"] for c in page["results"]] == [first["id"]]
    detail = anonymous.get(f"{BASE}/{thread['id']}").json()
    assert detail["comment_count"] == 1 and detail["last_activity_at"] >= thread["last_activity_at"]


def test_the_thread_under_a_signal_is_created_by_its_first_comment_and_closes_with_the_signal(
        owner, other, admin, anonymous, signal):
    path = f"{BASE}/signals/{signal['id']}/comments"
    empty = anonymous.get(path)
    assert empty.status_code == 200 and empty.json() == {"results": [], "next": None}
    posted = signal_comment(other, signal["id"])
    threads = anonymous.get(BASE, signal_id=signal["id"]).json()["results"]
    assert len(threads) == 1 and threads[0]["title"] == "BTC/USDT long 4h"
    assert threads[0]["author_id"] == owner.user_id and threads[0]["comment_count"] == 1
    assert [c["id"] for c in anonymous.get(path).json()["results"]] == [posted["id"]]
    # The owner edits it (back to pending): the thread closes for everyone but admins.
    edited = owner.patch(f"/api/v1/trade-signals/{signal['id']}", {"rationale": "Updated view"})
    assert edited.status_code == 200, edited.content
    assert anonymous.get(path).status_code == 404
    assert other.send("POST", path, {"body": text()}).status_code == 404
    assert anonymous.get(f"{BASE}/{threads[0]['id']}").status_code == 404
    closed = admin.get(f"{BASE}/{threads[0]['id']}").json()
    assert closed["closed"] is True
    assert review(admin, signal["id"], "rejected", reason="Stop too wide").status_code == 200
    assert anonymous.get(BASE, signal_id=signal["id"]).json()["results"] == []
    # Approved again: open again, with its comments.
    assert review(admin, signal["id"], "approved", reason=None).status_code == 200
    assert [c["id"] for c in anonymous.get(path).json()["results"]] == [posted["id"]]


def test_a_pending_or_unknown_signal_has_no_thread(owner, other):
    pending = owner.create()
    for signal_id in (pending["id"], "0" * 24, "nope"):
        assert other.get(f"{BASE}/signals/{signal_id}/comments").status_code == 404
        assert other.send("POST", f"{BASE}/signals/{signal_id}/comments", {"body": text()}).status_code == 404


def test_hidden_content_disappears_for_everyone_but_admins(owner, other, admin, anonymous):
    thread = start_thread(owner)
    reply = comment(other, thread["id"])
    report = owner.send("POST", f"{BASE}/comments/{reply['id']}/report", {"reason": "Spam"})
    assert report.status_code == 202, report.content
    assert owner.send("POST", f"{BASE}/comments/{reply['id']}/report", {"reason": "Spam"}).status_code == 409
    assert [r["comment_id"] for r in admin.get(f"{BASE}/reports").json()["results"]] == [reply["id"]]
    hidden = admin.send("POST", f"{BASE}/{thread['id']}/comments/{reply['id']}/hide", {"reason": "Spam link"})
    assert hidden.status_code == 200 and hidden.json()["hidden"] is True
    assert admin.get(f"{BASE}/reports").json()["results"] == []
    for caller in (anonymous, owner, other):
        assert caller.get(f"{BASE}/{thread['id']}/comments").json()["results"] == []
    assert anonymous.get(f"{BASE}/{thread['id']}").json()["comment_count"] == 0
    assert [c["hidden"] for c in admin.get(f"{BASE}/{thread['id']}/comments").json()["results"]] == [True]
    shown = admin.send("POST", f"{BASE}/{thread['id']}/comments/{reply['id']}/unhide", {})
    assert shown.status_code == 200 and shown.json()["hidden"] is False
    assert [c["id"] for c in anonymous.get(f"{BASE}/{thread['id']}/comments").json()["results"]] == [reply["id"]]
    assert admin.send("POST", f"{BASE}/{thread['id']}/hide", {"reason": "Off topic"}).status_code == 200
    assert anonymous.get(f"{BASE}/{thread['id']}").status_code == 404
    assert anonymous.get(BASE).json()["results"] == []
    assert admin.get(BASE).json()["results"][0]["hidden"] is True


def test_the_same_text_twice_in_a_minute_is_a_409(owner):
    thread = start_thread(owner)
    body = text()
    comment(owner, thread["id"], body)
    again = owner.send("POST", f"{BASE}/{thread['id']}/comments", {"body": body})
    assert again.status_code == 409, again.content
    assert again.json()["error"]["code"] == "conflict"
