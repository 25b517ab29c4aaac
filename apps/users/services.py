"""Every write of the users app: the event-fed projection, profile edits, avatars, notifications.

Ordering and idempotency. Delivery is at-least-once and, with one stream per event type, events of one
user may arrive out of order. Every projected field therefore remembers the time of the fact that set it
(``*_at_us``) and only a strictly newer fact replaces it; a replayed event is equal, never newer, so it
changes nothing. Signal counts are derived from a per-signal state record updated in the same transaction
as the count, so a replay or a stale event moves no count; comment counts the same way, from a per-comment
state (``CommentState``). This holds even after the bus has forgotten an event id (its processed-ids inbox has
a TTL); the inbox is what keeps one-shot effects such as emails to one, and the new-comment email is also
throttled per (owner, signal) by a slot claimed in MongoDB.

Track records. Each signal's decided outcome (``trade_signal.outcome_recorded``) is kept with the newest status
fact of the signal in one ``SignalOutcome`` document, written by both kinds of event in their transactions, so
whether the outcome counts (decided, approved, not deleted) is the same for every delivery order; the owner
then gets one email per recorded outcome (a slot claimed in MongoDB, as for comments).

Avatars. One avatar at a time: an uploaded one (``Profile.avatar``, its ``Avatar`` record written in the same
transaction) or an external ``avatar_url``. Whatever replaces or removes an uploaded avatar marks its record
discarded in the transaction of the profile write and names it in the ``user.profile_updated`` it publishes; this
app's own consumer of that event deletes the files, then the record (``avatars_purge``), and the image sweep
(``avatars_collect``) finishes what a failed consumer left.

Caches. After a change of a profile commits, ``profile_changed`` below is sent; the cached ``/users/me``
hangs on it (``receivers``), so no write here knows which caches exist.
"""
from __future__ import annotations

import copy
import logging
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation

import django.dispatch
from bson import ObjectId
from django.conf import settings
from django.core.mail import send_mail
from django.template.loader import render_to_string
from mongoengine.connection import get_connection
from pymongo import ReturnDocument
from pymongo.errors import DuplicateKeyError, PyMongoError

from apps.users import events as user_events
from apps.users import selectors
from apps.users.models import (
    DISPLAY_NAME_MAX,
    OUTCOME_STATES,
    STATUSES,
    Avatar,
    CommentNotice,
    CommentState,
    CommentThreadState,
    OutcomeNotice,
    Profile,
    SignalOutcome,
    SignalState,
)
from tradesignals.kernel import events, mongo
from tradesignals.kernel.clock import to_storage_precision, utcnow
from tradesignals.kernel.errors import Conflict, ValidationFailed
from tradesignals.kernel.identity import ROLES, Principal
from tradesignals.kernel.images import pipeline, records, storage
from tradesignals.kernel.retry import WriteLost, is_write_conflict, retry_on_conflict

logger = logging.getLogger(__name__)
ALIAS = "users"
_TRIES = 20  # more than the kernel default: event projections of one user contend on one document
_COUNT_FIELD = {status: f"signals_{status}" for status in STATUSES}
EDITABLE_FIELDS = ("display_name", "bio", "avatar_url")
AVATAR_KIND = "avatars"  # stored under images/avatars/, swept by avatars_collect

# Sent after a committed change of one profile (an edit, a projected ``user.*`` fact, a signal count) with
# ``user_id`` and ``fields``, the names of the stored fields that changed.
profile_changed = django.dispatch.Signal()


def _profile_changed(user_id: str, fields) -> None:
    profile_changed.send(sender=Profile, user_id=user_id, fields=frozenset(fields))


class ProjectionLagging(Exception):
    """The projection does not know a fact yet; raising makes the bus redeliver the event later."""


def _us(moment: datetime) -> int:
    return int(moment.timestamp() * 1_000_000)


event_time_us = events.time_us  # the projection's ordering stamp of an event


def _profiles():
    return Profile._get_collection()


def _states():
    return SignalState._get_collection()


def _avatars():
    return Avatar._get_collection()


def _comment_states():
    return CommentState._get_collection()


def _comment_threads():
    return CommentThreadState._get_collection()


def _comment_notices():
    return CommentNotice._get_collection()


def _outcomes():
    return SignalOutcome._get_collection()


def _outcome_notices():
    return OutcomeNotice._get_collection()


