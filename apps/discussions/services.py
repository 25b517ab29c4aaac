"""Every write of the discussions app: threads, comments, reports, moderation, and the projections fed by events.

Each write that others must hear of is one MongoDB transaction holding the change and its outbox event
(``events.atomic``); a write conflict (two writers on one thread) is a lost race and the write runs again on a
fresh read (``retry_on_conflict``), so a comment count never drifts. After the commit ``discussion_changed`` is
sent with what the change touched; cache invalidation hangs on it (``receivers``), so no write here knows
which caches exist.

Who may do what is decided here (the API and the console call the same services): everyone but
administrators sees only ``visible`` threads and comments that are not hidden, and something they cannot see
is a 404 (no existence leak); something they can see but may not change is a 403.

Duplicate posts. The same text from the same author within ``DISCUSSION_DUPLICATE_WINDOW`` is a 409: the
post's transaction upserts a fingerprint of it (``PostFingerprint``) that only matches once the window has
passed, so of two identical concurrent posts one commits and the other meets the committed fingerprint.
"""
from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import django.dispatch
from bson import ObjectId
from django.conf import settings
from pymongo.errors import DuplicateKeyError, OperationFailure

from apps.discussions import enums, selectors
from apps.discussions import events as discussion_events
from apps.discussions.models import (
    Author,
    Comment,
    Moderation,
    PostFingerprint,
    Report,
    SignalRef,
    Thread,
    normalize_comment_body,
    normalize_reason,
    normalize_thread_body,
    normalize_title,
)
from tradesignals.kernel import events
from tradesignals.kernel.clock import isoformat, utcnow
from tradesignals.kernel.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from tradesignals.kernel.identity import Principal
from tradesignals.kernel.mongo import object_id
from tradesignals.kernel.retry import WriteLost, is_write_conflict, retry_on_conflict

ALIAS = "discussions"
_TRIES = 20  # comments on one busy thread contend on the thread's counter

# Sent after a commit with ``thread_ids`` (the threads whose reads changed), ``lists`` (the thread list
# changed) and ``moderation`` (the administrators' reads changed).
discussion_changed = django.dispatch.Signal()

THREAD_NOT_FOUND = "Thread not found."
COMMENT_NOT_FOUND = "Comment not found."
SIGNAL_NOT_FOUND = "No approved trade signal with this id."
DUPLICATE = "You posted the same text less than a minute ago."


def _changed(*, thread_ids=(), lists: bool = False, moderation: bool = False) -> None:
    discussion_changed.send(sender=Thread, thread_ids=frozenset(str(t) for t in thread_ids if t), lists=lists,
                            moderation=moderation)


def _threads():
    return Thread._get_collection()


def _comments():
    return Comment._get_collection()


def _reports():
    return Report._get_collection()


def _signals():
    return SignalRef._get_collection()


def _authors():
    return Author._get_collection()


def _fingerprints():
    return PostFingerprint._get_collection()


def _collections() -> None:
    """Before a transaction: a first use of a collection builds its indexes, which no transaction may."""
    for get in (_threads, _comments, _reports, _signals, _authors, _fingerprints):
        get()


def _transaction(write: Callable[[object], object]):
    """``write(session)`` in one transaction with its events; a write conflict is a lost race (``WriteLost``)."""
    _collections()
    try:
        with events.atomic(ALIAS) as session:
            return write(session)
    except OperationFailure as exc:
        if is_write_conflict(exc):
            raise WriteLost() from None
        raise


def _retry(attempt: Callable[[], object], noun: str = "The thread"):
    return retry_on_conflict(attempt, tries=_TRIES, conflict=Conflict(f"{noun} is being changed concurrently; retry."))


def _viewer(actor: Principal | None) -> str:
    return selectors.viewer_class(actor)


def _clean(value, normalize, field: str) -> str:
    try:
        return normalize(value)
    except ValueError as exc:
        raise ValidationFailed(details={field: [str(exc)]}) from None


