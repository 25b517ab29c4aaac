"""Authorisation matrix of the discussions API: every route × {anonymous, author, other user, admin} × {visible
forum thread, hidden thread, hidden comment, signal thread open, signal thread closed}.

"author" is the author of what a route acts on: they started the forum thread (or own the signal whose thread it
is) and wrote the comment in it. Beyond the status, every cell checks that nothing leaks: a 404 reads exactly
like the 404 of something that never existed, hidden or closed content is absent from the pages of everyone but
administrators, ``hidden``/``closed`` appear only in administrators' representations, a refused write changes
nothing, and a cached page never reaches someone who may not see it.
"""
from __future__ import annotations

import pytest
from bson import ObjectId

from apps.discussions.models import Comment, Report, Thread
from tests.support.discussions import BASE, approved_signal, comment, signal_comment, start_thread, text
from tests.support.signals import BASE as SIGNALS
from tests.support.signals import review
from tests.support.users import Feed

STATES = ("forum", "hidden_thread", "hidden_comment", "signal_open", "signal_closed")
CALLERS = ("anonymous", "author", "other", "admin")
# States in which the thread (and so everything in it) is invisible to everyone but administrators.
THREAD_INVISIBLE = {"hidden_thread", "signal_closed"}

# route → (method, path under BASE, body or a function making one)
ROUTES = {
    "list": ("GET", "", None),
    "create": ("POST", "", lambda: {"title": "A thread of its own", "body": text("Something worth discussing")}),
    "detail": ("GET", "/{thread}", None),
    "edit": ("PATCH", "/{thread}", lambda: {"title": "An edited title"}),
    "delete": ("DELETE", "/{thread}", None),
    "comments": ("GET", "/{thread}/comments", None),
    "comment_create": ("POST", "/{thread}/comments", lambda: {"body": text("A reply")}),
    "comment": ("GET", "/{thread}/comments/{comment}", None),
    "comment_edit": ("PATCH", "/{thread}/comments/{comment}", lambda: {"body": text("An edited reply")}),
    "comment_delete": ("DELETE", "/{thread}/comments/{comment}", None),
    "signal_comments": ("GET", "/signals/{signal}/comments", None),
    "signal_comment_create": ("POST", "/signals/{signal}/comments", lambda: {"body": text("Under the signal")}),
    "report": ("POST", "/comments/{comment}/report", lambda: {"reason": "Spam"}),
    "reports": ("GET", "/reports", None),
    "dismiss": ("POST", "/reports/{report}/dismiss", lambda: {}),
    "hide": ("POST", "/{thread}/hide", lambda: {"reason": "Off topic"}),
    "unhide": ("POST", "/{thread}/unhide", lambda: {}),
    "comment_hide": ("POST", "/{thread}/comments/{comment}/hide", lambda: {"reason": "Abusive"}),
    "comment_unhide": ("POST", "/{thread}/comments/{comment}/unhide", lambda: {}),
}

_ = None  # the route does not apply to the state (no signal behind a forum thread)


def every(status):
    return (status,) * len(STATES)


ADMIN_ONLY = {"anonymous": every(401), "author": every(403), "other": every(403), "admin": every(200)}