def _new_profile_son(user_id: str) -> dict:
    return Profile(id=user_id).to_mongo().to_dict()


def _lost_race(exc: PyMongoError) -> bool:
    """A concurrent writer won: a duplicate ``_id`` (an insert beaten by another) or a write conflict."""
    return isinstance(exc, DuplicateKeyError) or is_write_conflict(exc)


def _profile_write(user_id: str, mutate: Callable[[dict], None], *, session=None,
                   create: bool = True) -> tuple[Profile, dict]:
    """Read, mutate, validate and conditionally write one profile; return it and the changed fields.

    Only changed fields are ``$set`` (with a ``rev`` check), so concurrent ``$inc`` of counts never get
    overwritten. Raises ``WriteLost`` when the document moved under us. ``create=False``: a profile not stored
    yet stays so (nothing to remove from it).
    """
    raw = _profiles().find_one({"_id": user_id}, session=session)
    current = raw or _new_profile_son(user_id)
    if raw is None and not create:
        return Profile._from_son(current), {}
    work = copy.deepcopy(current)
    mutate(work)
    changes = {name: value for name, value in work.items() if current.get(name) != value}
    if not changes and raw is not None:
        return Profile._from_son(current), {}
    changes["updated_at"] = utcnow()
    merged = {**current, **changes}
    document = Profile._from_son(merged)
    document.validate()
    if raw is None:
        try:
            _profiles().insert_one(merged, session=session)
        except DuplicateKeyError:
            raise WriteLost() from None
        return document, changes
    result = _profiles().update_one({"_id": user_id, "rev": current.get("rev", 0)},
                                    {"$set": changes, "$inc": {"rev": 1}}, session=session)
    if not result.matched_count:
        raise WriteLost()
    return document, changes


def _profile_mutate(user_id: str, mutate: Callable[[dict], None]) -> dict:
    _profile, changes = retry_on_conflict(
        lambda: _profile_write(user_id, mutate), tries=_TRIES,
        conflict=Conflict("The profile is being changed concurrently; retry."))
    if changes:
        _profile_changed(user_id, changes)
    return changes


# --- projection: user.* ---------------------------------------------------------------------------------

def profile_apply_registered(*, user_id: str, email: str, role: str, display_name: str | None,
                             created_at: str, at_us: int) -> dict:
    """``user.registered``: identity facts; role/active/name only if no newer fact set them already."""
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}")
    created = datetime.fromisoformat(created_at)
    created = created if created.tzinfo else created.replace(tzinfo=UTC)
    name = (display_name or "").strip()[:DISPLAY_NAME_MAX]

    def mutate(p: dict) -> None:
        if at_us > p.get("registered_at_us", 0):
            p.update(registered=True, email=email, email_lc=email.lower(), created_at=created,
                     registered_at_us=at_us)
        if at_us > p.get("role_at_us", 0):
            p.update(role=role, role_at_us=at_us)
        if at_us > p.get("active_at_us", 0):
            p.update(is_active=True, active_at_us=at_us)
        if at_us > p.get("display_name_at_us", 0):
            p.update(display_name=name, display_name_lc=name.lower(), display_name_at_us=at_us)

    return _profile_mutate(str(user_id), mutate)


def profile_apply_role(*, user_id: str, role: str, at_us: int) -> dict:
    """``user.role_changed``: the newest role wins, whatever the delivery order."""
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}")

    def mutate(p: dict) -> None:
        if at_us > p.get("role_at_us", 0):
            p.update(role=role, role_at_us=at_us)

    return _profile_mutate(str(user_id), mutate)


def profile_apply_active(*, user_id: str, is_active: bool, at_us: int) -> dict:
    """``user.deactivated`` / ``user.reactivated``: the newest of the two wins."""

    def mutate(p: dict) -> None:
        if at_us > p.get("active_at_us", 0):
            p.update(is_active=is_active, active_at_us=at_us)

    return _profile_mutate(str(user_id), mutate)


# --- projection: trade_signal.* -------------------------------------------------------------------------

