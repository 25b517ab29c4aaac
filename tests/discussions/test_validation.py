"""Input rules of the discussions API through the real API: strict bodies, lengths at their bounds, control
characters and blanks, page parameters and cursors, malformed ids, the comment edit window, posting limits,
the duplicate-post guard, and keyset pages that walk every item once."""
from __future__ import annotations

import json
import time
from datetime import timedelta
from urllib.parse import parse_qs, quote, urlsplit

import pytest
from bson import ObjectId

from apps.discussions.models import Comment, PostFingerprint, Thread
from tests.support.discussions import BASE, approved_signal, comment, signal_comment, start_thread, text
from tests.support.errors import assert_error

THREAD_READ_ONLY = ("id", "author_id", "author_name", "signal_id", "comment_count", "last_activity_at",
                    "created_at", "edited_at", "hidden", "closed")
COMMENT_READ_ONLY = ("id", "thread_id", "author_id", "author_name", "created_at", "edited_at", "hidden")
REPORT_READ_ONLY = ("id", "comment_id", "thread_id", "reporter_id", "state", "created_at")


@pytest.fixture(autouse=True)
def _fresh_cache(fresh_cache_service):
    yield


class World:
    """A forum thread of ``owner``'s with a comment of theirs, reported by ``other``; the signal only on demand
    (it costs a trip through the signals API)."""

    def __init__(self, owner, other, admin):
        self.owner, self.other, self.admin = owner, other, admin
        self.thread = start_thread(owner)
        self.comment = comment(owner, self.thread["id"])
        reported = other.send("POST", f"{BASE}/comments/{self.comment['id']}/report", {"reason": "Spam"})
        assert reported.status_code == 202, reported.content
        self.report = reported.json()
        self._signal = None

    @property
    def signal(self) -> dict:
        if self._signal is None:
            self._signal = approved_signal(owner=self.owner, admin=self.admin)
        return self._signal

    def route(self, name: str):
        """``(caller, method, path, a valid body)`` of one body-taking route."""
        t, c = self.thread["id"], self.comment["id"]
        routes = {
            "thread_create": (self.other, "POST", BASE, {"title": "A title", "body": text("A fine body")}),
            "thread_edit": (self.owner, "PATCH", f"{BASE}/{t}", {"title": "A new title"}),
            "comment_create": (self.other, "POST", f"{BASE}/{t}/comments", {"body": text()}),
            "comment_edit": (self.owner, "PATCH", f"{BASE}/{t}/comments/{c}", {"body": text("Edited")}),
            "report": (self.admin, "POST", f"{BASE}/comments/{c}/report", {"reason": "Spam"}),
            "thread_hide": (self.admin, "POST", f"{BASE}/{t}/hide", {"reason": "Off topic"}),
            "comment_hide": (self.admin, "POST", f"{BASE}/{t}/comments/{c}/hide", {"reason": "Off topic"}),
            "thread_unhide": (self.admin, "POST", f"{BASE}/{t}/unhide", {}),
            "comment_unhide": (self.admin, "POST", f"{BASE}/{t}/comments/{c}/unhide", {}),
            "dismiss": (self.admin, "POST", f"{BASE}/reports/{self.report['id']}/dismiss", {}),
        }
        if name == "signal_comment_create":
            return self.other, "POST", f"{BASE}/signals/{self.signal['id']}/comments", {"body": text()}
        return routes[name]


@pytest.fixture
def world(owner, other, admin) -> World:
    return World(owner, other, admin)


BODY_ROUTES = ["thread_create", "thread_edit", "comment_create", "signal_comment_create", "comment_edit", "report",
               "thread_hide", "comment_hide", "thread_unhide", "comment_unhide", "dismiss"]
READ_ONLY = {"thread_create": THREAD_READ_ONLY, "thread_edit": THREAD_READ_ONLY,
             "comment_create": COMMENT_READ_ONLY, "signal_comment_create": COMMENT_READ_ONLY,
             "comment_edit": COMMENT_READ_ONLY, "report": REPORT_READ_ONLY}


def details(response) -> dict:
    return assert_error(response, 400, "validation_error")["details"]


# -- strict bodies ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", BODY_ROUTES)
def test_read_only_and_unknown_fields_are_refused_by_name(world, name):
    caller, method, path, valid = world.route(name)
    for field in READ_ONLY.get(name, ()):
        assert details(caller.send(method, path, {**valid, field: "x"})) == {field: ["This field is read-only."]}
    for field in ("surprise", "Body", "title " if "title" in valid else "reason "):
        assert details(caller.send(method, path, {**valid, field: "x"})) == {field: ["Unknown field."]}
    several = details(caller.send(method, path, {**valid, "zeta": 1, "alpha": 2}))
    assert sorted(several) == ["alpha", "zeta"]
    assert caller.send(method, path, valid).status_code in (200, 201, 202), "the valid body is refused"