def _fingerprint(*, author_id: str, kind: str, text: str, now: datetime, session) -> None:
    window = timedelta(seconds=settings.DISCUSSION_DUPLICATE_WINDOW)
    digest = hashlib.blake2b(text.encode("utf-8"), digest_size=16).hexdigest()
    key = f"{author_id}:{kind}:{digest}"
    try:
        _fingerprints().update_one({"_id": key, "at": {"$lte": now - window}},
                                   {"$set": {"at": now, "expires_at": now + window}}, upsert=True, session=session)
    except DuplicateKeyError:
        raise Conflict(DUPLICATE) from None


def _load_thread(thread_id: str, *, session=None) -> Thread | None:
    oid = object_id(thread_id)
    if oid is None:
        return None
    raw = _threads().find_one({"_id": oid}, session=session)
    return Thread._from_son(raw) if raw else None


def _visible_thread(thread_id: str, actor: Principal | None, *, session=None) -> Thread:
    thread = _load_thread(thread_id, session=session)
    if not selectors.thread_visible_to(thread, viewer=_viewer(actor)):
        raise NotFound(THREAD_NOT_FOUND)
    return thread


def _visible_comment(thread: Thread, comment_id: str, actor: Principal | None, *, session=None) -> Comment:
    oid = object_id(comment_id)
    raw = _comments().find_one({"_id": oid, "thread_id": thread.id}, session=session) if oid else None
    comment = Comment._from_son(raw) if raw else None
    if not selectors.comment_visible_to(comment, viewer=_viewer(actor)):
        raise NotFound(COMMENT_NOT_FOUND)
    return comment


# -- who may (the API's browsable forms ask the same questions) ---------------------------------------------
def thread_may_update(*, actor: Principal | None, thread: Thread) -> bool:
    """The author of a forum thread; a signal's thread follows its signal and is edited by no one."""
    return actor is not None and thread.signal_id is None and actor.user_id == thread.author_id


def thread_may_delete(*, actor: Principal | None, thread: Thread) -> bool:
    """The author of a forum thread, or an administrator (the only ones who may remove a signal's thread)."""
    if actor is None:
        return False
    return actor.is_admin or (thread.signal_id is None and actor.user_id == thread.author_id)


def comment_may_update(*, actor: Principal | None, comment: Comment, now: datetime | None = None) -> bool:
    """The comment's author, within ``DISCUSSION_EDIT_WINDOW`` of posting it."""
    if actor is None or actor.user_id != comment.author_id:
        return False
    return (now or utcnow()) - _aware(comment.created_at) <= timedelta(seconds=settings.DISCUSSION_EDIT_WINDOW)


def comment_may_delete(*, actor: Principal | None, thread: Thread, comment: Comment) -> bool:
    """The comment's author, the thread's author (a signal's owner, under their signal), an administrator."""
    if actor is None:
        return False
    return actor.is_admin or actor.user_id in (comment.author_id, thread.author_id)


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


# -- threads ------------------------------------------------------------------------------------------------
def thread_create(*, actor: Principal, title, body) -> Thread:
    """A forum thread by ``actor`` (``discussion.thread_created``)."""
    title = _clean(title, normalize_title, "title")
    body = _clean(body, normalize_thread_body, "body")
    name = selectors.author_name(user_id=actor.user_id, claimed=actor.name)

    def attempt() -> Thread:
        now = utcnow()
        thread = Thread(id=ObjectId(), title=title, body=body, author_id=actor.user_id, author_name=name,
                        signal_id=None, last_activity_at=now, created_at=now)
        thread.validate()

        def write(session):
            _fingerprint(author_id=actor.user_id, kind="thread", text=body, now=now, session=session)
            _threads().insert_one(thread.to_mongo(), session=session)
            _publish_thread_created(thread)
            return thread

        return _transaction(write)

    thread = _retry(attempt)
    _changed(thread_ids=[thread.id], lists=True)
    return thread


