"""The discussions app's collections (db alias ``discussions``): threads, comments, reports, and the two
projections it learns the rest of the product from — signals (``trade_signal.*``) and authors (``user.*``).

Nothing here is read from another app's collections. A thread is either a forum thread or the thread under one
trade signal (``signal_id``, at most one per signal: the projection's ``thread_id`` is set once, conditionally).
``visible`` is what everyone but administrators may see — not hidden by a moderator and, for a signal's thread,
not closed because the signal left the approved set — kept as one field so the public list reads one index
prefix. Author names are copied onto the content (``author_name``, ``author_active``) and rewritten when the
author projection changes, so a page renders without a lookup per comment.
"""
from __future__ import annotations

import unicodedata

import mongoengine as me

from apps.discussions import enums
from tradesignals.kernel.text import char_ranges

# Bodies are plain text kept as written (line breaks and surrounding spaces included): any character but the
# control characters (a body keeps tab and the line breaks, a title none: neither the line and paragraph
# separators U+2028/U+2029) and the bidirectional embedding, override and isolate controls, which could make
# text display as something else. Each text needs one visible character: not whitespace and not an invisible
# format character (zero-width spaces and joiners, soft hyphen, …). The patterns state the same rules for the
# OpenAPI document, built from the same classes.
_BIDI = frozenset(chr(c) for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A)))
# Unicode's format characters (category Cf, 14.0 as this Python has it) of the Basic Multilingual Plane, but the
# bidi controls; a test keeps the list equal to unicodedata's. (Schema patterns are ECMA-262 regular expressions,
# which cannot name a character beyond U+FFFF without the u flag, so the astral ones count as visible.)
INVISIBLE_RANGES = ((0xAD, 0xAD), (0x600, 0x605), (0x61C, 0x61C), (0x6DD, 0x6DD), (0x70F, 0x70F), (0x890, 0x891),
                    (0x8E2, 0x8E2), (0x180E, 0x180E), (0x200B, 0x200F), (0x2060, 0x2064), (0x206A, 0x206F),
                    (0xFEFF, 0xFEFF), (0xFFF9, 0xFFFB))
_INVISIBLE = frozenset(chr(c) for low, high in INVISIBLE_RANGES for c in range(low, high + 1))
_C0_C1 = r"\u0000-\u001f\u007f-\u009f"
_REFUSED_ALWAYS = char_ranges(ord(ch) for ch in _BIDI)
_TITLE_REFUSED = _C0_C1 + r"\u2028\u2029" + _REFUSED_ALWAYS
_BODY_REFUSED = r"\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f" + _REFUSED_ALWAYS
_SPACE = (r"\u0009-\u000d\u001c-\u0020\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f"
          r"\u3000")
_NOT_VISIBLE = _SPACE + char_ranges(ord(ch) for ch in _INVISIBLE)
TITLE_PATTERN = f"^[^{_TITLE_REFUSED}]*[^{_NOT_VISIBLE}{_TITLE_REFUSED}][^{_TITLE_REFUSED}]*$"
BODY_PATTERN = f"^[^{_BODY_REFUSED}]*[^{_NOT_VISIBLE}{_BODY_REFUSED}][^{_BODY_REFUSED}]*$"
_BODY_KEEPS = frozenset("\t\n\r")
_TITLE_ALSO_REFUSED = frozenset("\u2028\u2029")


def _visible(ch: str) -> bool:
    return not ch.isspace() and ch not in _INVISIBLE


def _text(value, *, low: int, high: int, keep: frozenset, noun: str, refused: frozenset = frozenset()) -> str:
    if not isinstance(value, str):
        raise ValueError("Must be a string.")
    if not low <= len(value) <= high:
        raise ValueError(f"{noun} must be {low} to {high} characters.")
    if any((unicodedata.category(ch) == "Cc" and ch not in keep) or ch in refused or ch in _BIDI for ch in value):
        raise ValueError("Control characters are not allowed" + (" (tab and line breaks are)." if keep else "."))
    if not any(_visible(ch) for ch in value):
        raise ValueError(f"{noun} must not be blank.")
    return value


def normalize_title(value) -> str:
    return _text(value, low=enums.TITLE_MIN, high=enums.TITLE_MAX, keep=frozenset(), noun="A title",
                 refused=_TITLE_ALSO_REFUSED)


def normalize_thread_body(value) -> str:
    return _text(value, low=enums.THREAD_BODY_MIN, high=enums.THREAD_BODY_MAX, keep=_BODY_KEEPS, noun="A body")


def normalize_comment_body(value) -> str:
    return _text(value, low=enums.COMMENT_BODY_MIN, high=enums.COMMENT_BODY_MAX, keep=_BODY_KEEPS, noun="A comment")


def normalize_reason(value) -> str:
    return _text(value, low=enums.REASON_MIN, high=enums.REASON_MAX, keep=_BODY_KEEPS, noun="A reason")


class Moderation(me.EmbeddedDocument):
    """Who hid a thread or a comment, when and why (kept after an unhide, for the record)."""

    by = me.StringField(required=True)
    at = me.DateTimeField(required=True)
    reason = me.StringField(max_length=enums.REASON_MAX, null=True)


