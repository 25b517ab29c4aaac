"""Input and output shapes of the discussions API, and the renderers of cached bodies.

Bodies are plain text, stored and answered exactly as written (line breaks kept; whoever displays them
escapes them — the browsable API and the console do). ``hidden`` and ``closed`` are shown to administrators
only: everyone else never sees hidden or closed content at all.
"""
from __future__ import annotations

from rest_framework import serializers

from apps.discussions import enums, selectors
from apps.discussions.models import (
    BODY_PATTERN,
    TITLE_PATTERN,
    normalize_comment_body,
    normalize_reason,
    normalize_thread_body,
    normalize_title,
)
from tradesignals.kernel.drf import filters
from tradesignals.kernel.drf.conditional import render_json
from tradesignals.kernel.drf.fields import StrictCharField, StrictIdentifierField, StrictInputSerializer
from tradesignals.kernel.drf.pagination import PageSerializer

THREAD_READ_ONLY = ("id", "author_id", "author_name", "signal_id", "comment_count", "last_activity_at",
                    "created_at", "edited_at", "hidden", "closed")
COMMENT_READ_ONLY = ("id", "thread_id", "author_id", "author_name", "created_at", "edited_at", "hidden")


def _text(*, low: int, high: int, normalize, pattern: str, **kwargs) -> StrictCharField:
    return StrictCharField(min_length=low, max_length=high, trim_whitespace=False, normalize=normalize,
                           schema={"pattern": pattern}, **kwargs)


def title_field(**kwargs):
    return _text(low=enums.TITLE_MIN, high=enums.TITLE_MAX, normalize=normalize_title, pattern=TITLE_PATTERN,
                 help_text=f"{enums.TITLE_MIN}–{enums.TITLE_MAX} characters, one line, not blank.", **kwargs)


def thread_body_field(**kwargs):
    return _text(low=enums.THREAD_BODY_MIN, high=enums.THREAD_BODY_MAX, normalize=normalize_thread_body,
                 pattern=BODY_PATTERN,
                 help_text=f"Plain text, {enums.THREAD_BODY_MIN}–{enums.THREAD_BODY_MAX} characters; line breaks "
                           "are kept, other control characters refused.", **kwargs)


def comment_body_field(**kwargs):
    return _text(low=enums.COMMENT_BODY_MIN, high=enums.COMMENT_BODY_MAX, normalize=normalize_comment_body,
                 pattern=BODY_PATTERN,
                 help_text=f"Plain text, {enums.COMMENT_BODY_MIN}–{enums.COMMENT_BODY_MAX} characters; line breaks "
                           "are kept, other control characters refused.", **kwargs)


def reason_field(**kwargs):
    return _text(low=enums.REASON_MIN, high=enums.REASON_MAX, normalize=normalize_reason, pattern=BODY_PATTERN,
                 help_text=f"Why, {enums.REASON_MIN}–{enums.REASON_MAX} characters of plain text.", **kwargs)


# -- input ---------------------------------------------------------------------------------------------------
class ThreadInputSerializer(StrictInputSerializer):
    """A new forum thread (``partial=True``: an edit of title, body or both)."""

    read_only_names = THREAD_READ_ONLY
    body_schema = {}
    title = title_field()
    body = thread_body_field()


class ThreadUpdateInputSerializer(ThreadInputSerializer):
    body_schema = {"minProperties": 1}


class CommentInputSerializer(StrictInputSerializer):
    read_only_names = COMMENT_READ_ONLY
    body = comment_body_field()


class CommentUpdateInputSerializer(CommentInputSerializer):
    """An edit sends the new body (a PATCH of the one field there is: it is required)."""

    body_schema = {"required": ["body"]}


class ReportInputSerializer(StrictInputSerializer):
    read_only_names = ("id", "comment_id", "thread_id", "reporter_id", "state", "created_at")
    reason = reason_field()


class HideInputSerializer(StrictInputSerializer):
    reason = reason_field()


class UnhideInputSerializer(StrictInputSerializer):
    """No fields: ``{}`` (or no body)."""


class ThreadFilterSerializer(filters.FilterSerializer):
    signal_id = StrictIdentifierField(noun="a signal id", required=False,
                                      help_text="Only the thread under this trade signal.")