def _publish_thread_created(thread: Thread) -> None:
    events.publish(discussion_events.THREAD_CREATED, key=str(thread.id), producer=discussion_events.PRODUCER, data={
        "thread_id": str(thread.id), "author_id": thread.author_id, "signal_id": thread.signal_id,
        "title": thread.title, "created_at": isoformat(thread.created_at)})


def thread_update(*, thread_id: str, actor: Principal, data: dict) -> Thread:
    """Edit a forum thread's title and/or body (its author only); ``edited_at`` is set."""
    unknown = sorted(set(data) - {"title", "body"})
    if unknown:
        raise ValidationFailed(details={name: ["This field cannot be set."] for name in unknown})
    if not data:
        raise ValidationFailed(details={"non_field_errors": ["Send title, body or both."]})
    changes = {}
    if "title" in data:
        changes["title"] = _clean(data["title"], normalize_title, "title")
    if "body" in data:
        changes["body"] = _clean(data["body"], normalize_thread_body, "body")

    def attempt() -> Thread:
        thread = _visible_thread(thread_id, actor)
        if not thread_may_update(actor=actor, thread=thread):
            raise PermissionDenied("Only the author of a forum thread may edit it."
                                   if thread.signal_id is None else "A signal's thread follows its signal.")
        now = utcnow()
        result = _threads().update_one({"_id": thread.id, "title": thread.title, "body": thread.body},
                                       {"$set": {**changes, "edited_at": now}})
        if not result.matched_count:
            raise WriteLost()
        for name, value in changes.items():
            setattr(thread, name, value)
        thread.edited_at = now
        return thread

    thread = _retry(attempt)
    _changed(thread_ids=[thread.id], lists=True)
    return thread


def thread_delete(*, thread_id: str, actor: Principal) -> None:
    """Delete a thread with its comments and their reports (``discussion.thread_deleted``)."""

    def attempt() -> Thread:
        thread = _visible_thread(thread_id, actor)
        if not thread_may_delete(actor=actor, thread=thread):
            raise PermissionDenied("Only the thread's author or an administrator may delete it.")

        def write(session):
            if not _threads().delete_one({"_id": thread.id}, session=session).deleted_count:
                raise NotFound(THREAD_NOT_FOUND)
            _comments().delete_many({"thread_id": thread.id}, session=session)
            _reports().delete_many({"thread_id": thread.id}, session=session)
            if thread.signal_id is not None:
                _signals().update_one({"_id": thread.signal_id, "thread_id": thread.id},
                                      {"$set": {"thread_id": None}}, session=session)
            events.publish(discussion_events.THREAD_DELETED, key=str(thread.id),
                           producer=discussion_events.PRODUCER,
                           data={"thread_id": str(thread.id), "author_id": thread.author_id,
                                 "signal_id": thread.signal_id})
            return thread

        return _transaction(write)

    thread = _retry(attempt)
    _changed(thread_ids=[thread.id], lists=True, moderation=True)


def thread_set_hidden(*, thread_id: str, actor: Principal, hidden: bool, reason: str | None = None) -> Thread:
    """An administrator hides a thread (it disappears for everyone else, comments included) or shows it again."""
    if not actor.is_admin:
        raise PermissionDenied("Administrator role required.")
    if hidden:
        reason = _clean(reason, normalize_reason, "reason")

    def attempt() -> Thread:
        thread = _visible_thread(thread_id, actor)
        if thread.hidden == hidden:
            return thread
        now = utcnow()
        moderation = Moderation(by=actor.user_id, at=now, reason=reason) if hidden else thread.moderation
        update = {"hidden": hidden, "visible": not hidden and not thread.closed,
                  "moderation": moderation.to_mongo() if moderation else None}
        result = _threads().update_one({"_id": thread.id, "hidden": thread.hidden, "closed": thread.closed},
                                       {"$set": update})
        if not result.matched_count:
            raise WriteLost()
        thread.hidden, thread.visible, thread.moderation = hidden, update["visible"], moderation
        return thread

    thread = _retry(attempt)
    _changed(thread_ids=[thread.id], lists=True, moderation=True)
    return thread