# route → caller → expected status per state, in the order of STATES:
#                    forum  hidden_thread  hidden_comment  signal_open  signal_closed
MATRIX = {
    "list": {"anonymous": every(200), "author": every(200), "other": every(200), "admin": every(200)},
    "create": {"anonymous": every(401), "author": every(201), "other": every(201), "admin": every(201)},
    "detail": {"anonymous": (200, 404, 200, 200, 404), "author": (200, 404, 200, 200, 404),
               "other": (200, 404, 200, 200, 404), "admin": every(200)},
    # a signal's thread follows its signal: edited by no one
    "edit": {"anonymous": every(401), "author": (200, 404, 200, 403, 404),
             "other": (403, 404, 403, 403, 404), "admin": every(403)},
    # a signal's thread is removed by administrators only
    "delete": {"anonymous": every(401), "author": (204, 404, 204, 403, 404),
               "other": (403, 404, 403, 403, 404), "admin": every(204)},
    "comments": {"anonymous": (200, 404, 200, 200, 404), "author": (200, 404, 200, 200, 404),
                 "other": (200, 404, 200, 200, 404), "admin": every(200)},
    # a hidden or closed thread takes no comment, administrators' included
    "comment_create": {"anonymous": every(401), "author": (201, 404, 201, 201, 404),
                       "other": (201, 404, 201, 201, 404), "admin": (201, 404, 201, 201, 404)},
    "comment": {"anonymous": (200, 404, 404, 200, 404), "author": (200, 404, 404, 200, 404),
                "other": (200, 404, 404, 200, 404), "admin": every(200)},
    "comment_edit": {"anonymous": every(401), "author": (200, 404, 404, 200, 404),
                     "other": (403, 404, 404, 403, 404), "admin": every(403)},
    "comment_delete": {"anonymous": every(401), "author": (204, 404, 404, 204, 404),
                       "other": (403, 404, 404, 403, 404), "admin": every(204)},
    # the signal route: not approved (any more) is a 404, for administrators too
    "signal_comments": {"anonymous": (_, _, _, 200, 404), "author": (_, _, _, 200, 404),
                        "other": (_, _, _, 200, 404), "admin": (_, _, _, 200, 404)},
    "signal_comment_create": {"anonymous": (_, _, _, 401, 401), "author": (_, _, _, 201, 404),
                              "other": (_, _, _, 201, 404), "admin": (_, _, _, 201, 404)},
    # one's own comment is a 403; what one cannot see a 404
    "report": {"anonymous": every(401), "author": (403, 404, 404, 403, 404),
               "other": (202, 404, 404, 202, 404), "admin": every(202)},
    "reports": ADMIN_ONLY,
    # hiding the comment resolved its open report: no open report with that id any more
    "dismiss": {**ADMIN_ONLY, "admin": (200, 200, 404, 200, 200)},
    "hide": ADMIN_ONLY,
    "unhide": ADMIN_ONLY,
    "comment_hide": ADMIN_ONLY,
    "comment_unhide": ADMIN_ONLY,
}

CODES = {401: "not_authenticated", 403: "permission_denied", 404: "not_found"}
# What each route answers with on success: a thread, a page of threads, a comment, a page of comments.
SHAPES = {"list": "threads", "create": "thread", "detail": "thread", "edit": "thread", "hide": "thread",
          "unhide": "thread", "comments": "comments", "signal_comments": "comments", "comment": "comment",
          "comment_create": "comment", "comment_edit": "comment", "comment_hide": "comment",
          "comment_unhide": "comment"}
WRITES = {"POST", "PATCH", "DELETE"}


@pytest.fixture(autouse=True)
def _fresh_cache(fresh_cache_service):
    yield


def path_of(route: str, ids: dict) -> str:
    return BASE + ROUTES[route][1].format(**ids)


def call(route: str, caller, ids: dict):
    method, _path, body = ROUTES[route]
    if method == "GET":
        return caller.get(path_of(route, ids))
    return caller.send(method, path_of(route, ids), body() if body else None)


def warm(caller, ids: dict) -> None:
    """Read everything a caller may read, so the cache holds that viewer's pages."""
    for route in ("list", "detail", "comments", "comment"):
        caller.get(path_of(route, ids))
    if ids.get("signal"):
        caller.get(path_of("signal_comments", ids))


