"""What the schema fuzz needs to make a valid discussions case meaningful: real threads, comments, reports and an
approved signal, made through the real API by the right caller, and bodies the duplicate-post guard has not seen.

A generated id names nothing (a 404, whatever the rest of the case), so a valid case naming a thread, comment,
signal or report gets a real one (``real_discussion_ids``):

- ``{thread_id}``: a forum thread started for the case by its caller (anonymous: by another user), so the
  author-only edit and delete are the caller's own; an unhide's thread is hidden first by an administrator;
- ``{comment_id}`` in a thread: a comment the caller posted there just now (its edit window open); an unhide's
  comment is hidden first;
- ``comments/{comment_id}/report``: another user's comment (one's own is a 403), not reported by the caller yet;
- ``{report_id}``: an open report of another user's comment;
- ``signals/{signal_id}/comments`` and the list's ``signal_id``: a signal created and approved through the real
  API, with comments under it (so a real cursor has a second page to continue to).

Each such case then has one answer (``expected_statuses``): a read 200 (304 to a matching If-None-Match); a write
its 2xx for its author or an administrator; 401 for an anonymous write (and the administrators' queue); 403 for a
user calling an administrator's operation.

The same text by the same author within DISCUSSION_DUPLICATE_WINDOW is a 409 (documented), and one account
serves a whole test: a valid post whose generated body that account has already sent gets a distinct ending
(``unique_posts``), so a valid post is a new post.
"""
from __future__ import annotations

import time
import uuid

import requests

from tests.support.signals import VALID

BASE = "/api/v1/discussions"
THREAD = f"{BASE}/{{thread_id}}"
COMMENT = f"{BASE}/{{thread_id}}/comments/{{comment_id}}"
REPORT = f"{BASE}/comments/{{comment_id}}/report"
ADMIN_ONLY = {(f"{THREAD}/hide", "POST"), (f"{THREAD}/unhide", "POST"), (f"{COMMENT}/hide", "POST"),
              (f"{COMMENT}/unhide", "POST"), (f"{BASE}/reports", "GET"),
              (f"{BASE}/reports/{{report_id}}/dismiss", "POST")}
UNHIDES = {f"{THREAD}/unhide", f"{COMMENT}/unhide"}
LISTS_WITH_PAGES = {f"{THREAD}/comments"}  # a fresh thread gets two comments for a real cursor to continue to
POSTS = {(BASE, "POST"): "thread", (f"{THREAD}/comments", "POST"): "comment",
         (f"{BASE}/signals/{{signal_id}}/comments", "POST"): "comment"}
TOKEN_REUSE = 300.0  # seconds; access tokens live 15 minutes


def text(prefix: str) -> str:
    return f"{prefix} {uuid.uuid4().hex[:12]}"


class Caller:
    """A caller of the seeds: a bearer token kept a few minutes (no fuzz case ever holds it)."""

    def __init__(self, account):
        self.account = account
        self._token, self._at = None, 0.0

    def headers(self) -> dict:
        if self._token is None or time.monotonic() - self._at > TOKEN_REUSE:
            self._token, self._at = self.account.fresh_token(), time.monotonic()
        return {"Authorization": f"Bearer {self._token}"}