# -- comments -----------------------------------------------------------------------------------------------
def _add_comment(*, thread: Thread, actor: Principal, body: str, name: str, now: datetime, session,
                 signal: SignalRef | None) -> Comment:
    comment = Comment(id=ObjectId(), thread_id=thread.id, body=body, author_id=actor.user_id, author_name=name,
                      created_at=now)
    comment.validate()
    _fingerprint(author_id=actor.user_id, kind="comment", text=body, now=now, session=session)
    _comments().insert_one(comment.to_mongo(), session=session)
    result = _threads().update_one({"_id": thread.id, "visible": True},
                                   {"$inc": {"comment_count": 1}, "$max": {"last_activity_at": now}}, session=session)
    if not result.matched_count:
        raise NotFound(THREAD_NOT_FOUND)  # hidden or closed since it was read
    events.publish(discussion_events.COMMENT_CREATED, key=str(thread.id), producer=discussion_events.PRODUCER, data={
        "comment_id": str(comment.id), "thread_id": str(thread.id), "author_id": actor.user_id,
        "signal_id": thread.signal_id, "signal_owner_id": signal.owner_id if signal else None,
        "signal_title": (signal.title or None) if signal else None, "created_at": isoformat(now)})
    return comment


def comment_create(*, thread_id: str, actor: Principal, body) -> Comment:
    """A comment in a thread everyone can see (a hidden or closed thread takes none: 404, admins included)."""
    body = _clean(body, normalize_comment_body, "body")
    name = selectors.author_name(user_id=actor.user_id, claimed=actor.name)

    def attempt() -> Comment:
        def write(session):
            thread = _load_thread(thread_id, session=session)
            if thread is None or not thread.visible:
                raise NotFound(THREAD_NOT_FOUND)
            signal = None
            if thread.signal_id is not None:
                signal = SignalRef._from_son(_signals().find_one({"_id": thread.signal_id}, session=session) or
                                             {"_id": thread.signal_id, "owner_id": thread.author_id,
                                              "status": enums.APPROVED})
            return _add_comment(thread=thread, actor=actor, body=body, name=name, now=utcnow(), session=session,
                                signal=signal)

        return _transaction(write)

    comment = _retry(attempt)
    _changed(thread_ids=[comment.thread_id], lists=True, moderation=True)
    return comment


def signal_comment_create(*, signal_id: str, actor: Principal, body) -> Comment:
    """A comment under an approved signal; its thread is created with the first one. A signal that is not
    approved (or not known here) is a 404."""
    body = _clean(body, normalize_comment_body, "body")
    name = selectors.author_name(user_id=actor.user_id, claimed=actor.name)

    def attempt() -> tuple[Comment, bool]:
        ref = selectors.signal_ref_get(signal_id=signal_id)
        if not selectors.signal_is_open(ref):
            raise NotFound(SIGNAL_NOT_FOUND)
        owner_name = selectors.author_name(user_id=ref.owner_id, claimed="")

        def write(session):
            now = utcnow()
            current = _signals().find_one({"_id": ref.id}, session=session)
            if current is None or current.get("status") != enums.APPROVED or current.get("deleted"):
                raise NotFound(SIGNAL_NOT_FOUND)
            created = False
            if current.get("thread_id") is None:
                thread = Thread(id=ObjectId(), title=ref.title or ref.id, body="", author_id=ref.owner_id,
                                author_name=owner_name, signal_id=ref.id, last_activity_at=now, created_at=now)
                thread.validate()
                if not _signals().update_one({"_id": ref.id, "thread_id": None, "status": enums.APPROVED},
                                             {"$set": {"thread_id": thread.id}}, session=session).matched_count:
                    raise WriteLost()
                _threads().insert_one(thread.to_mongo(), session=session)
                _publish_thread_created(thread)
                created = True
            else:
                thread = _load_thread(str(current["thread_id"]), session=session)
                if thread is None or not thread.visible:
                    raise NotFound(SIGNAL_NOT_FOUND)
            signal = SignalRef._from_son(current)
            return _add_comment(thread=thread, actor=actor, body=body, name=name, now=now, session=session,
                                signal=signal), created

        return _transaction(write)

    comment, _created = _retry(attempt)
    _changed(thread_ids=[comment.thread_id], lists=True, moderation=True)
    return comment