@pytest.mark.parametrize("name", BODY_ROUTES)
@pytest.mark.parametrize("raw", ['["a"]', '"text"', "12", "null", "true", '{"body": ', "{'body': 'x'}"])
def test_a_body_that_is_not_a_json_object_is_400(world, name, raw):
    caller, method, path, _valid = world.route(name)
    response = caller.send(method, path, raw=raw)
    assert response.status_code == 400, response.content
    assert response.json()["error"]["code"] in {"validation_error", "malformed_request"}


@pytest.mark.parametrize("name", ["thread_create", "comment_create", "report", "thread_hide"])
def test_a_key_given_twice_is_refused_by_name(world, name):
    caller, method, path, valid = world.route(name)
    field = next(iter(valid))
    raw = json.dumps(valid)[:-1] + f', "{field}": "other text"}}'
    assert details(caller.send(method, path, raw=raw)) == {field: ["Duplicate key in the JSON object."]}


@pytest.mark.parametrize(("name", "missing"), [("thread_create", {"title", "body"}), ("comment_create", {"body"}),
                                               ("signal_comment_create", {"body"}), ("comment_edit", {"body"}),
                                               ("report", {"reason"}), ("thread_hide", {"reason"}),
                                               ("comment_hide", {"reason"})])
def test_missing_fields_are_named(world, name, missing):
    caller, method, path, _valid = world.route(name)
    assert set(details(caller.send(method, path, {}))) == missing


def test_an_empty_thread_edit_is_400_and_changes_nothing(world):
    caller, method, path, _valid = world.route("thread_edit")
    assert caller.send(method, path, {}).status_code == 400
    assert world.owner.get(path).json()["edited_at"] is None


def test_unhide_takes_no_body_at_all_too(world):
    assert world.admin.send("POST", f"{BASE}/{world.thread['id']}/hide", {"reason": "x"}).status_code == 200
    shown = world.admin.send("POST", f"{BASE}/{world.thread['id']}/unhide")
    assert shown.status_code == 200 and shown.json()["hidden"] is False


@pytest.mark.parametrize("name", ["thread_create", "thread_edit", "comment_create", "comment_edit", "report",
                                  "comment_hide"])
@pytest.mark.parametrize("value", [123, 1.5, True, None, ["text"], {"text": "x"}])
def test_a_text_field_takes_only_a_json_string(world, name, value):
    caller, method, path, valid = world.route(name)
    for field in valid:
        assert list(details(caller.send(method, path, {**valid, field: value}))) == [field]


# -- lengths at the bounds --------------------------------------------------------------------------------
def thread_body(n: int) -> str:
    return (text("Body") + " " + "b" * n)[:n] if n >= 10 else "b" * n


LENGTHS = [  # route, field, length, taken
    ("thread_create", "title", 2, False), ("thread_create", "title", 3, True),
    ("thread_create", "title", 200, True), ("thread_create", "title", 201, False),
    ("thread_edit", "title", 2, False), ("thread_edit", "title", 3, True),
    ("thread_edit", "title", 200, True), ("thread_edit", "title", 201, False),
    ("thread_create", "body", 9, False), ("thread_create", "body", 10, True),
    ("thread_create", "body", 5000, True), ("thread_create", "body", 5001, False),
    ("thread_edit", "body", 9, False), ("thread_edit", "body", 10, True),
    ("thread_edit", "body", 5000, True), ("thread_edit", "body", 5001, False),
    ("comment_create", "body", 0, False), ("comment_create", "body", 1, True),
    ("comment_create", "body", 2000, True), ("comment_create", "body", 2001, False),
    ("signal_comment_create", "body", 0, False), ("signal_comment_create", "body", 1, True),
    ("signal_comment_create", "body", 2000, True), ("signal_comment_create", "body", 2001, False),
    ("comment_edit", "body", 0, False), ("comment_edit", "body", 1, True),
    ("comment_edit", "body", 2000, True), ("comment_edit", "body", 2001, False),
    ("report", "reason", 0, False), ("report", "reason", 1, True),
    ("report", "reason", 500, True), ("report", "reason", 501, False),
    ("thread_hide", "reason", 0, False), ("thread_hide", "reason", 1, True),
    ("thread_hide", "reason", 500, True), ("thread_hide", "reason", 501, False),
    ("comment_hide", "reason", 0, False), ("comment_hide", "reason", 1, True),
    ("comment_hide", "reason", 500, True), ("comment_hide", "reason", 501, False),
]


@pytest.mark.parametrize(("name", "field", "length", "taken"), LENGTHS,
                         ids=[f"{n}-{f}-{length}" for n, f, length, _ in LENGTHS])
def test_lengths_at_their_bounds(world, name, field, length, taken):
    caller, method, path, valid = world.route(name)
    value = thread_body(length) if (name.startswith("thread_") and field == "body") else "é" * length
    response = caller.send(method, path, {**valid, field: value})
    if not taken:
        assert list(details(response)) == [field]
        return
    assert response.status_code in (200, 201, 202), response.content
    if field != "reason":
        assert response.json()[field] == value
    else:
        assert response.json().get("reason", value) == value


@pytest.mark.parametrize(("field", "value", "taken"), [("title", "😀" * 200, True), ("title", "😀" * 201, False),
                                                       ("body", "😀" * 5000, True), ("body", "😀" * 5001, False)])