def arrange(state: str, *, author, admin, anonymous, reporter) -> dict:
    """A thread of ``author``'s with one comment of theirs, reported by ``reporter``, brought into ``state``;
    the public pages are cached before the change and the administrators' after it."""
    if state.startswith("signal"):
        signal_id = approved_signal(owner=author, admin=admin)["id"]
        first = signal_comment(author, signal_id)
        thread_id = first["thread_id"]
    else:
        signal_id = None
        thread_id = start_thread(author)["id"]
        first = comment(author, thread_id)
    reported = reporter.send("POST", f"{BASE}/comments/{first['id']}/report", {"reason": "Looks like spam"})
    assert reported.status_code == 202, reported.content
    ids = {"thread": thread_id, "comment": first["id"], "signal": signal_id, "report": reported.json()["id"]}
    warm(anonymous, ids)
    if state == "hidden_thread":
        assert admin.send("POST", f"{BASE}/{thread_id}/hide", {"reason": "Off topic"}).status_code == 200
    elif state == "hidden_comment":
        hidden = admin.send("POST", f"{BASE}/{thread_id}/comments/{first['id']}/hide", {"reason": "Spam"})
        assert hidden.status_code == 200, hidden.content
    elif state == "signal_closed":
        edited = author.patch(f"{SIGNALS}/{signal_id}", {"rationale": "Back to review with a new thesis."})
        assert edited.status_code == 200 and edited.json()["status"] == "pending", edited.content
    warm(admin, ids)
    return ids


def missing(state: str, ids: dict) -> dict:
    """The same ids with whatever the state hides from non-administrators replaced by ids nothing has."""
    replaced = dict(ids)
    fresh = lambda: str(ObjectId())  # noqa: E731
    if state in THREAD_INVISIBLE:
        replaced.update(thread=fresh(), comment=fresh(), signal=str(ObjectId()))
    if state == "hidden_comment":
        replaced.update(comment=fresh(), report=f"{fresh()}:{fresh()}")
    return replaced


def stored() -> tuple:
    """Everything the app keeps about threads, comments and reports, as stored."""
    return tuple(sorted(map(str, model._get_collection().find({}))) for model in (Thread, Comment, Report))


def keys_anywhere(value) -> set:
    if isinstance(value, dict):
        return set(value) | set().union(*(keys_anywhere(v) for v in value.values()))
    if isinstance(value, list):
        return set().union(*(keys_anywhere(v) for v in value))
    return set()


def comparable(response) -> tuple:
    error = dict(response.json()["error"])
    error.pop("request_id")
    return (response.status_code, error, response.get("Content-Type"), response.get("Cache-Control"),
            response.has_header("ETag"))


def check_representation(route: str, who: str, body) -> None:
    shape = SHAPES.get(route)
    if shape is None:
        return
    if who != "admin":
        assert not {"hidden", "closed"} & keys_anywhere(body), body
        return
    items = body["results"] if shape in ("threads", "comments") else [body]
    for item in items:
        if shape.startswith("thread"):
            assert {"hidden", "closed"} <= set(item), item
        else:
            assert "hidden" in item and "closed" not in item, item


def check_pages(route: str, who: str, state: str, ids: dict, body) -> None:
    """Hidden and closed content is absent from the pages of non-administrators, present in theirs."""
    listed = [item["id"] for item in body.get("results", [])] if isinstance(body, dict) else []
    if route == "list":
        assert (ids["thread"] in listed) == (who == "admin" or state not in THREAD_INVISIBLE), listed
        for item in body["results"]:
            if item["id"] == ids["thread"]:  # a hidden comment is counted for no one
                assert item["comment_count"] == (0 if state == "hidden_comment" else 1), item
    elif route in ("comments", "signal_comments"):
        assert (ids["comment"] in listed) == (who == "admin" or state != "hidden_comment"), listed
    elif route == "detail" and who != "admin":
        assert body["comment_count"] == (0 if state == "hidden_comment" else 1), body
    elif route == "reports":
        assert (ids["report"] in [r["id"] for r in body["results"]]) == (state != "hidden_comment"), body


CELLS = [(route, state, who) for route in MATRIX for state in STATES for who in CALLERS
         if MATRIX[route][who][STATES.index(state)] is not None]