def _signal_transition(*, signal_id: str, owner_id: str, status: str, version: int | None, at_us: int,
                       deleted: bool, session) -> dict:
    """Move the stored state of one signal forward (never back); return the count deltas it implies."""
    state = _states().find_one({"_id": signal_id}, session=session)
    if state is None:
        _states().insert_one({"_id": signal_id, "owner_id": owner_id, "status": status, "version": version or 0,
                              "at_us": at_us, "deleted": deleted}, session=session)
        return {} if deleted else {_COUNT_FIELD[status]: 1}
    if state.get("deleted"):
        return {}  # a deleted signal never counts again, whatever arrives late
    if deleted:
        _states().update_one({"_id": signal_id}, {"$set": {"deleted": True}}, session=session)
        return {_COUNT_FIELD[state["status"]]: -1}
    if version is None or (version, at_us) <= (state.get("version", 0), state.get("at_us", 0)):
        return {}  # a replay, a stale update, or ``created`` arriving after an update
    _states().update_one({"_id": signal_id}, {"$set": {"status": status, "version": version, "at_us": at_us}},
                         session=session)
    if status == state["status"]:
        return {}
    return {_COUNT_FIELD[state["status"]]: -1, _COUNT_FIELD[status]: 1}


def signal_count_apply(*, signal_id: str, owner_id: str, status: str, version: int | None, at_us: int,
                       deleted: bool = False) -> dict:
    """Apply one ``trade_signal.*`` fact to the owner's per-status counts, exactly once in effect.

    The signal's state and the owner's counters change in one transaction: a crash or a conflict leaves
    neither, and the redelivered event then applies cleanly.
    """
    if status not in STATUSES:
        raise ValueError(f"unknown status {status!r}")
    signal_id, owner_id = str(signal_id), str(owner_id)
    # Whether the fact can move a recorded outcome in or out of the track record (see SignalOutcome): a deletion,
    # or a status with a version (``created`` has none, and precedes every outcome anyway).
    moves_record = deleted or version is not None
    client = get_connection(ALIAS)
    _profiles(), _states(), _outcomes()  # index builds, never inside the transaction

    def attempt() -> tuple[dict, bool]:
        record_moved = False
        try:
            with client.start_session() as session, session.start_transaction(**mongo.transaction_options()):
                delta = _signal_transition(signal_id=signal_id, owner_id=owner_id, status=status,
                                           version=version, at_us=at_us, deleted=deleted, session=session)
                if delta:
                    defaults = {name: value for name, value in _new_profile_son(owner_id).items()
                                if name not in delta and name != "_id"}
                    _profiles().update_one({"_id": owner_id}, {"$inc": delta, "$setOnInsert": defaults},
                                           upsert=True, session=session)
                if moves_record:
                    fact = None if deleted else {"status": status, "status_version": int(version),
                                                 "status_at_us": at_us}
                    record_moved = _outcome_fold(signal_id=signal_id, owner_id=owner_id, status=fact,
                                                 deleted=deleted, session=session)
        except PyMongoError as exc:
            if _lost_race(exc):
                raise WriteLost() from None
            raise
        return delta, record_moved

    delta, record_moved = retry_on_conflict(
        attempt, tries=_TRIES, conflict=Conflict("Signal counts are being changed concurrently; retry."))
    if delta or record_moved:
        _profile_changed(owner_id, {*delta, *((TRACK_RECORD,) if record_moved else ())})
    return delta


# --- projection: trade_signal.outcome_recorded ---------------------------------------------------------

TRACK_RECORD = "track_record"  # the name ``profile_changed`` gives a change of the track record
_OUTCOME_FIELDS = ("state", "closed_at", "r_cents", "r_count", "version", "at_us")


def _r_cents(r_multiple) -> int | None:
    """An R of two places ("2.00", "-1.00") in exact hundredths; None when the outcome has none."""
    if r_multiple is None:
        return None
    try:
        cents = Decimal(str(r_multiple)) * 100
    except InvalidOperation:
        raise ValueError(f"r_multiple {r_multiple!r} is not a decimal") from None
    if not cents.is_finite() or cents != cents.to_integral_value():
        raise ValueError(f"r_multiple {r_multiple!r} is not a decimal of two places")
    return int(cents)


def _outcome_counts(doc: dict) -> bool:
    """In the record: decided, not deleted, and approved — a status fact newer than the outcome (a higher
    version) says whether it still is; without one, the outcome itself was recorded while approved."""
    if doc.get("state") is None or doc.get("deleted"):
        return False
    return doc.get("status_version", 0) <= doc.get("version", 0) or doc.get("status") == "approved"