def test_lengths_count_characters_not_bytes_or_utf16_units(owner, field, value, taken):
    body = {"title": "A title", "body": text("A fine body"), field: value}
    response = owner.send("POST", BASE, body)
    if taken:
        assert response.status_code == 201 and response.json()[field] == value, response.content
    else:
        assert list(details(response)) == [field]


# -- control characters, blanks, surrogates -----------------------------------------------------------------
REFUSED_EVERYWHERE = ["\x00", "\x01", "\x08", "\x0b", "\x0c", "\x0e", "\x1b", "\x1f", "\x7f", "\x80", "\x85", "\x9f"]
KEPT_IN_BODIES = ["\t", "\n", "\r\n"]


@pytest.mark.parametrize("char", REFUSED_EVERYWHERE + KEPT_IN_BODIES)
def test_a_title_takes_no_control_character(world, char):
    for name in ("thread_create", "thread_edit"):
        caller, method, path, valid = world.route(name)
        assert list(details(caller.send(method, path, {**valid, "title": f"Before{char}after"}))) == ["title"]


@pytest.mark.parametrize("char", REFUSED_EVERYWHERE)
@pytest.mark.parametrize(("name", "field"), [("thread_create", "body"), ("comment_create", "body"),
                                             ("comment_edit", "body"), ("report", "reason"),
                                             ("comment_hide", "reason")])
def test_a_body_takes_no_control_character_but_tab_and_line_breaks(world, name, field, char):
    caller, method, path, valid = world.route(name)
    assert list(details(caller.send(method, path, {**valid, field: f"Before {char} after the character"}))) == [
        field]


@pytest.mark.parametrize(("name", "field"), [("thread_create", "body"), ("comment_create", "body"),
                                             ("comment_edit", "body")])
def test_tab_and_line_breaks_and_surrounding_spaces_are_kept_exactly(world, name, field):
    caller, method, path, valid = world.route(name)
    value = "\n  Line one\tcolumn\r\nline two <b>kept</b>\n\n" + text("end") + "  "
    response = caller.send(method, path, {**valid, field: value})
    assert response.status_code in (200, 201), response.content
    assert response.json()[field] == value
    if name.startswith("comment"):
        thread_id = world.thread["id"]
        page = world.other.get(f"{BASE}/{thread_id}/comments").json()["results"]
        assert value in [c["body"] for c in page]
    else:
        assert world.other.get(f"{BASE}/{response.json()['id']}").json()["body"] == value


def test_a_title_keeps_its_surrounding_spaces(owner):
    response = owner.send("POST", BASE, {"title": "  Padded title ", "body": text("A fine body")})
    assert response.status_code == 201 and response.json()["title"] == "  Padded title "


BLANKS = [" ", "   ", "\u00a0\u00a0\u00a0", "\u3000\u3000\u3000", "\u2028\u2029\u2003"]
BODY_BLANKS = ["\n", "\t\n \r\n", " " * 12, "\n" * 12, "\u00a0" * 12, "\u2003 \u3000" * 4]


@pytest.mark.parametrize("value", BLANKS)
def test_a_blank_title_is_refused(world, value):
    for name in ("thread_create", "thread_edit"):
        caller, method, path, valid = world.route(name)
        padded = value * 3  # long enough for the title's minimum
        assert list(details(caller.send(method, path, {**valid, "title": padded}))) == ["title"]


@pytest.mark.parametrize("value", BODY_BLANKS)
@pytest.mark.parametrize(("name", "field"), [("thread_create", "body"), ("thread_edit", "body"),
                                             ("comment_create", "body"), ("signal_comment_create", "body"),
                                             ("comment_edit", "body"), ("report", "reason"),
                                             ("thread_hide", "reason")])
def test_a_whitespace_only_body_is_refused(world, name, field, value):
    caller, method, path, valid = world.route(name)
    value = value * 10 if name.startswith("thread_") and field == "body" else value
    assert list(details(caller.send(method, path, {**valid, field: value}))) == [field]


@pytest.mark.parametrize(("name", "field"), [("thread_create", "title"), ("thread_create", "body"),
                                             ("comment_create", "body"), ("comment_edit", "body"),
                                             ("report", "reason"), ("thread_hide", "reason")])
@pytest.mark.parametrize("escape", ["\\ud800", "\\udfff", "\\udbff\\u0041"])
def test_a_lone_surrogate_is_refused_by_name(world, name, field, escape):
    caller, method, path, valid = world.route(name)
    filler = "Some ordinary text around it"
    body = {**valid, field: "SURROGATE"}
    raw = json.dumps(body).replace("SURROGATE", f"{filler[:6]}{escape}{filler}")
    assert list(details(caller.send(method, path, raw=raw))) == [field]


@pytest.mark.parametrize("name", ["thread_create", "comment_create", "report", "comment_unhide"])
def test_a_lone_surrogate_in_a_key_is_named_by_its_escape(world, name):
    caller, method, path, valid = world.route(name)
    raw = json.dumps(valid)[:-1] + (', "\\ud800": 1}' if valid else '"\\ud800": 1}')
    assert details(caller.send(method, path, raw=raw)) == {"\\ud800": ["Unknown field."]}