@pytest.mark.parametrize(("route", "state", "who"), CELLS, ids=["-".join(cell) for cell in CELLS])
def test_matrix(route, state, who, owner, other, admin, anonymous, make_caller):
    callers = {"anonymous": anonymous, "author": owner, "other": other, "admin": admin}
    reporter = make_caller("user", name="Rita Reporter")
    ids = arrange(state, author=owner, admin=admin, anonymous=anonymous, reporter=reporter)
    expected = MATRIX[route][who][STATES.index(state)]
    before = stored()
    response = call(route, callers[who], ids)
    assert response.status_code == expected, response.content
    if expected >= 400:
        error = response.json()["error"]
        assert error["code"] == CODES[expected], error
        if ROUTES[route][0] in WRITES:
            assert stored() == before, "a refused write changed something"
    if expected == 404:
        # Exactly what the same caller reads of something that never existed.
        absent = call(route, callers[who], missing(state, ids))
        assert comparable(response) == comparable(absent)
    if expected in (200, 201, 202):
        if ROUTES[route][0] == "GET":
            # Only what anonymous readers share may sit in a shared cache; a signed-in reader's (an
            # administrator's above all) is private.
            shared = response["Cache-Control"].startswith("public")
            assert shared == (who == "anonymous"), response["Cache-Control"]
        else:
            assert response["Cache-Control"] == "no-store", response["Cache-Control"]
        body = response.json()
        check_representation(route, who, body)
        check_pages(route, who, state, ids, body)


# -- what the matrix cannot say in one cell ------------------------------------------------------------------
def test_the_threads_author_may_delete_anyones_comment_in_it_but_not_edit_it(owner, other, anonymous):
    thread = start_thread(owner)
    reply = comment(other, thread["id"])
    path = f"{BASE}/{thread['id']}/comments/{reply['id']}"
    assert owner.send("PATCH", path, {"body": text("Not mine")}).status_code == 403
    assert owner.send("DELETE", path).status_code == 204
    assert anonymous.get(path).status_code == 404
    assert anonymous.get(f"{BASE}/{thread['id']}").json()["comment_count"] == 0


def test_a_signals_owner_may_delete_comments_under_their_signal(owner, other, admin):
    signal = approved_signal(owner=owner, admin=admin)
    reply = signal_comment(other, signal["id"])
    path = f"{BASE}/{reply['thread_id']}/comments/{reply['id']}"
    assert owner.send("DELETE", path).status_code == 204
    assert other.get(f"{BASE}/signals/{signal['id']}/comments").json()["results"] == []


def test_a_commenter_edits_and_deletes_their_comment_in_someone_elses_thread(owner, other):
    thread = start_thread(owner)
    reply = comment(other, thread["id"])
    path = f"{BASE}/{thread['id']}/comments/{reply['id']}"
    edited = other.send("PATCH", path, {"body": "Second thoughts"})
    assert edited.status_code == 200, edited.content
    assert edited.json()["body"] == "Second thoughts" and edited.json()["edited_at"] is not None
    assert other.send("DELETE", path).status_code == 204


def test_an_edited_thread_carries_edited_at(owner):
    thread = start_thread(owner)
    edited = owner.send("PATCH", f"{BASE}/{thread['id']}", {"body": text("A clearer question")})
    assert edited.status_code == 200, edited.content
    assert edited.json()["edited_at"] is not None and edited.json()["title"] == thread["title"]


def test_deleting_a_thread_takes_its_comments_and_reports(owner, other, admin):
    thread = start_thread(owner)
    reply = comment(other, thread["id"])
    assert owner.send("POST", f"{BASE}/comments/{reply['id']}/report", {"reason": "Spam"}).status_code == 202
    assert owner.send("DELETE", f"{BASE}/{thread['id']}").status_code == 204
    assert admin.get(f"{BASE}/{thread['id']}").status_code == 404
    assert admin.get(f"{BASE}/{thread['id']}/comments/{reply['id']}").status_code == 404
    assert admin.get(f"{BASE}/reports").json()["results"] == []
    assert Comment.objects(thread_id=ObjectId(thread["id"])).count() == 0


@pytest.mark.parametrize("route", ["comment", "comment_edit", "comment_delete", "comment_hide", "comment_unhide"])
def test_a_comment_reached_through_another_thread_is_not_found(route, owner, admin):
    first, second = start_thread(owner), start_thread(owner, body=text("Another question entirely"))
    reply = comment(owner, first["id"])
    caller = admin if "hide" in route or route == "comment_delete" else owner
    crossed = call(route, caller, {"thread": second["id"], "comment": reply["id"]})
    absent = call(route, caller, {"thread": second["id"], "comment": str(ObjectId())})
    assert crossed.status_code == 404, crossed.content
    assert comparable(crossed) == comparable(absent)
    assert owner.get(f"{BASE}/{first['id']}/comments/{reply['id']}").status_code == 200