def _newer(fact: dict, stored: dict, version: str, at: str) -> bool:
    return (fact[version], fact[at]) > (stored.get(version, 0), stored.get(at, 0))


def _outcome_fold(*, signal_id: str, owner_id: str, session, outcome: dict | None = None,
                  status: dict | None = None, deleted: bool = False) -> bool:
    """Fold one fact into a signal's ``SignalOutcome``; return whether the owner's track record changed.

    ``outcome`` (the ``_OUTCOME_FIELDS``) and ``status`` (status, status_version, status_at_us) each replace the
    stored one only when newer by (version, event time), so a replay or a stale fact changes nothing; ``deleted``
    is final. Every fact writes this one document, so two concurrent facts of one signal conflict (and one
    retries) instead of deciding ``counted`` on each other's stale reads."""
    old = _outcomes().find_one({"_id": signal_id}, session=session)
    base = old or SignalOutcome(id=signal_id, owner_id=owner_id).to_mongo().to_dict()
    new = dict(base)
    if outcome is not None and _newer(outcome, base, "version", "at_us"):
        new.update(outcome)
    if status is not None and _newer(status, base, "status_version", "status_at_us"):
        new.update(status)
    if deleted:
        new["deleted"] = True
    new["counted"] = _outcome_counts(new)
    if old is None:
        _outcomes().insert_one(new, session=session)
    elif new != old:
        _outcomes().update_one({"_id": signal_id}, {"$set": {k: v for k, v in new.items() if old.get(k) != v}},
                               session=session)
    was, now = bool(base.get("counted")), new["counted"]
    return was != now or (now and any(base.get(k) != new.get(k) for k in _OUTCOME_FIELDS))


def outcome_apply(*, signal_id: str, owner_id: str, state: str, closed_at: str | None, r_multiple,
                  version: int, at_us: int) -> bool:
    """Apply one ``trade_signal.outcome_recorded`` to the owner's track record, exactly once in effect.

    Returns whether the record changed (then ``profile_changed`` is sent with ``track_record``, after the
    commit). ``closed_at`` missing falls back to the event's time (``at_us``)."""
    if state not in OUTCOME_STATES:
        raise ValueError(f"not a final outcome: {state!r}")
    signal_id, owner_id, version = str(signal_id), str(owner_id), int(version)
    cents = _r_cents(r_multiple)
    if closed_at:
        closed = datetime.fromisoformat(closed_at)
        closed = closed if closed.tzinfo else closed.replace(tzinfo=UTC)
    else:
        closed = datetime.fromtimestamp(at_us / 1_000_000, tz=UTC)
    closed = to_storage_precision(closed.astimezone(UTC))  # as MongoDB keeps it
    outcome = {"state": state, "closed_at": closed, "r_cents": cents or 0, "r_count": int(cents is not None),
               "version": version, "at_us": int(at_us)}
    client = get_connection(ALIAS)
    _outcomes()  # the index build, never inside the transaction

    def attempt() -> bool:
        try:
            with client.start_session() as session, session.start_transaction(**mongo.transaction_options()):
                return _outcome_fold(signal_id=signal_id, owner_id=owner_id, outcome=outcome, session=session)
        except PyMongoError as exc:
            if _lost_race(exc):
                raise WriteLost() from None
            raise

    moved = retry_on_conflict(attempt, tries=_TRIES,
                              conflict=Conflict("The track record is being changed concurrently; retry."))
    if moved:
        _profile_changed(owner_id, {TRACK_RECORD})
    return moved


# --- projection: discussion.* ---------------------------------------------------------------------------

_COMMENTS = "comments_count"