def test_a_paired_surrogate_escape_is_one_character(owner):
    raw = json.dumps({"title": "Rocket TITLE", "body": text("A fine body")}).replace("TITLE", "\\ud83d\\ude80")
    response = owner.send("POST", BASE, raw=raw)
    assert response.status_code == 201 and response.json()["title"] == "Rocket 🚀"


def cpu_of(send):
    """The response of ``send()`` and the CPU time this thread spent on it (the test client runs the request
    in this thread; other processes' load on the machine does not count)."""
    started = time.thread_time()
    response = send()
    return response, time.thread_time() - started


@pytest.mark.parametrize(("name", "field"), [("thread_create", "title"), ("thread_create", "body"),
                                             ("comment_create", "body"), ("comment_edit", "body"),
                                             ("report", "reason"), ("comment_hide", "reason")])
@pytest.mark.parametrize("shape", ["letters", "spaces around one letter", "controls"])
def test_a_string_of_nearly_64_kib_is_refused_cheaply(world, name, field, shape):
    caller, method, path, valid = world.route(name)
    size = 60 * 1024
    value = {"letters": "a" * size, "spaces around one letter": " " * (size // 2) + "a" + " " * (size // 2),
             "controls": "\x01" * (size // 6)}[shape]  # six bytes each in JSON ("\u0001")
    response, spent = cpu_of(lambda: caller.send(method, path, {**valid, field: value}))
    assert list(details(response)) == [field]
    assert spent < 0.25, f"{spent:.3f}s of CPU to refuse it"


@pytest.mark.parametrize("name", ["thread_create", "comment_create", "report"])
def test_a_body_over_64_kib_is_413(world, name):
    caller, method, path, valid = world.route(name)
    field = next(iter(valid))
    assert_error(caller.send(method, path, {**valid, field: "a" * (64 * 1024)}), 413, "payload_too_large")


# -- page parameters and cursors ------------------------------------------------------------------------------
def list_paths(world) -> dict:
    return {"threads": (world.other, BASE), "comments": (world.other, f"{BASE}/{world.thread['id']}/comments"),
            "signal_comments": (world.other, f"{BASE}/signals/{world.signal['id']}/comments"),
            "reports": (world.admin, f"{BASE}/reports")}


@pytest.mark.parametrize("limit", ["0", "101", "-1", "１０", "5_0", " 5", "5 ", "1e1", "+5", "٥", "²", "abc",
                                   "100000000000000000000000"])
def test_a_limit_that_is_not_1_to_100_in_ascii_digits_is_400(world, limit):
    for caller, path in list_paths(world).values():
        assert details(caller.get(path, limit=limit)) == {"limit": ["Must be an integer from 1 to 100."]}, path


@pytest.mark.parametrize("limit", ["1", "100", ""])
def test_limits_within_bounds_are_taken(world, limit):
    for caller, path in list_paths(world).values():
        assert caller.get(path, limit=limit).status_code == 200, path


def cursor_of(caller, path, **params) -> str:
    body = caller.get(path, limit="1", **params).json()
    assert body["next"], body
    return parse_qs(urlsplit(body["next"]).query)["cursor"][0]


@pytest.fixture
def busy(world):
    """Two forum threads and two comments in the first, two comments under the signal, two open reports: every
    list has a second page at limit=1."""
    second = start_thread(world.other, body=text("A second question"))
    comment(world.other, world.thread["id"])
    signal_comment(world.owner, world.signal["id"])
    signal_comment(world.other, world.signal["id"])
    extra = comment(world.other, second["id"])
    assert world.owner.send("POST", f"{BASE}/comments/{extra['id']}/report", {"reason": "Spam"}).status_code == 202
    world.second = second
    return world


@pytest.mark.parametrize("mutate", [
    lambda c: c[:-2] + ("AA" if not c.endswith("AA") else "BB"),
    lambda c: c.split(".")[0],
    lambda c: "x" + c,
    lambda c: c + "=",
    lambda c: "a.b",
    lambda c: "é" * 10,
    lambda c: c * 20,
])
def test_a_forged_cursor_is_400(busy, mutate):
    for caller, path in list_paths(busy).values():
        forged = mutate(cursor_of(caller, path))
        assert details(caller.get(path, cursor=forged, limit="1")) == {"cursor": ["Invalid or tampered cursor."]}


def test_a_cursor_continues_only_the_walk_it_came_from(busy, anonymous):
    admin, other = busy.admin, busy.other
    thread_cursor = cursor_of(other, BASE)
    comments = f"{BASE}/{busy.thread['id']}/comments"
    comment_cursor = cursor_of(other, comments)
    signal_path = f"{BASE}/signals/{busy.signal['id']}/comments"
    refused = [
        (other, comments, thread_cursor),                                   # the thread list's, on comments
        (other, f"{BASE}/{busy.second['id']}/comments", comment_cursor),    # one thread's, on another's
        (other, signal_path, comment_cursor),                               # a forum thread's, on a signal's
        (other, BASE, comment_cursor),                                      # comments', on the thread list
        (admin, f"{BASE}/reports", thread_cursor),                          # the thread list's, on reports
        (anonymous, BASE, cursor_of(admin, BASE)),                          # an admin's walk, anonymously
        (other, comments, cursor_of(admin, comments)),                      # an admin's comments, by a user
        (other, BASE, cursor_of(admin, f"{BASE}/reports")),                 # reports', on the thread list
    ]
    for caller, path, cursor in refused:
        response = caller.get(path, cursor=cursor, limit="1")
        assert response.status_code == 400, (path, response.content)
        assert details(response) == {"cursor": ["Invalid or tampered cursor."]}
    # ... and a filter added to a walk is another walk.
    assert details(other.get(BASE, cursor=thread_cursor, limit="1", signal_id=busy.signal["id"])) == {
        "cursor": ["Invalid or tampered cursor."]}
    # The cursor itself is good where it belongs.
    assert other.get(BASE, cursor=thread_cursor, limit="1").status_code == 200


@pytest.mark.parametrize("first", ["thread route", "signal route"])
def test_each_route_to_a_signals_comments_links_its_own_next_page(owner, other, admin, first):
    """``GET signals/{id}/comments`` and ``GET {thread id}/comments`` read the same comments; the ``next`` of
    each must continue that same route, with a cursor that route takes, whichever of them was read first."""
    signal = approved_signal(owner=owner, admin=admin)
    thread_id = signal_comment(owner, signal["id"])["thread_id"]
    signal_comment(other, signal["id"])
    routes = {"thread route": f"{BASE}/{thread_id}/comments",
              "signal route": f"{BASE}/signals/{signal['id']}/comments"}
    other.get(routes[first], limit="1")  # the first reader of the page
    for path in (routes["signal route"], routes["thread route"]):
        link = other.get(path, limit="1").json()["next"]
        assert urlsplit(link).path == path, f"the next page of {path} is {link}"
        cursor = parse_qs(urlsplit(link).query)["cursor"][0]
        response = other.get(path, cursor=cursor, limit="1")
        assert response.status_code == 200, response.content
        assert len(response.json()["results"]) == 1


def test_a_signal_without_a_thread_yet_still_checks_its_cursor(owner, other, admin):
    signal = approved_signal(owner=owner, admin=admin)
    thread = start_thread(owner)
    comment(owner, thread["id"])
    comment(owner, thread["id"])
    path = f"{BASE}/signals/{signal['id']}/comments"
    assert other.get(path).json() == {"results": [], "next": None}
    for cursor in (cursor_of(other, f"{BASE}/{thread['id']}/comments"), "garbage", "a.b"):
        assert details(other.get(path, cursor=cursor)) == {"cursor": ["Invalid or tampered cursor."]}
    assert list(details(other.get(path, limit="0"))) == ["limit"]


@pytest.mark.parametrize("value", ["not-an-id!", "a" * 65, "é", "١٢٣"])
def test_a_signal_id_filter_that_is_no_id_is_400(owner, value):
    assert list(details(owner.get(BASE, signal_id=value))) == ["signal_id"]


# -- malformed ids ---------------------------------------------------------------------------------------------
def spellings(real: str) -> list[str]:
    """Ids that are not ``real`` as the product spells it: upper case, one too long or short, non-ASCII."""
    return [real.upper(), real + "0", real[:-1], "ａ" * 24, "١" * 24, "é" * 24, real[:23] + "\u0660", "%00" * 8,
            "%ED%A0%80" * 8, "%FF" * 24]


ID_ROUTES = [  # (caller key, method, path template, body)
    ("other", "GET", "/{t}", None), ("owner", "PATCH", "/{t}", {"title": "A new title"}),
    ("owner", "DELETE", "/{t}", None), ("other", "GET", "/{t}/comments", None),
    ("other", "POST", "/{t}/comments", {"body": "hello"}), ("other", "GET", "/{t}/comments/{c}", None),
    ("owner", "PATCH", "/{t}/comments/{c}", {"body": "edited"}), ("owner", "DELETE", "/{t}/comments/{c}", None),
    ("admin", "POST", "/{t}/hide", {"reason": "x"}), ("admin", "POST", "/{t}/unhide", {}),
    ("admin", "POST", "/{t}/comments/{c}/hide", {"reason": "x"}),
    ("admin", "POST", "/{t}/comments/{c}/unhide", {}),
    ("other", "POST", "/comments/{c}/report", {"reason": "x"}),
    ("admin", "POST", "/reports/{r}/dismiss", {}),
    ("other", "GET", "/signals/{s}/comments", None), ("other", "POST", "/signals/{s}/comments", {"body": "hi"}),
]


@pytest.mark.parametrize(("who", "method", "template", "body"), ID_ROUTES,
                         ids=[f"{m} {t}" for _, m, t, _ in ID_ROUTES])
def test_an_id_in_another_spelling_is_404_never_a_500(world, admin, who, method, template, body):
    callers = {"owner": world.owner, "other": world.other, "admin": admin}
    real = {"t": world.thread["id"], "c": world.comment["id"], "r": world.report["id"],
            "s": world.signal["id"] if "{s}" in template else "x"}
    names = [name for name in "tcrs" if "{" + name + "}" in template]
    for name in names:
        for spelled in spellings(real[name]) if name != "r" else [real["r"].upper(), real["r"] + "0", "é" * 30,
                                                                   "x" * 101, "a/b"]:
            ids = {**real, name: quote(spelled, safe="%")}
            path = BASE + template.format(**ids)
            caller = callers[who]
            response = caller.get(path) if method == "GET" else caller.send(method, path, body)
            assert_error(response, 404, "not_found")
    # Everything still reads as it did under its one spelling.
    assert world.other.get(f"{BASE}/{world.thread['id']}/comments/{world.comment['id']}").status_code == 200
    assert world.other.get(f"{BASE}/{world.thread['id']}").json()["edited_at"] is None


# -- the comment edit window ----------------------------------------------------------------------------------
def age(comment_id: str, seconds: float) -> None:
    """Move a comment's stored creation back by ``seconds``."""
    collection = Comment._get_collection()
    raw = collection.find_one({"_id": ObjectId(comment_id)})
    collection.update_one({"_id": raw["_id"]}, {"$set": {"created_at": raw["created_at"] - timedelta(seconds=seconds)}})


def test_a_comment_is_edited_within_15_minutes_and_not_after(owner, other):
    thread = start_thread(owner)
    early, late = comment(other, thread["id"]), comment(other, thread["id"])
    age(early["id"], 14 * 60)
    age(late["id"], 15 * 60 + 5)
    path = f"{BASE}/{thread['id']}/comments"
    edited = other.send("PATCH", f"{path}/{early['id']}", {"body": "Within the window"})
    assert edited.status_code == 200 and edited.json()["edited_at"] is not None, edited.content
    refused = assert_error(other.send("PATCH", f"{path}/{late['id']}", {"body": "Too late"}), 403,
                           "permission_denied")
    assert "15 minutes" in refused["message"]
    assert other.get(f"{path}/{late['id']}").json()["body"] == late["body"]
    assert other.send("DELETE", f"{path}/{late['id']}").status_code == 204  # deleting has no window


def test_the_edit_window_follows_its_setting(owner, settings):
    settings.DISCUSSION_EDIT_WINDOW = 120
    thread = start_thread(owner)
    mine = comment(owner, thread["id"])
    path = f"{BASE}/{thread['id']}/comments/{mine['id']}"
    age(mine["id"], 100)
    assert owner.send("PATCH", path, {"body": "Still in time"}).status_code == 200
    age(mine["id"], 30)
    assert_error(owner.send("PATCH", path, {"body": "Now too late"}), 403, "permission_denied")
    assert owner.get(path).json()["body"] == "Still in time"


# -- posting limits -------------------------------------------------------------------------------------------
def assert_limited(response) -> int:
    assert_error(response, 429, "rate_limited")
    retry_after = response["Retry-After"]
    assert retry_after.isdigit() and int(retry_after) >= 1, retry_after
    return int(retry_after)


def test_comments_per_user_are_limited_with_retry_after(owner, other, admin, settings):
    settings.DISCUSSION_COMMENT_RATE_MAX = 3
    thread = start_thread(owner)
    signal = approved_signal(owner=owner, admin=admin)
    comment(other, thread["id"])
    signal_comment(other, signal["id"])   # the signal route spends the same budget
    comment(other, thread["id"])
    wait = assert_limited(other.send("POST", f"{BASE}/{thread['id']}/comments", {"body": text()}))
    assert wait <= settings.DISCUSSION_COMMENT_RATE_WINDOW
    assert_limited(other.send("POST", f"{BASE}/signals/{signal['id']}/comments", {"body": text()}))
    comment(owner, thread["id"])          # someone else's budget is their own
    assert len(owner.get(f"{BASE}/{thread['id']}/comments").json()["results"]) == 3


def test_threads_per_user_are_limited(owner, other, settings):
    settings.DISCUSSION_THREAD_RATE_MAX = 2
    start_thread(owner)
    start_thread(owner, body=text("Another question"))
    assert_limited(owner.send("POST", BASE, {"title": "One too many", "body": text("Yet another question")}))
    start_thread(other)
    assert len(other.get(BASE).json()["results"]) == 3


def test_reports_per_user_are_limited(owner, other, settings):
    settings.DISCUSSION_REPORT_RATE_MAX = 1
    thread = start_thread(owner)
    first, second = comment(owner, thread["id"]), comment(owner, thread["id"])
    assert other.send("POST", f"{BASE}/comments/{first['id']}/report", {"reason": "Spam"}).status_code == 202
    assert_limited(other.send("POST", f"{BASE}/comments/{second['id']}/report", {"reason": "Spam"}))


def test_a_refused_body_does_not_spend_the_budget(owner, settings):
    settings.DISCUSSION_COMMENT_RATE_MAX = 1
    thread = start_thread(owner)
    for bad in ({}, {"body": ""}, {"body": "x", "hidden": True}):
        assert owner.send("POST", f"{BASE}/{thread['id']}/comments", bad).status_code == 400
    comment(owner, thread["id"])


# -- the duplicate-post guard ---------------------------------------------------------------------------------
def age_fingerprints(seconds: float) -> None:
    collection = PostFingerprint._get_collection()
    for raw in collection.find({}):
        collection.update_one({"_id": raw["_id"]}, {"$set": {"at": raw["at"] - timedelta(seconds=seconds)}})


def test_the_same_comment_twice_within_the_window_is_409_and_after_it_201(owner, other, settings):
    thread, elsewhere = start_thread(owner), start_thread(owner, body=text("Another question"))
    body = text()
    comment(other, thread["id"], body)
    assert_error(other.send("POST", f"{BASE}/{thread['id']}/comments", {"body": body}), 409, "conflict")
    # the same text is the same text in another thread too
    assert_error(other.send("POST", f"{BASE}/{elsewhere['id']}/comments", {"body": body}), 409, "conflict")
    comment(owner, thread["id"], body)  # another author's fingerprint is their own
    settings.DISCUSSION_DUPLICATE_WINDOW = 1
    age_fingerprints(2)
    comment(other, thread["id"], body)
    page = owner.get(f"{BASE}/{thread['id']}/comments").json()["results"]
    assert [c["body"] for c in page].count(body) == 3


def test_the_same_thread_body_twice_is_409_whatever_the_title(owner, settings):
    body = text("The same question")
    start_thread(owner, title="First title", body=body)
    assert_error(owner.send("POST", BASE, {"title": "Another title", "body": body}), 409, "conflict")
    thread_id = owner.get(BASE).json()["results"][0]["id"]
    comment(owner, thread_id, body)  # a comment is another kind of post
    settings.DISCUSSION_DUPLICATE_WINDOW = 1
    age_fingerprints(2)
    start_thread(owner, title="Third title", body=body)
    assert len(owner.get(BASE).json()["results"]) == 2


def test_a_post_that_failed_leaves_no_fingerprint(owner, other, admin):
    thread = start_thread(owner)
    assert admin.send("POST", f"{BASE}/{thread['id']}/hide", {"reason": "x"}).status_code == 200
    body = text()
    assert other.send("POST", f"{BASE}/{thread['id']}/comments", {"body": body}).status_code == 404
    assert other.send("POST", f"{BASE}/signals/{'0' * 24}/comments", {"body": body}).status_code == 404
    assert other.send("POST", f"{BASE}/{thread['id']}/comments", {"body": body, "x": 1}).status_code == 400
    open_thread = start_thread(owner, body=text("Another question"))
    comment(other, open_thread["id"], body)


# -- keyset pages -------------------------------------------------------------------------------------------
def walk(caller, path: str, *, start: str | None = None, **params) -> tuple[list[str], list[int]]:
    """Every id of the list at ``path`` page by page through ``next`` (from the link ``start`` if given), and
    the size of each page. Each link is path-absolute, to this list, with the walk's limit."""
    seen, sizes, url = [], [], start
    limit = parse_qs(urlsplit(start).query)["limit"][0] if start else params.get("limit", "20")
    while True:
        response = caller.get(url) if url else caller.get(path, **params)
        assert response.status_code == 200, response.content
        body = response.json()
        assert set(body) == {"results", "next"}
        seen.extend(item["id"] for item in body["results"])
        sizes.append(len(body["results"]))
        url = body["next"]
        if url is None:
            return seen, sizes
        parts = urlsplit(url)
        assert not parts.scheme and not parts.netloc and parts.path == path, url
        assert parse_qs(parts.query)["limit"] == [limit]
        assert len(sizes) < 100, "the walk does not end"


def comments_in_order(thread_id: str) -> list[str]:
    raws = Comment._get_collection().find({"thread_id": ObjectId(thread_id)}).sort([("created_at", 1), ("_id", 1)])
    return [str(raw["_id"]) for raw in raws]


def threads_in_order(query: dict | None = None) -> list[str]:
    raws = Thread._get_collection().find(query or {}).sort([("last_activity_at", -1), ("_id", -1)])
    return [str(raw["_id"]) for raw in raws]


def test_a_walk_of_comments_is_one_sorted_walk(owner, other, anonymous):
    thread = start_thread(owner)
    for i in range(7):
        comment(other if i % 2 else owner, thread["id"])
    seen, sizes = walk(anonymous, f"{BASE}/{thread['id']}/comments", limit="3")
    assert seen == comments_in_order(thread["id"]) and len(seen) == 7
    assert sizes == [3, 3, 1]


def test_comments_with_the_same_time_are_ordered_by_id_and_none_is_skipped(owner, anonymous):
    thread = start_thread(owner)
    ids = [comment(owner, thread["id"])["id"] for _ in range(6)]
    moment = Comment._get_collection().find_one({})["created_at"]
    Comment._get_collection().update_many({}, {"$set": {"created_at": moment}})
    seen, sizes = walk(anonymous, f"{BASE}/{thread['id']}/comments", limit="2")
    assert seen == sorted(ids) and sizes == [2, 2, 2]


def test_comments_posted_between_pages_come_at_the_end_of_the_walk(owner, other, anonymous):
    thread = start_thread(owner)
    path = f"{BASE}/{thread['id']}/comments"
    for _ in range(4):
        comment(owner, thread["id"])
    first = anonymous.get(path, limit="3").json()
    late = [comment(other, thread["id"])["id"] for _ in range(3)]
    rest, _sizes = walk(anonymous, path, start=first["next"])
    seen = [c["id"] for c in first["results"]] + rest
    assert seen == comments_in_order(thread["id"]) and seen[-3:] == late and len(set(seen)) == 7


def test_hidden_comments_are_left_out_of_full_pages(owner, admin, anonymous):
    thread = start_thread(owner)
    ids = [comment(owner, thread["id"])["id"] for _ in range(8)]
    for hidden in ids[1:4] + ids[6:7]:
        response = admin.send("POST", f"{BASE}/{thread['id']}/comments/{hidden}/hide", {"reason": "x"})
        assert response.status_code == 200
    visible = [i for i in ids if i not in ids[1:4] + ids[6:7]]
    seen, sizes = walk(anonymous, f"{BASE}/{thread['id']}/comments", limit="2")
    assert seen == visible and sizes == [2, 2]
    everything, _ = walk(admin, f"{BASE}/{thread['id']}/comments", limit="3")
    assert everything == ids


def test_a_walk_of_threads_is_one_sorted_walk(owner, other, settings, anonymous):
    settings.DISCUSSION_THREAD_RATE_MAX = 20
    made = [start_thread(owner if i % 2 else other, body=text(f"Question {i}"))["id"] for i in range(7)]
    comment(other, made[2])  # activity moves a thread up
    seen, sizes = walk(anonymous, BASE, limit="3")
    assert seen == threads_in_order() and sorted(seen) == sorted(made) and sizes == [3, 3, 1]
    assert seen[0] == made[2]


def test_threads_with_the_same_activity_time_are_ordered_by_id(owner, settings, anonymous):
    settings.DISCUSSION_THREAD_RATE_MAX = 20
    made = [start_thread(owner, body=text(f"Question {i}"))["id"] for i in range(6)]
    moment = Thread._get_collection().find_one({})["last_activity_at"]
    Thread._get_collection().update_many({}, {"$set": {"last_activity_at": moment}})
    seen, sizes = walk(anonymous, BASE, limit="2")
    assert seen == sorted(made, reverse=True) and sizes == [2, 2, 2]


def test_threads_started_between_pages_do_not_disturb_the_walk(owner, other, admin, settings, anonymous):
    settings.DISCUSSION_THREAD_RATE_MAX = 20
    older = [start_thread(owner, body=text(f"Question {i}"))["id"] for i in range(5)]
    hidden = start_thread(other, body=text("Hidden question"))["id"]
    assert admin.send("POST", f"{BASE}/{hidden}/hide", {"reason": "x"}).status_code == 200
    first = anonymous.get(BASE, limit="2").json()
    newer = [start_thread(other, body=text(f"Later {i}"))["id"] for i in range(3)]
    rest, _ = walk(anonymous, BASE, start=first["next"])
    seen = [t["id"] for t in first["results"]] + rest
    assert seen == list(reversed(older)) and not set(newer) & set(seen)
    assert walk(anonymous, BASE, limit="3")[0] == threads_in_order({"visible": True})
    assert walk(admin, BASE, limit="3")[0] == threads_in_order()


def test_next_links_parse_back_to_the_same_page(owner, other, admin, settings, anonymous):
    settings.DISCUSSION_THREAD_RATE_MAX = 20
    threads = [start_thread(owner, body=text(f"Question {i}"))["id"] for i in range(5)]
    replies = [comment(owner, threads[0])["id"] for _ in range(5)]
    for reply in replies:
        assert other.send("POST", f"{BASE}/comments/{reply}/report", {"reason": "Spam"}).status_code == 202
    for caller, path in ((anonymous, BASE), (other, f"{BASE}/{threads[0]}/comments"), (admin, f"{BASE}/reports")):
        body = caller.get(path, limit="2").json()
        parts = urlsplit(body["next"])
        query = {name: values[0] for name, values in parse_qs(parts.query).items()}
        assert parts.path == path and set(query) == {"limit", "cursor"} and query["limit"] == "2", body["next"]
        by_link = caller.get(body["next"]).json()
        by_params = caller.get(parts.path, **query).json()
        assert by_link == by_params and len(by_link["results"]) == 2
        assert not {item["id"] for item in by_link["results"]} & {item["id"] for item in body["results"]}
        last = caller.get(path, limit="100").json()
        assert last["next"] is None and len(last["results"]) == 5


def test_the_signal_filter_is_one_thread_and_no_next(owner, other, admin, anonymous):
    signal = approved_signal(owner=owner, admin=admin)
    reply = signal_comment(other, signal["id"])
    start_thread(owner)
    body = anonymous.get(BASE, signal_id=signal["id"], limit="1").json()
    assert [t["id"] for t in body["results"]] == [reply["thread_id"]] and body["next"] is None