@pytest.mark.parametrize("route", ["reports", "dismiss", "hide", "unhide", "comment_hide", "comment_unhide"])
def test_an_admin_route_refuses_users_before_looking_anything_up(route, other, anonymous):
    ids = {"thread": str(ObjectId()), "comment": str(ObjectId()), "report": "nothing"}
    assert call(route, other, ids).status_code == 403
    assert call(route, anonymous, ids).status_code == 401


def close_by(how: str, *, owner, admin, signal_id: str) -> None:
    if how == "edited":
        assert owner.patch(f"{SIGNALS}/{signal_id}", {"rationale": "A new thesis."}).status_code == 200
    elif how == "rejected":
        assert review(admin, signal_id, "rejected", reason="Stop too wide").status_code == 200
    elif how == "deleted":
        assert owner.send("DELETE", f"{SIGNALS}/{signal_id}").status_code == 204
    elif how == "deactivated":
        Feed().deactivated(owner.user_id)
    else:
        raise AssertionError(how)


@pytest.mark.parametrize("how", ["edited", "rejected", "deleted", "deactivated"])
def test_a_closed_signal_thread_is_read_by_admins_only_and_takes_no_comment(how, owner, other, admin, anonymous):
    signal = approved_signal(owner=owner, admin=admin)
    reply = signal_comment(other, signal["id"])
    thread_id = reply["thread_id"]
    warm(anonymous, {"thread": thread_id, "comment": reply["id"], "signal": signal["id"]})
    close_by(how, owner=owner, admin=admin, signal_id=signal["id"])
    for caller in (anonymous, other):
        assert caller.get(f"{BASE}/{thread_id}").status_code == 404
        assert caller.get(f"{BASE}/{thread_id}/comments").status_code == 404
        assert caller.get(f"{BASE}/{thread_id}/comments/{reply['id']}").status_code == 404
        assert caller.get(f"{BASE}/signals/{signal['id']}/comments").status_code == 404
        assert thread_id not in [t["id"] for t in caller.get(BASE).json()["results"]]
    for caller in (other, admin):
        assert caller.send("POST", f"{BASE}/{thread_id}/comments", {"body": text()}).status_code == 404
        assert caller.send("POST", f"{BASE}/signals/{signal['id']}/comments", {"body": text()}).status_code == 404
    seen = admin.get(f"{BASE}/{thread_id}")
    assert seen.status_code == 200 and seen.json()["closed"] is True and seen.json()["hidden"] is False
    assert [c["id"] for c in admin.get(f"{BASE}/{thread_id}/comments").json()["results"]] == [reply["id"]]
    assert thread_id in [t["id"] for t in admin.get(BASE).json()["results"]]


def test_an_unhidden_thread_is_back_for_everyone_with_its_comments(owner, other, admin, anonymous):
    thread = start_thread(owner)
    reply = comment(other, thread["id"])
    assert admin.send("POST", f"{BASE}/{thread['id']}/hide", {"reason": "Heated"}).status_code == 200
    assert anonymous.get(f"{BASE}/{thread['id']}/comments").status_code == 404
    shown = admin.send("POST", f"{BASE}/{thread['id']}/unhide", {})
    assert shown.status_code == 200 and shown.json()["hidden"] is False
    assert [c["id"] for c in anonymous.get(f"{BASE}/{thread['id']}/comments").json()["results"]] == [reply["id"]]
    assert [t["id"] for t in anonymous.get(BASE).json()["results"]] == [thread["id"]]