def _comment_transition(*, comment_id: str, thread_id: str, author_id: str, created: bool,
                        hidden: bool | None, moderation_version: int | None, deleted: bool,
                        session) -> tuple[str, int]:
    """Fold one fact into the stored state of one comment; return its author and the count delta (-1, 0, 1)."""
    thread = _comment_threads().find_one({"_id": thread_id}, session=session)
    state = _comment_states().find_one({"_id": comment_id}, session=session)
    old = state or {"_id": comment_id, "author_id": author_id, "thread_id": thread_id, "created": False,
                    "hidden": False, "moderation_version": 0, "deleted": False, "counted": False}
    new = dict(old)
    if created:
        new["created"] = True
    if moderation_version is not None and moderation_version > old.get("moderation_version", 0):
        new.update(hidden=bool(hidden), moderation_version=moderation_version)  # else a replay or stale
    if deleted or (thread or {}).get("deleted"):
        new["deleted"] = True  # final: a comment deleted (or in a deleted thread) never counts again
    new["counted"] = new["created"] and not new["hidden"] and not new["deleted"]
    author = old["author_id"]
    if state is None:
        _comment_states().insert_one(new, session=session)
    elif new != old:
        _comment_states().update_one({"_id": comment_id},
                                     {"$set": {k: v for k, v in new.items() if old.get(k) != v}}, session=session)
    delta = int(new["counted"]) - int(old["counted"])
    if delta > 0:
        # Conflicts with a concurrent thread deletion, which otherwise would not see this comment's new state.
        _comment_threads().update_one({"_id": thread_id}, {"$inc": {"raised": 1},
                                                           "$setOnInsert": {"deleted": False}},
                                      upsert=True, session=session)
    return author, delta


def _thread_transition(*, thread_id: str, session) -> Counter:
    """Mark a thread deleted and every comment of it; return the count delta per author."""
    _comment_threads().update_one({"_id": thread_id}, {"$set": {"deleted": True}, "$setOnInsert": {"raised": 0}},
                                  upsert=True, session=session)
    deltas: Counter = Counter()
    for state in _comment_states().find({"thread_id": thread_id, "deleted": False},
                                        {"author_id": 1, "counted": 1}, session=session):
        if state.get("counted"):
            deltas[state["author_id"]] -= 1
    _comment_states().update_many({"thread_id": thread_id, "deleted": False},
                                  {"$set": {"deleted": True, "counted": False}}, session=session)
    return deltas


def _comment_counts_commit(transition: Callable[[object], Counter]) -> dict[str, int]:
    """Run ``transition`` (state changes, returning deltas per author) and the authors' ``$inc`` in one
    transaction, retried on a lost race; ``profile_changed`` for every author whose count moved."""
    _profiles(), _comment_states(), _comment_threads()  # index builds, never inside the transaction
    client = get_connection(ALIAS)

    def attempt() -> dict[str, int]:
        try:
            with client.start_session() as session, session.start_transaction(**mongo.transaction_options()):
                deltas = {author: delta for author, delta in transition(session).items() if delta}
                for author, delta in sorted(deltas.items()):
                    defaults = {name: value for name, value in _new_profile_son(author).items()
                                if name not in (_COMMENTS, "_id")}
                    _profiles().update_one({"_id": author}, {"$inc": {_COMMENTS: delta}, "$setOnInsert": defaults},
                                           upsert=True, session=session)
        except PyMongoError as exc:
            if _lost_race(exc):
                raise WriteLost() from None
            raise
        return deltas

    deltas = retry_on_conflict(attempt, tries=_TRIES,
                               conflict=Conflict("Comment counts are being changed concurrently; retry."))
    for author in deltas:
        _profile_changed(author, {_COMMENTS})
    return deltas


def comment_count_apply(*, comment_id: str, thread_id: str, author_id: str, created: bool = False,
                        hidden: bool | None = None, moderation_version: int | None = None,
                        deleted: bool = False) -> dict[str, int]:
    """Apply one ``discussion.comment_*`` fact to its author's ``comments_count``, exactly once in effect:
    ``created`` (comment_created), ``hidden`` with its ``moderation_version`` (comment_hidden; the higher
    version wins), ``deleted`` (comment_deleted, final). Returns the delta per author (empty: no change)."""
    if moderation_version is not None and (hidden is None or int(moderation_version) < 1):
        raise ValueError("a moderation fact needs hidden and a moderation_version of at least 1")
    comment_id, thread_id, author_id = str(comment_id), str(thread_id), str(author_id)
    version = None if moderation_version is None else int(moderation_version)

    def transition(session) -> Counter:
        author, delta = _comment_transition(comment_id=comment_id, thread_id=thread_id, author_id=author_id,
                                            created=created, hidden=hidden, moderation_version=version,
                                            deleted=deleted, session=session)
        return Counter({author: delta})

    return _comment_counts_commit(transition)