class Thread(me.Document):
    title = me.StringField(required=True, max_length=enums.TITLE_MAX)
    body = me.StringField(default="", max_length=enums.THREAD_BODY_MAX)
    author_id = me.StringField(required=True)
    author_name = me.StringField(default="")
    author_active = me.BooleanField(default=True)
    signal_id = me.StringField(null=True)
    comment_count = me.IntField(default=0)       # comments everyone may see (hidden ones are not counted)
    last_activity_at = me.DateTimeField(required=True)
    created_at = me.DateTimeField(required=True)
    edited_at = me.DateTimeField(null=True)
    hidden = me.BooleanField(default=False)
    closed = me.BooleanField(default=False)       # a signal's thread whose signal is not approved (or gone)
    visible = me.BooleanField(default=True)       # not hidden and not closed
    moderation = me.EmbeddedDocumentField(Moderation, null=True)

    meta = {
        "db_alias": "discussions",
        "collection": "discussion_threads",
        "indexes": [
            {"fields": ["visible", "-last_activity_at", "-id"], "name": "visible_recent"},
            {"fields": ["-last_activity_at", "-id"], "name": "recent"},
            {"fields": ["author_id"], "name": "author"},
            {"fields": ["signal_id"], "name": "signal"},
        ],
    }


class Comment(me.Document):
    thread_id = me.ObjectIdField(required=True)
    body = me.StringField(required=True, max_length=enums.COMMENT_BODY_MAX)
    author_id = me.StringField(required=True)
    author_name = me.StringField(default="")
    author_active = me.BooleanField(default=True)
    created_at = me.DateTimeField(required=True)
    edited_at = me.DateTimeField(null=True)
    hidden = me.BooleanField(default=False)
    moderation = me.EmbeddedDocumentField(Moderation, null=True)
    moderation_version = me.IntField(default=0)   # orders the hide/unhide events of one comment

    meta = {
        "db_alias": "discussions",
        "collection": "discussion_comments",
        "indexes": [
            {"fields": ["thread_id", "created_at", "id"], "name": "thread_oldest"},
            {"fields": ["-created_at", "-id"], "name": "recent"},
            {"fields": ["author_id"], "name": "author"},
        ],
    }


class Report(me.Document):
    """One user's report of one comment: ``_id`` is ``<comment id>:<reporter id>``, so a second report by the
    same user is a duplicate key, not a second document."""

    id = me.StringField(primary_key=True)
    comment_id = me.ObjectIdField(required=True)
    thread_id = me.ObjectIdField(required=True)
    reporter_id = me.StringField(required=True)
    reason = me.StringField(required=True, max_length=enums.REASON_MAX)
    comment_body = me.StringField(default="")       # what was reported, as it read then
    comment_author_id = me.StringField(required=True)
    state = me.StringField(choices=enums.REPORT_STATES, default=enums.REPORT_OPEN)
    created_at = me.DateTimeField(required=True)
    resolved_at = me.DateTimeField(null=True)
    resolved_by = me.StringField(null=True)

    meta = {
        "db_alias": "discussions",
        "collection": "discussion_reports",
        "indexes": [
            {"fields": ["state", "created_at", "id"], "name": "state_oldest"},
            {"fields": ["comment_id"], "name": "comment"},
            {"fields": ["thread_id"], "name": "thread"},
        ],
    }


class SignalRef(me.Document):
    """What this app knows of a trade signal, from ``trade_signal.*``: enough to title and open or close its
    thread. ``version``/``at_us`` order the facts (a late or replayed event never moves it back)."""

    id = me.StringField(primary_key=True)
    owner_id = me.StringField(required=True)
    status = me.StringField(choices=enums.STATUSES, required=True)
    title = me.StringField(default="")
    version = me.IntField(default=0)
    at_us = me.IntField(default=0)
    deleted = me.BooleanField(default=False)
    thread_id = me.ObjectIdField(null=True)

    meta = {"db_alias": "discussions", "collection": "discussion_signals", "indexes": ["owner_id"]}


class Author(me.Document):
    """What this app knows of a user, from ``user.*``: the name shown on their content and whether they are
    active. Each field carries the time of the fact that set it (only newer facts win)."""

    id = me.StringField(primary_key=True)
    name = me.StringField(default="")
    name_at_us = me.IntField(default=0)
    active = me.BooleanField(default=True)
    active_at_us = me.IntField(default=0)

    meta = {"db_alias": "discussions", "collection": "discussion_authors"}


class PostFingerprint(me.Document):
    """The duplicate-post guard: ``_id`` is ``<author>:<kind>:<digest of the text>``; ``at`` is when that text
    was last posted. Written in the post's transaction, so a post that fails leaves none behind; expired ones go
    with the TTL index."""

    id = me.StringField(primary_key=True)
    at = me.DateTimeField(required=True)
    expires_at = me.DateTimeField(required=True)

    meta = {"db_alias": "discussions", "collection": "discussion_fingerprints",
            "indexes": [{"fields": ["expires_at"], "expireAfterSeconds": 0, "name": "expiry"}]}
