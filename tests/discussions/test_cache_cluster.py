"""The discussions cache across real gunicorn processes: every kind of write made through one process is seen
at once by every cached read of the other, both sharing one MongoDB and one Redis.

Each case builds a fresh forum: a thread with five comments (two pages of three), an approved signal with two
comments under it, and one open report. It warms every read on process A until A serves it from the cache,
writes once through process B, and reads again on A. A read the write affects must now differ from what A
served before, and every read (affected or not) must equal the same request answered by a third process whose
cache is off (``CACHE_BACKEND=null``: straight from MongoDB). Writes that reach the discussions app as events
(a signal leaving the approved set, an author's rename or deactivation) are waited on; the others must show
on the very next read, since the generation bump happens after the commit and before the response.
"""
from __future__ import annotations

import os
import uuid
from concurrent.futures import ThreadPoolExecutor
from io import StringIO

import pytest
import requests
from django.core.management import call_command

from tests.support.accounts import PASSWORD
from tests.support.discussions import BASE, text
from tests.support.live import register
from tests.support.procs import Gunicorn
from tests.support.servers import wait_until
from tests.support.signals import BASE as SIGNALS
from tests.support.signals import VALID

pytestmark = pytest.mark.cluster
LIMIT = 3  # five comments: a first page of three, a second of two


def call(server: Gunicorn, method: str, path: str, token: str | None = None, body=None) -> requests.Response:
    headers = {"Accept": "application/json", **({"Authorization": f"Bearer {token}"} if token else {})}
    return requests.request(method, server.url + path, json=body, headers=headers, timeout=15)


def ok(response: requests.Response, status: int = 200) -> dict:
    assert response.status_code == status, (response.request.method, response.request.url, response.text)
    return response.json() if response.content else {}


@pytest.fixture(scope="module")
def cluster(mongo_uri, redis_server_url):
    """Processes A and B (the product, cache on, in-process bus: every slice in each) and the uncached oracle."""
    env = {"MONGODB_URI": mongo_uri, "REDIS_URL": redis_server_url, "REDIS_ENABLED": "true",
           "EVENT_BUS": "inprocess", "RATE_LIMIT_MAX": "100000"}
    servers = [Gunicorn(env, name="discussions-a"), Gunicorn(env, name="discussions-b"),
               Gunicorn({**env, "CACHE_BACKEND": "null"}, name="discussions-oracle")]
    try:
        with ThreadPoolExecutor(len(servers)) as pool:
            for started in [pool.submit(server.start, 90) for server in servers]:
                started.result()
        yield servers
    finally:
        with ThreadPoolExecutor(len(servers)) as pool:
            list(pool.map(Gunicorn.stop, servers))


def make_admin(server: Gunicorn) -> dict:
    """A real administrator (the createadmin command, on the database the processes share), logged in on
    ``server``."""
    email = f"admin-{uuid.uuid4().hex[:8]}@example.com"
    os.environ["TS_DISCUSSIONS_ADMIN_PW"] = PASSWORD
    call_command("createadmin", "--email", email, "--password-env", "TS_DISCUSSIONS_ADMIN_PW", stdout=StringIO())
    return ok(call(server, "POST", "/api/v1/auth/login", body={"email": email, "password": PASSWORD}))