def comment_thread_drop(*, thread_id: str) -> dict[str, int]:
    """``discussion.thread_deleted``: every comment of the thread stops counting, now and when it arrives late."""
    thread_id = str(thread_id)
    return _comment_counts_commit(lambda session: _thread_transition(thread_id=thread_id, session=session))


# --- profile edits (PATCH /users/me) ---------------------------------------------------------------------

def _validate_edits(changes: dict) -> None:
    unknown = sorted(set(changes) - set(EDITABLE_FIELDS))
    if unknown:
        raise ValidationFailed(details={name: ["This field cannot be changed."] for name in unknown})
    if "display_name" in changes:
        name = changes["display_name"]
        if not isinstance(name, str) or not 1 <= len(name) <= DISPLAY_NAME_MAX:
            raise ValidationFailed(details={"display_name": ["Must be 1 to 80 characters."]})


def _profile_edit(*, principal: Principal, mutate: Callable[[dict], None], new_avatar: Avatar | None = None,
                  create: bool = True) -> Profile:
    """The caller's own edit in one transaction with its ``user.profile_updated``: ``new_avatar``'s record is
    inserted and an uploaded avatar the edit replaces or removes is marked discarded (and named in the event)."""
    user_id = principal.user_id
    _profiles(), _avatars()  # before the transaction: a first use builds the indexes, which no transaction may

    def attempt() -> tuple[Profile, dict]:
        discarded: list = []

        def edit(p: dict) -> None:
            old = p.get("avatar")
            mutate(p)
            new = p.get("avatar")
            if old and (not new or new.get("id") != old.get("id")):
                discarded.append(old["id"])

        try:
            with events.atomic(ALIAS) as session:
                if new_avatar is not None:
                    _avatars().insert_one(new_avatar.to_mongo(), session=session)
                stored, written = _profile_write(user_id, edit, session=session, create=create)
                profile = selectors.profile_with_claims(profile=stored, principal=principal)
                if discarded:
                    _avatars().update_many({"_id": {"$in": discarded}, "owner_id": user_id, "discarded_at": None},
                                           {"$set": {"discarded_at": utcnow()}}, session=session)
                if written:
                    events.publish(
                        user_events.PROFILE_UPDATED, key=user_id, producer=user_events.PRODUCER,
                        data=user_events.profile_updated_data(user_id=user_id, display_name=profile.display_name,
                                                              discarded_image_ids=discarded),
                    )
        except PyMongoError as exc:
            if _lost_race(exc):
                raise WriteLost() from None
            raise
        return profile, written

    profile, written = retry_on_conflict(
        attempt, tries=_TRIES, conflict=Conflict("The profile is being changed concurrently; retry."))
    if written:
        _profile_changed(user_id, written)
    return profile


def profile_update(*, principal: Principal, changes: dict) -> Profile:
    """Edit the caller's own profile; publish ``user.profile_updated`` with the change, atomically.

    Works before the projection has the user too: it then stores a partial profile that
    ``user.registered`` completes (the edit is newer than the registration, so it is kept). Setting
    ``avatar_url`` (null too) replaces an uploaded avatar.
    """
    _validate_edits(changes)

    def mutate(p: dict) -> None:
        if "display_name" in changes and changes["display_name"] != p.get("display_name"):
            name = changes["display_name"]
            stamp = max(_us(utcnow(exact=True)), p.get("display_name_at_us", 0) + 1)
            p.update(display_name=name, display_name_lc=name.lower(), display_name_at_us=stamp)
        if "bio" in changes:
            p["bio"] = changes["bio"] or ""
        if "avatar_url" in changes:
            p.update(avatar_url=changes["avatar_url"], avatar=None)

    return _profile_edit(principal=principal, mutate=mutate)


# --- avatars (PUT/DELETE /users/me/avatar) ---------------------------------------------------------------

def avatar_upload(*, principal: Principal, data: bytes) -> Profile:
    """Decode, square, re-encode and store an upload as the caller's avatar, replacing any avatar they had
    (400 for anything but a sound JPEG/PNG/WebP/GIF, 503 when the store fails); files whose record was never
    committed are deleted again."""
    processed = pipeline.process(data, max_pixels=settings.IMAGE_MAX_PIXELS,
                                 thumbnail_width=settings.IMAGE_AVATAR_SIZE, square=True)
    stored = storage.store(processed, kind=AVATAR_KIND)
    avatar = Avatar.of(stored, owner_id=principal.user_id, created_at=utcnow(), id=ObjectId())
    ref = avatar.ref().to_mongo().to_dict()

    def mutate(p: dict) -> None:
        p.update(avatar=ref, avatar_url=None)

    with records.kept_only_if_recorded(stored, _avatars(), avatar.id):
        return _profile_edit(principal=principal, mutate=mutate, new_avatar=avatar)