class PageFilterSerializer(filters.FilterSerializer):
    """Only the page: ``limit`` and ``cursor``."""


# -- output --------------------------------------------------------------------------------------------------
class ThreadOutputSerializer(serializers.Serializer):
    id = serializers.CharField()
    title = serializers.CharField()
    body = serializers.CharField(help_text="Plain text (empty for a signal's thread).")
    author_id = serializers.CharField()
    author_name = serializers.CharField(help_text=f'"{enums.DEACTIVATED_NAME}" for a deactivated user.')
    signal_id = serializers.CharField(allow_null=True, help_text="The trade signal this thread is under, or null.")
    comment_count = serializers.IntegerField(help_text="Comments everyone can see.")
    last_activity_at = serializers.DateTimeField()
    created_at = serializers.DateTimeField()
    edited_at = serializers.DateTimeField(allow_null=True)
    hidden = serializers.BooleanField(required=False, help_text="Administrators only: hidden by a moderator.")
    closed = serializers.BooleanField(required=False,
                                      help_text="Administrators only: its signal left the approved set.")


class CommentOutputSerializer(serializers.Serializer):
    id = serializers.CharField()
    thread_id = serializers.CharField()
    body = serializers.CharField()
    author_id = serializers.CharField()
    author_name = serializers.CharField(help_text=f'"{enums.DEACTIVATED_NAME}" for a deactivated user.')
    created_at = serializers.DateTimeField()
    edited_at = serializers.DateTimeField(allow_null=True)
    hidden = serializers.BooleanField(required=False, help_text="Administrators only: hidden by a moderator.")


class ReportOutputSerializer(serializers.Serializer):
    id = serializers.CharField()
    comment_id = serializers.CharField()
    thread_id = serializers.CharField()
    reporter_id = serializers.CharField()
    reason = serializers.CharField()
    state = serializers.ChoiceField(choices=enums.REPORT_STATES)
    comment_body = serializers.CharField(help_text="The comment as it read when it was reported.")
    comment_author_id = serializers.CharField()
    created_at = serializers.DateTimeField()


class ThreadPageOutputSerializer(PageSerializer):
    results = ThreadOutputSerializer(many=True)


class CommentPageOutputSerializer(PageSerializer):
    results = CommentOutputSerializer(many=True)


class ReportPageOutputSerializer(PageSerializer):
    results = ReportOutputSerializer(many=True)


def _iso(moment):
    return serializers.DateTimeField().to_representation(moment) if moment is not None else None


def thread_data(thread, viewer: str) -> dict:
    data = {
        "id": str(thread.id), "title": thread.title, "body": thread.body, "author_id": thread.author_id,
        "author_name": selectors.shown_name(name=thread.author_name, active=thread.author_active),
        "signal_id": thread.signal_id, "comment_count": max(thread.comment_count, 0),
        "last_activity_at": _iso(thread.last_activity_at), "created_at": _iso(thread.created_at),
        "edited_at": _iso(thread.edited_at),
    }
    if viewer == selectors.ADMIN:
        data.update(hidden=thread.hidden, closed=thread.closed)
    return data


def comment_data(comment, viewer: str) -> dict:
    data = {
        "id": str(comment.id), "thread_id": str(comment.thread_id), "body": comment.body,
        "author_id": comment.author_id,
        "author_name": selectors.shown_name(name=comment.author_name, active=comment.author_active),
        "created_at": _iso(comment.created_at), "edited_at": _iso(comment.edited_at),
    }
    if viewer == selectors.ADMIN:
        data["hidden"] = comment.hidden
    return data


def report_data(report) -> dict:
    return {"id": report.id, "comment_id": str(report.comment_id), "thread_id": str(report.thread_id),
            "reporter_id": report.reporter_id, "reason": report.reason, "state": report.state,
            "comment_body": report.comment_body, "comment_author_id": report.comment_author_id,
            "created_at": _iso(report.created_at)}


def render_thread(thread, viewer: str) -> bytes:
    return render_json(thread_data(thread, viewer))


def render_page(items: list[dict], next_url: str | None) -> bytes:
    return render_json({"results": items, "next": next_url})