class Forum:
    """One case's people and content, made through process B."""

    def __init__(self, b: Gunicorn, oracle: Gunicorn):
        self.b = b
        self.author = register(b, "Ada", password=PASSWORD)
        self.other = register(b, "Otto", password=PASSWORD)
        self.admin = make_admin(b)
        self.author_id = self.author["user"]["id"]
        # An approved signal of the author's, with a comment by each of them under it.
        self.signal = ok(self.send("author", "POST", SIGNALS, VALID), 201)["id"]
        ok(self.send("admin", "PATCH", f"{SIGNALS}/{self.signal}/status", {"status": "approved", "reason": "ok"}))
        # The approval reaches the discussions projection through the bus: at once after the commit, or — when that
        # first delivery failed on a loaded machine — on the relay's retry; the first comment waits for it.
        wait_until(lambda: self.send("other", "POST", f"{BASE}/signals/{self.signal}/comments",
                                     {"body": text()}).status_code == 201,
                   timeout=30, interval=0.2, message="the approved signal to take comments")
        ok(self.send("author", "POST", f"{BASE}/signals/{self.signal}/comments", {"body": text()}), 201)
        # A forum thread of the author's with five comments, and the author's report of the first one.
        self.thread = ok(self.send("author", "POST", BASE, {"title": "Stops on breakouts",
                                                            "body": text("Where do you put the stop?")}), 201)["id"]
        self.comments = [ok(self.send(who, "POST", f"{BASE}/{self.thread}/comments", {"body": text()}), 201)["id"]
                         for who in ("other", "author", "other", "other", "author")]
        self.report = ok(self.send("author", "POST", f"{BASE}/comments/{self.comments[0]}/report",
                                   {"reason": "Spam"}), 202)["id"]
        # Second pages continue after the third comment, for either viewer (cursors are bound to the viewer).
        first = f"{BASE}/{self.thread}/comments?limit={LIMIT}"
        self.second = {who: ok(call(oracle, "GET", first, self.token(who)))["next"] for who in (None, "admin")}
        assert all(self.second.values()), self.second

    def token(self, who: str | None) -> str | None:
        return None if who is None else getattr(self, who)["access"]

    def send(self, who: str, method: str, path: str, body=None) -> requests.Response:
        return call(self.b, method, path, self.token(who), body)

    def comment_path(self, index: int) -> str:
        return f"{BASE}/{self.thread}/comments/{self.comments[index]}"

    def reads(self) -> dict[str, tuple[str | None, str]]:
        """Every cached read: its name → (caller, path)."""
        first, thread, signal = f"{BASE}/{self.thread}/comments?limit={LIMIT}", f"{BASE}/{self.thread}", \
            f"{BASE}/signals/{self.signal}/comments"
        return {
            "list_anon": (None, BASE), "list_admin": ("admin", BASE),
            "detail_anon": (None, thread), "detail_admin": ("admin", thread),
            "page1_anon": (None, first), "page1_admin": ("admin", first),
            "page2_anon": (None, self.second[None]), "page2_admin": ("admin", self.second["admin"]),
            "signal_anon": (None, signal), "signal_admin": ("admin", signal),
            "reports": ("admin", f"{BASE}/reports"),
        }


# -- the writes, each made through B ---------------------------------------------------------------------------
def hide_thread(f: Forum):
    return ok(f.send("admin", "POST", f"{BASE}/{f.thread}/hide", {"reason": "Off topic"}))


def hide_first_comment(f: Forum):
    return ok(f.send("admin", "POST", f"{f.comment_path(0)}/hide", {"reason": "Spam link"}))


def deactivate_author(f: Forum):
    return ok(f.send("admin", "PATCH", f"/api/v1/auth/admin/users/{f.author_id}", {"is_active": False}))


LISTS = ("list_anon", "list_admin")
DETAIL = ("detail_anon", "detail_admin")
PAGE1 = ("page1_anon", "page1_admin")
PAGE2 = ("page2_anon", "page2_admin")
SIGNAL = ("signal_anon", "signal_admin")
REPORTS = ("reports",)
CLOSES_SIGNAL_THREAD = ("list_anon", "list_admin", *SIGNAL)  # gone for the public, closed for admins