def avatar_remove(*, principal: Principal) -> Profile:
    """No avatar any more, uploaded or external; nothing to remove is no change (and no event)."""

    def mutate(p: dict) -> None:
        p.update(avatar=None, avatar_url=None)

    return _profile_edit(principal=principal, mutate=mutate, create=False)


def avatars_purge(*, image_ids: list[str]) -> int:
    """Delete discarded avatars (files, then records): the consumer of ``user.profile_updated`` and the sweep."""
    return records.purge(_avatars(), image_ids)


def avatars_collect(now: datetime) -> dict[str, int]:
    """The sweep (kernel.images.gc): discarded records past IMAGE_GC_GRACE (their event's handler failed) and
    stored avatar files no record names past IMAGE_GC_GRACE (an upload whose record never committed). An
    avatar is attached in the transaction that records it, so there are no unattached ones to expire."""
    grace_before = now - timedelta(seconds=settings.IMAGE_GC_GRACE)
    return {"detached": records.sweep_detached(_avatars(), before=grace_before),
            "unreferenced_files": records.sweep_unreferenced(_avatars(), kind=AVATAR_KIND, before=grace_before)}


# --- notifications ---------------------------------------------------------------------------------------------


def _send_email(template: str, context: dict, recipient: str) -> None:
    """One email from ``users/email/<template>_subject.txt`` and ``<template>.txt``; a failure raises (the event
    handler that sends it is retried)."""
    send_mail(subject=render_to_string(f"users/email/{template}_subject.txt", context).strip(),
              message=render_to_string(f"users/email/{template}.txt", context), from_email=None,
              recipient_list=[recipient], fail_silently=False)


def notification_send_welcome(*, email: str, display_name: str | None) -> None:
    """The welcome email after registration."""
    context = {"display_name": (display_name or "").strip() or email}
    _send_email("welcome", context, email)


def notification_send_signal_reviewed(*, owner_id: str, symbol: str, old_status: str, new_status: str,
                                      reason: str | None) -> bool:
    """Tell a signal's owner that a reviewer changed its status; the address comes from the projection.

    Returns False when there is nothing to send (no change of status, or the owner is deactivated).
    Raises ``ProjectionLagging`` when the owner's profile is not projected yet, so the event is retried.
    """
    if old_status == new_status:
        return False
    profile = selectors.profile_get(user_id=owner_id)
    if profile is None or not profile.registered or not profile.email:
        raise ProjectionLagging(f"no projected profile with an email for user {owner_id}")
    if not profile.is_active:
        logger.info("review notification skipped: owner deactivated", extra={"user_id": owner_id})
        return False
    context = {"display_name": profile.display_name or profile.email, "symbol": symbol,
               "old_status": old_status, "new_status": new_status, "reason": reason}
    _send_email("signal_reviewed", context, profile.email)
    return True


def _notify_interval() -> timedelta:
    return timedelta(seconds=getattr(settings, "DISCUSSION_NOTIFY_INTERVAL", 3600))


def _notice_claim(*, owner_id: str, signal_id: str) -> tuple[str, str, dict | None] | None:
    """Take the (owner, signal) email slot if none was sent in the last interval: one conditional upsert, so of
    racing processes exactly one wins (the others hit the existing ``_id``). Returns what ``_notice_release``
    needs, or None when the slot is held."""
    key, token, now = f"{owner_id}:{signal_id}", str(ObjectId()), utcnow()
    try:
        before = _comment_notices().find_one_and_update(
            {"_id": key, "last_sent_at": {"$lt": now - _notify_interval()}},
            {"$set": {"owner_id": owner_id, "signal_id": signal_id, "last_sent_at": now, "claim": token}},
            upsert=True, return_document=ReturnDocument.BEFORE)
    except DuplicateKeyError:
        return None  # sent within the interval, or being sent right now by another process
    return key, token, before