def comment_update(*, thread_id: str, comment_id: str, actor: Principal, body) -> Comment:
    """The author edits their comment within ``DISCUSSION_EDIT_WINDOW`` of posting it; later it is a 403."""
    body = _clean(body, normalize_comment_body, "body")

    def attempt() -> Comment:
        thread = _visible_thread(thread_id, actor)
        comment = _visible_comment(thread, comment_id, actor)
        if actor.user_id != comment.author_id:
            raise PermissionDenied("Only the comment's author may edit it.")
        now = utcnow()
        if not comment_may_update(actor=actor, comment=comment, now=now):
            minutes = settings.DISCUSSION_EDIT_WINDOW // 60
            raise PermissionDenied(f"A comment can be edited for {minutes} minutes after it was posted.")
        result = _comments().update_one({"_id": comment.id, "body": comment.body, "hidden": False},
                                        {"$set": {"body": body, "edited_at": now}})
        if not result.matched_count:
            raise WriteLost()
        comment.body, comment.edited_at = body, now
        return comment

    comment = _retry(attempt, "The comment")
    _changed(thread_ids=[comment.thread_id], moderation=True)
    return comment


def comment_delete(*, thread_id: str, comment_id: str, actor: Principal) -> None:
    """Delete a comment (its author, the thread's author, an administrator) and its reports."""

    def attempt() -> Comment:
        thread = _visible_thread(thread_id, actor)
        comment = _visible_comment(thread, comment_id, actor)
        if not comment_may_delete(actor=actor, thread=thread, comment=comment):
            raise PermissionDenied("Only the comment's author, the thread's author or an administrator may "
                                   "delete it.")

        def write(session):
            raw = _comments().find_one_and_delete({"_id": comment.id}, session=session)
            if raw is None:
                raise NotFound(COMMENT_NOT_FOUND)
            if not raw.get("hidden"):
                _threads().update_one({"_id": thread.id}, {"$inc": {"comment_count": -1}}, session=session)
            _reports().delete_many({"comment_id": comment.id}, session=session)
            events.publish(discussion_events.COMMENT_DELETED, key=str(thread.id),
                           producer=discussion_events.PRODUCER,
                           data={"comment_id": str(comment.id), "thread_id": str(thread.id),
                                 "author_id": comment.author_id})
            return comment

        return _transaction(write)

    comment = _retry(attempt, "The comment")
    _changed(thread_ids=[comment.thread_id], lists=True, moderation=True)


def comment_set_hidden(*, thread_id: str, comment_id: str, actor: Principal, hidden: bool,
                       reason: str | None = None) -> Comment:
    """An administrator hides a comment (open reports of it are resolved) or shows it again
    (``discussion.comment_hidden``, with ``hidden`` and a ``moderation_version`` that orders the two)."""
    if not actor.is_admin:
        raise PermissionDenied("Administrator role required.")
    if hidden:
        reason = _clean(reason, normalize_reason, "reason")

    def attempt() -> Comment:
        thread = _visible_thread(thread_id, actor)
        comment = _visible_comment(thread, comment_id, actor)
        if comment.hidden == hidden:
            return comment
        now = utcnow()
        moderation = Moderation(by=actor.user_id, at=now, reason=reason) if hidden else comment.moderation
        version = comment.moderation_version + 1

        def write(session):
            result = _comments().update_one(
                {"_id": comment.id, "moderation_version": comment.moderation_version},
                {"$set": {"hidden": hidden, "moderation_version": version,
                          "moderation": moderation.to_mongo() if moderation else None}}, session=session)
            if not result.matched_count:
                raise WriteLost()
            _threads().update_one({"_id": thread.id}, {"$inc": {"comment_count": -1 if hidden else 1}},
                                  session=session)
            if hidden:
                _reports().update_many({"comment_id": comment.id, "state": enums.REPORT_OPEN},
                                       {"$set": {"state": enums.REPORT_HIDDEN, "resolved_at": now,
                                                 "resolved_by": actor.user_id}}, session=session)
            events.publish(discussion_events.COMMENT_HIDDEN, key=str(comment.id), producer=discussion_events.PRODUCER,
                           data={"comment_id": str(comment.id), "thread_id": str(thread.id),
                                 "author_id": comment.author_id, "hidden": hidden, "moderation_version": version,
                                 "changed_by": actor.user_id, "reason": reason if hidden else None})
            comment.hidden, comment.moderation_version, comment.moderation = hidden, version, moderation
            return comment

        return _transaction(write)

    comment = _retry(attempt, "The comment")
    _changed(thread_ids=[comment.thread_id], lists=True, moderation=True)
    return comment