# write kind → (state set up before warming, the write, the reads it affects, whether it arrives as an event)
WRITES = {
    "create_thread": (None, lambda f: ok(f.send("other", "POST", BASE, {"title": "Position sizing",
                                                                        "body": text("How much per trade?")}), 201),
                      LISTS, False),
    "edit_thread": (None, lambda f: ok(f.send("author", "PATCH", f"{BASE}/{f.thread}",
                                              {"title": "Stops on breakouts, revisited", "body": text("Edited")})),
                    (*LISTS, *DETAIL), False),
    "delete_thread": (None, lambda f: ok(f.send("author", "DELETE", f"{BASE}/{f.thread}"), 204),
                      (*LISTS, *DETAIL, *PAGE1, *PAGE2, *REPORTS), False),
    "hide_thread": (None, hide_thread, (*LISTS, *DETAIL, "page1_anon", "page2_anon"), False),
    "unhide_thread": (hide_thread, lambda f: ok(f.send("admin", "POST", f"{BASE}/{f.thread}/unhide", {})),
                      (*LISTS, *DETAIL, "page1_anon", "page2_anon"), False),
    "comment_forum": (None, lambda f: ok(f.send("other", "POST", f"{BASE}/{f.thread}/comments", {"body": text()}),
                                         201),
                      (*LISTS, *DETAIL, *PAGE2), False),
    "comment_signal": (None, lambda f: ok(f.send("other", "POST", f"{BASE}/signals/{f.signal}/comments",
                                                 {"body": text()}), 201),
                       (*LISTS, *SIGNAL), False),
    "edit_comment": (None, lambda f: ok(f.send("other", "PATCH", f.comment_path(3), {"body": text("Edited")})),
                     PAGE2, False),
    "delete_comment": (None, lambda f: ok(f.send("other", "DELETE", f.comment_path(0)), 204),
                       (*LISTS, *DETAIL, *PAGE1, *REPORTS), False),
    "hide_comment": (None, hide_first_comment, (*LISTS, *DETAIL, *PAGE1, *REPORTS), False),
    "unhide_comment": (hide_first_comment, lambda f: ok(f.send("admin", "POST", f"{f.comment_path(0)}/unhide", {})),
                       (*LISTS, *DETAIL, *PAGE1), False),
    "report": (None, lambda f: ok(f.send("author", "POST", f"{BASE}/comments/{f.comments[2]}/report",
                                         {"reason": "Abusive"}), 202),
               REPORTS, False),
    "dismiss_report": (None, lambda f: ok(f.send("admin", "POST", f"{BASE}/reports/{f.report}/dismiss", {})),
                       REPORTS, False),
    "signal_edited": (None, lambda f: ok(f.send("author", "PATCH", f"{SIGNALS}/{f.signal}",
                                                {"rationale": "Moved the stop under the range."})),
                      CLOSES_SIGNAL_THREAD, True),
    "signal_rejected": (None, lambda f: ok(f.send("admin", "PATCH", f"{SIGNALS}/{f.signal}/status",
                                                  {"status": "rejected", "reason": "Stop too wide"})),
                        CLOSES_SIGNAL_THREAD, True),
    "signal_deleted": (None, lambda f: ok(f.send("admin", "DELETE", f"{SIGNALS}/{f.signal}"), 204),
                       CLOSES_SIGNAL_THREAD, True),
    "author_renamed": (None, lambda f: ok(f.send("author", "PATCH", "/api/v1/users/me",
                                                 {"display_name": "Ada Renamed"})),
                       (*LISTS, *DETAIL, *PAGE1, *PAGE2, *SIGNAL), True),
    "author_deactivated": (None, deactivate_author, (*LISTS, *DETAIL, *PAGE1, *PAGE2, *SIGNAL), True),
}


def seen(response: requests.Response):
    """What a read shows: its status and, for a 200, its parsed body."""
    return response.status_code, response.json() if response.status_code == 200 else None


@pytest.mark.parametrize("write", list(WRITES))
def test_a_write_through_one_process_is_seen_at_once_by_every_cached_read_of_the_other(cluster, write):
    a, b, oracle = cluster
    setup, do_write, affected, by_event = WRITES[write]
    forum = Forum(b, oracle)
    if setup is not None:
        setup(forum)
    reads = forum.reads()

    def on(server, name):
        who, path = reads[name]
        return call(server, "GET", path, forum.token(who))

    before = {}
    for name in reads:
        on(a, name)
        warm = on(a, name)
        if warm.status_code == 200:  # a 404 carries no X-Cache (the thread's entry may still be cached)
            assert warm.headers.get("X-Cache") == "hit", (name, warm.headers)
        before[name] = seen(warm)
        assert before[name] == seen(on(oracle, name)), (name, "the warm read is not MongoDB's")

    do_write(forum)

    def fresh(name):
        now = seen(on(a, name))
        return now if now != before[name] and now == seen(on(oracle, name)) else None

    for name in affected:
        if by_event:
            try:
                wait_until(lambda n=name: fresh(n), timeout=30, interval=0.1, message=f"{name} on A to show {write}")
            except AssertionError as exc:
                raise AssertionError(f"{exc}; before: {before[name]}, A: {seen(on(a, name))}, "
                                     f"oracle: {seen(on(oracle, name))}") from None
        else:
            now, truth = seen(on(a, name)), seen(on(oracle, name))
            assert now != before[name], (write, name, "A still shows what it served before the write", now)
            assert now == truth, (write, name, now, truth)
    for name in set(reads) - set(affected):
        assert seen(on(a, name)) == seen(on(oracle, name)), (write, name, "an unaffected read went wrong")