def _notice_release(claim: tuple[str, str, dict | None]) -> None:
    """Give the slot back after a failed send (only if still ours), so the redelivered event sends."""
    key, token, before = claim
    try:
        if before is None:
            _comment_notices().delete_one({"_id": key, "claim": token})
        else:
            _comment_notices().update_one({"_id": key, "claim": token},
                                          {"$set": {"last_sent_at": before["last_sent_at"],
                                                    "claim": before.get("claim") or ""}})
    except PyMongoError:
        logger.exception("comment notice slot not given back", extra={"notice": key})


def notification_send_comment_created(*, author_id: str, signal_id: str | None, signal_owner_id: str | None,
                                      signal_title: str | None) -> bool:
    """Tell a signal's owner that their signal has new comments: at most one email per (owner, signal) per
    ``DISCUSSION_NOTIFY_INTERVAL`` seconds (default an hour), whatever the number of comments or processes.

    Returns False when there is nothing to send: not under a signal, the owner's own comment, a deactivated
    owner, or an email for this signal sent within the interval. Raises ``ProjectionLagging`` when the owner's
    profile is not projected yet, and whatever the mail backend raised after giving the slot back (the event is
    retried either way).
    """
    if not signal_id or not signal_owner_id or str(signal_owner_id) == str(author_id):
        return False
    owner_id, signal_id = str(signal_owner_id), str(signal_id)
    profile = selectors.profile_get(user_id=owner_id)
    if profile is None or not profile.registered or not profile.email:
        raise ProjectionLagging(f"no projected profile with an email for user {owner_id}")
    if not profile.is_active:
        logger.info("comment notification skipped: owner deactivated", extra={"user_id": owner_id})
        return False
    claim = _notice_claim(owner_id=owner_id, signal_id=signal_id)
    if claim is None:
        return False
    context = {"display_name": profile.display_name or profile.email,
               "signal_title": " ".join((signal_title or "").split())}  # one line: it goes into the subject
    try:
        _send_email("signal_commented", context, profile.email)
    except Exception:
        _notice_release(claim)
        raise
    return True


def notification_send_outcome(*, signal_id: str, owner_id: str, symbol: str, state: str, entered_at: str | None,
                              closed_at: str | None, exit_price: str | None, r_multiple: str | None,
                              version: int) -> bool:
    """Tell a signal's owner how it ended (won, lost, expired): one email per recorded outcome, whatever the
    redeliveries or processes — a slot ``signal:version`` is inserted first and only its inserter sends.

    Returns False when there is nothing to send: the owner is deactivated, or the signal is already off the
    record (deleted, or rejected after the outcome), or the email was sent.
    Raises ``ProjectionLagging`` when the owner's profile is not projected yet, and whatever the mail backend
    raised after giving the slot back (the event is retried either way)."""
    if state not in OUTCOME_STATES:
        raise ValueError(f"not a final outcome: {state!r}")
    signal_id, owner_id, version = str(signal_id), str(owner_id), int(version)
    profile = selectors.profile_get(user_id=owner_id)
    if profile is None or not profile.registered or not profile.email:
        raise ProjectionLagging(f"no projected profile with an email for user {owner_id}")
    if not profile.is_active:
        logger.info("outcome notification skipped: owner deactivated", extra={"user_id": owner_id})
        return False
    known = _outcomes().find_one({"_id": signal_id})
    if known is not None and (known.get("deleted") or (known.get("status_version", 0) > version
                                                       and known.get("status") != "approved")):
        return False  # taken off the record already: telling the owner it won would be news of nothing
    key, token = f"{signal_id}:{version}", str(ObjectId())
    try:
        _outcome_notices().insert_one({"_id": key, "owner_id": owner_id, "signal_id": signal_id,
                                       "sent_at": utcnow(), "claim": token})
    except DuplicateKeyError:
        return False  # sent already (or being sent right now by another process)
    context = {"display_name": profile.display_name or profile.email, "symbol": " ".join(str(symbol).split()),
               "state": state, "entered_at": entered_at, "closed_at": closed_at,
               "exit_price": exit_price, "r_multiple": r_multiple}
    try:
        _send_email("signal_outcome", context, profile.email)
    except Exception:
        try:
            _outcome_notices().delete_one({"_id": key, "claim": token})
        except PyMongoError:
            logger.exception("outcome notice slot not given back", extra={"notice": key})
        raise
    return True