# -- reports ------------------------------------------------------------------------------------------------
def report_create(*, comment_id: str, actor: Principal, reason) -> Report:
    """A user reports a comment they can see, once (a second report of it is a 409; their own comment a 403)."""
    reason = _clean(reason, normalize_reason, "reason")
    comment = selectors.comment_get(comment_id=comment_id)
    viewer = _viewer(actor)
    if not selectors.comment_visible_to(comment, viewer=viewer):
        raise NotFound(COMMENT_NOT_FOUND)
    thread = _load_thread(str(comment.thread_id))
    if not selectors.thread_visible_to(thread, viewer=viewer):
        raise NotFound(COMMENT_NOT_FOUND)
    if comment.author_id == actor.user_id:
        raise PermissionDenied("You cannot report your own comment.")
    report = Report(id=f"{comment.id}:{actor.user_id}", comment_id=comment.id, thread_id=comment.thread_id,
                    reporter_id=actor.user_id, reason=reason, comment_body=comment.body,
                    comment_author_id=comment.author_id, created_at=utcnow())
    report.validate()
    _reports()
    try:
        _reports().insert_one(report.to_mongo())
    except DuplicateKeyError:
        raise Conflict("You have already reported this comment.") from None
    _changed(moderation=True)
    return report


def report_dismiss(*, report_id: str, actor: Principal) -> Report:
    """An administrator closes an open report without hiding the comment."""
    if not actor.is_admin:
        raise PermissionDenied("Administrator role required.")
    if not isinstance(report_id, str) or len(report_id) > 100:
        raise NotFound("Report not found.")
    raw = _reports().find_one_and_update(
        {"_id": report_id, "state": enums.REPORT_OPEN},
        {"$set": {"state": enums.REPORT_DISMISSED, "resolved_at": utcnow(), "resolved_by": actor.user_id}},
        return_document=True)
    if raw is None:
        raise NotFound("No open report with this id.")
    _changed(moderation=True)
    return Report._from_son(raw)


# -- projections: trade_signal.* -----------------------------------------------------------------------------
def signal_title(*, symbol: str, direction: str, timeframe: str) -> str:
    return f"{symbol} {direction} {timeframe}"