class Seeds:
    """Content the valid cases name, made through the real API: ``owner`` writes what others act on,
    ``reporter`` reports it, ``admin`` approves the signal and hides what an unhide shows again."""

    def __init__(self, base_url: str, *, owner, reporter, admin):
        self.base_url = base_url
        self.owner, self.reporter, self.admin = Caller(owner), Caller(reporter), Caller(admin)
        self.forum_thread = self.thread(self.owner.headers())["id"]
        self.signal_id = self._approved_signal()
        for _ in range(2):  # a second page of the signal's comments, and of the open reports
            self.comment(self.reporter.headers(), thread_id=None, signal_id=self.signal_id)
            self.open_report()

    def _send(self, method: str, path: str, headers: dict, body: dict | None = None, expect: int = 201) -> dict:
        response = requests.request(method, f"{self.base_url}{path}", json=body, headers=headers, timeout=10)
        assert response.status_code == expect, f"{method} {path}: {response.status_code} {response.text}"
        return response.json()

    def _approved_signal(self) -> str:
        signal = self._send("POST", "/api/v1/trade-signals", self.owner.headers(), VALID)
        self._send("PATCH", f"/api/v1/trade-signals/{signal['id']}/status", self.admin.headers(),
                   {"status": "approved", "reason": "Reviewed"}, expect=200)
        # The discussions app learns of the approval from trade_signal.updated (relayed after the commit).
        deadline = time.monotonic() + 10
        while True:
            response = requests.get(f"{self.base_url}{BASE}/signals/{signal['id']}/comments", timeout=10)
            if response.status_code == 200:
                return signal["id"]
            assert time.monotonic() < deadline, f"the approved signal never opened: {response.text}"
            time.sleep(0.05)

    def thread(self, headers: dict) -> dict:
        return self._send("POST", BASE, headers, {"title": "Where does the stop go?", "body": text("Thread body")})

    def comment(self, headers: dict, *, thread_id: str | None, signal_id: str | None = None) -> dict:
        path = f"{BASE}/{thread_id}/comments" if thread_id else f"{BASE}/signals/{signal_id}/comments"
        return self._send("POST", path, headers, {"body": text("A comment")})

    def open_report(self) -> str:
        comment = self.comment(self.owner.headers(), thread_id=self.forum_thread)
        return self._send("POST", f"{BASE}/comments/{comment['id']}/report", self.reporter.headers(),
                          {"reason": "Spam"}, expect=202)["id"]

    def hide(self, path: str) -> None:
        self._send("POST", f"{path}/hide", self.admin.headers(), {"reason": "Off topic"}, expect=200)


def _where(case) -> tuple[str, str]:
    return case.operation.path, case.method.upper()


def real_discussion_ids(case, seeds: Seeds, headers: dict | None) -> bool:
    """Give a valid discussions case real ids of the right caller's (see the module docstring). Returns whether
    the case now names only real things (and so has one expected answer)."""
    path, method = _where(case)
    if not path.startswith(BASE):
        return False
    params = case.path_parameters if case.path_parameters is not None else {}
    mine = headers or seeds.owner.headers()  # the caller's own content (an anonymous case: another user's)
    if "signal_id" in params:
        params["signal_id"] = seeds.signal_id
    if (path, method) == (BASE, "GET") and (case.query or {}).get("signal_id") is not None:
        case.query["signal_id"] = seeds.signal_id
    if "report_id" in params:
        params["report_id"] = seeds.open_report()
    if path == REPORT:
        params["comment_id"] = seeds.comment(seeds.owner.headers(), thread_id=seeds.forum_thread)["id"]
    if "thread_id" in params:
        params["thread_id"] = seeds.thread(mine)["id"]
        thread_path = f"{BASE}/{params['thread_id']}"
        if "comment_id" in params:
            params["comment_id"] = seeds.comment(mine, thread_id=params["thread_id"])["id"]
            if path in UNHIDES:
                seeds.hide(f"{thread_path}/comments/{params['comment_id']}")
        elif path in UNHIDES:
            seeds.hide(thread_path)
        if path in LISTS_WITH_PAGES and method == "GET":
            for _ in range(2):
                seeds.comment(mine, thread_id=params["thread_id"])
    return True


def expected_statuses(case, role: str | None) -> set[int]:
    """The one answer of a valid case naming real things: ``role`` is None (anonymous), "user" or "admin"."""
    where = _where(case)
    reads = {200, 304} if where[1] == "GET" else None
    if role is None:
        return reads if reads and where not in ADMIN_ONLY else {401}
    if role == "user" and where in ADMIN_ONLY:
        return {403}
    if reads:
        return reads
    return {202} if where[0] == REPORT else {204} if where[1] == "DELETE" else \
        {201} if where in POSTS else {200}


def unique_posts(case, account, limits: dict[str, int]) -> None:
    """A valid post whose body this account has already sent gets a distinct ending (same length bounds,
    same characters plus a space and hex digits): the duplicate-post guard would rightly refuse it (409)."""
    kind = POSTS.get(_where(case))
    body = case.body if isinstance(case.body, dict) else None
    if account is None or kind is None or body is None or not isinstance(body.get("body"), str):
        return
    if (kind, body["body"]) in account.posted:
        ending = f" {uuid.uuid4().hex[:8]}"
        body["body"] = body["body"][: limits[kind] - len(ending)] + ending
    account.posted.add((kind, body["body"]))