def test_the_signal_id_filter_shows_a_closed_or_hidden_thread_to_admins_only(owner, other, admin, anonymous):
    signal = approved_signal(owner=owner, admin=admin)
    reply = signal_comment(other, signal["id"])
    assert [t["id"] for t in anonymous.get(BASE, signal_id=signal["id"]).json()["results"]] == [reply["thread_id"]]
    assert admin.send("POST", f"{BASE}/{reply['thread_id']}/hide", {"reason": "Heated"}).status_code == 200
    assert anonymous.get(BASE, signal_id=signal["id"]).json()["results"] == []
    assert other.get(BASE, signal_id=signal["id"]).json()["results"] == []
    listed = admin.get(BASE, signal_id=signal["id"]).json()["results"]
    assert [(t["id"], t["hidden"]) for t in listed] == [(reply["thread_id"], True)]


def test_an_entity_tag_taken_before_a_hide_never_answers_304_after_it(owner, other, admin, anonymous):
    thread = start_thread(owner)
    reply = comment(other, thread["id"])
    paths = [f"{BASE}/{thread['id']}", f"{BASE}/{thread['id']}/comments"]
    tags = {}
    for path in paths:
        response = anonymous.get(path)
        assert response.status_code == 200 and response.has_header("ETag"), path
        tags[path] = response["ETag"]
        assert anonymous.get(path, headers={"If-None-Match": tags[path]}).status_code == 304
    hidden = admin.send("POST", f"{BASE}/{thread['id']}/comments/{reply['id']}/hide", {"reason": "Spam"})
    assert hidden.status_code == 200
    refreshed = anonymous.get(paths[1], headers={"If-None-Match": tags[paths[1]]})
    assert refreshed.status_code == 200 and refreshed.json()["results"] == []
    assert admin.send("POST", f"{BASE}/{thread['id']}/hide", {"reason": "Off topic"}).status_code == 200
    for path in paths:
        for caller in (anonymous, other):
            response = caller.get(path, headers={"If-None-Match": tags[path]})
            assert response.status_code == 404, (path, response.status_code)
            assert not response.has_header("ETag")


def test_a_hidden_signal_thread_stays_hidden_when_its_signal_closes_and_reopens(owner, other, admin, anonymous):
    signal = approved_signal(owner=owner, admin=admin)
    reply = signal_comment(other, signal["id"])
    thread_id, path = reply["thread_id"], f"{BASE}/signals/{signal['id']}/comments"
    assert admin.send("POST", f"{BASE}/{thread_id}/hide", {"reason": "Heated"}).status_code == 200
    for caller in (anonymous, other, owner):
        assert caller.get(path).status_code == 404
        assert caller.get(f"{BASE}/{thread_id}").status_code == 404
    for caller in (other, admin):
        assert caller.send("POST", path, {"body": text()}).status_code == 404
    assert [c["id"] for c in admin.get(path).json()["results"]] == [reply["id"]]
    close_by("edited", owner=owner, admin=admin, signal_id=signal["id"])
    assert review(admin, signal["id"], "approved", reason=None).status_code == 200
    assert anonymous.get(path).status_code == 404 and anonymous.get(f"{BASE}/{thread_id}").status_code == 404
    assert admin.get(f"{BASE}/{thread_id}").json()["hidden"] is True
    assert admin.send("POST", f"{BASE}/{thread_id}/unhide", {}).status_code == 200
    assert [c["id"] for c in anonymous.get(path).json()["results"]] == [reply["id"]]


def test_unhiding_a_closed_thread_does_not_open_it(owner, other, admin, anonymous):
    signal = approved_signal(owner=owner, admin=admin)
    thread_id = signal_comment(other, signal["id"])["thread_id"]
    assert admin.send("POST", f"{BASE}/{thread_id}/hide", {"reason": "Heated"}).status_code == 200
    close_by("rejected", owner=owner, admin=admin, signal_id=signal["id"])
    shown = admin.send("POST", f"{BASE}/{thread_id}/unhide", {})
    assert shown.status_code == 200 and shown.json()["hidden"] is False and shown.json()["closed"] is True
    assert anonymous.get(f"{BASE}/{thread_id}").status_code == 404
    assert other.send("POST", f"{BASE}/{thread_id}/comments", {"body": text()}).status_code == 404