def signal_apply(*, signal_id: str, owner_id: str, status: str, version: int | None, at_us: int,
                 title: str | None = None, deleted: bool = False) -> bool:
    """Move the projection of one signal forward (never back) and open or close its thread to match.

    ``version`` None is ``trade_signal.created`` (it only fills what no later fact set); a delete is final.
    Returns whether anything changed."""
    if status not in enums.STATUSES:
        raise ValueError(f"unknown status {status!r}")
    signal_id, owner_id = str(signal_id), str(owner_id)

    def attempt() -> bool:
        raw = _signals().find_one({"_id": signal_id})
        if raw is None:
            try:
                _signals().insert_one({"_id": signal_id, "owner_id": owner_id, "status": status,
                                       "title": title or "", "version": version or 0, "at_us": at_us,
                                       "deleted": deleted, "thread_id": None})
            except DuplicateKeyError:
                raise WriteLost() from None
            return True
        if raw.get("deleted"):
            return False
        changes: dict = {}
        if deleted:
            changes["deleted"] = True
        elif version is None:
            if title and not raw.get("title"):
                changes["title"] = title
        elif (version, at_us) > (raw.get("version", 0), raw.get("at_us", 0)):
            changes.update(status=status, version=version, at_us=at_us)
            if title:
                changes["title"] = title
        if not changes:
            return False
        result = _signals().update_one({"_id": signal_id, "version": raw.get("version", 0),
                                        "at_us": raw.get("at_us", 0), "deleted": False}, {"$set": changes})
        if not result.matched_count:
            raise WriteLost()
        return True

    changed = _retry(attempt, "The signal projection")
    if changed:
        _sync_signal_thread(signal_id)
    return changed


def _sync_signal_thread(signal_id: str) -> None:
    """Open or close (and retitle) the thread of one signal as its projection now says."""

    def attempt() -> str | None:
        ref = selectors.signal_ref_get(signal_id=signal_id)
        if ref is None or ref.thread_id is None:
            return None
        thread = _load_thread(str(ref.thread_id))
        if thread is None:
            return None
        closed = not selectors.signal_is_open(ref)
        update = {"closed": closed, "visible": not thread.hidden and not closed}
        if ref.title:
            update["title"] = ref.title
        if all(getattr(thread, name) == value for name, value in update.items()):
            return None
        result = _threads().update_one({"_id": thread.id, "hidden": thread.hidden}, {"$set": update})
        if not result.matched_count:
            raise WriteLost()
        return str(thread.id)

    thread_id = _retry(attempt)
    if thread_id:
        _changed(thread_ids=[thread_id], lists=True, moderation=True)


# -- projections: user.* -------------------------------------------------------------------------------------
event_time_us = events.time_us  # the projections' ordering stamp of an event


def author_apply(*, user_id: str, at_us: int, name: str | None = None, active: bool | None = None) -> bool:
    """Apply a newer fact about a user (name, activation) to the author projection and to everything they
    wrote; a deactivated user's content shows ``enums.DEACTIVATED_NAME``, and their signals' threads close."""
    user_id = str(user_id)

    def attempt() -> tuple[dict, dict] | None:
        stored = _authors().find_one({"_id": user_id})
        raw = stored or {"_id": user_id, "name": "", "name_at_us": 0, "active": True, "active_at_us": 0}
        changes = {}
        if name is not None and at_us > raw.get("name_at_us", 0):
            changes.update(name=name[:200], name_at_us=at_us)
        if active is not None and at_us > raw.get("active_at_us", 0):
            changes.update(active=active, active_at_us=at_us)
        if not changes:
            return None
        if stored is None:
            try:
                _authors().insert_one({**raw, **changes})
            except DuplicateKeyError:
                raise WriteLost() from None
        elif not _authors().update_one({"_id": user_id, "name_at_us": raw.get("name_at_us", 0),
                                        "active_at_us": raw.get("active_at_us", 0)}, {"$set": changes}).matched_count:
            raise WriteLost()
        return raw, {**raw, **changes}

    outcome = _retry(attempt, "The author projection")
    if outcome is None:
        return False
    before, after = outcome
    shown = {"author_name": after["name"], "author_active": after["active"]}
    thread_ids = {str(raw["_id"]) for raw in _threads().find({"author_id": user_id}, {"_id": 1})}
    thread_ids |= {str(t) for t in _comments().distinct("thread_id", {"author_id": user_id})}
    _threads().update_many({"author_id": user_id}, {"$set": shown})
    _comments().update_many({"author_id": user_id}, {"$set": shown})
    if before.get("active", True) != after["active"]:
        for raw in _signals().find({"owner_id": user_id}, {"_id": 1}):
            _sync_signal_thread(str(raw["_id"]))
    _changed(thread_ids=thread_ids, lists=True, moderation=True)
    return True
