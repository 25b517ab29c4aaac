"""Driving the discussions API as a client would: threads, comments, the thread under an approved signal."""
from __future__ import annotations

import uuid

from tests.support.signals import signal_in

BASE = "/api/v1/discussions"


def text(prefix: str = "A comment") -> str:
    """A body no other post has used (the duplicate-post guard refuses the same text twice in a minute)."""
    return f"{prefix} {uuid.uuid4().hex[:12]}"


def start_thread(caller, *, title: str = "Risk management on breakouts", body: str | None = None) -> dict:
    response = caller.send("POST", BASE, {"title": title, "body": body or text("Where do you put the stop?")})
    assert response.status_code == 201, response.content
    return response.json()


def comment(caller, thread_id: str, body: str | None = None) -> dict:
    response = caller.send("POST", f"{BASE}/{thread_id}/comments", {"body": body or text()})
    assert response.status_code == 201, response.content
    return response.json()


def signal_comment(caller, signal_id: str, body: str | None = None) -> dict:
    response = caller.send("POST", f"{BASE}/signals/{signal_id}/comments", {"body": body or text()})
    assert response.status_code == 201, response.content
    return response.json()


def approved_signal(*, owner, admin, **overrides) -> dict:
    """A signal of ``owner``'s approved by ``admin`` (the in-process bus projects it at once)."""
    return signal_in("approved", owner=owner, admin=admin, **overrides)


def report(caller, comment_id: str, reason: str = "Looks like spam") -> dict:
    """``caller`` reports a comment (checked to be accepted); the report as answered."""
    response = caller.send("POST", f"{BASE}/comments/{comment_id}/report", {"reason": reason})
    assert response.status_code == 202, response.content
    return response.json()


def hide_thread(admin, thread_id: str, reason: str = "Off topic") -> dict:
    response = admin.send("POST", f"{BASE}/{thread_id}/hide", {"reason": reason})
    assert response.status_code == 200, response.content
    return response.json()


def hide_comment(admin, thread_id: str, comment_id: str, reason: str = "Abusive") -> dict:
    response = admin.send("POST", f"{BASE}/{thread_id}/comments/{comment_id}/hide", {"reason": reason})
    assert response.status_code == 200, response.content
    return response.json()


def same_error(response, other) -> bool:
    """Two error answers read alike (status, envelope without the request id, content type, cache policy)."""
    def shape(answer):
        error = dict(answer.json()["error"])
        error.pop("request_id", None)
        return answer.status_code, error, answer.get("Content-Type"), answer.get("Cache-Control")

    return shape(response) == shape(other)
