"""The users app's own collections (db alias ``users``): a projection fed by events, and uploaded avatars.

Nothing here is read from another app's collections. Every field that events can change carries the
time (epoch microseconds) of the event that last set it, so a late or replayed event never overwrites a
newer fact (see services.py).
"""
from __future__ import annotations

import mongoengine as me

from tradesignals.kernel.identity import ROLES
from tradesignals.kernel.images.records import ImageRecord, ImageRef

STATUSES = ("pending", "approved", "rejected")
DISPLAY_NAME_MAX = 80
BIO_MAX = 500
AVATAR_URL_MAX = 2048


def _https_url(value: str | None) -> None:
    if value is not None and not value.lower().startswith("https://"):
        raise me.ValidationError("avatar_url must be an https URL")


class Profile(me.Document):
    """One user as this slice knows them: identity facts from accounts' events plus editable profile."""

    id = me.StringField(primary_key=True)
    # False while only partial facts arrived (e.g. a signal count before user.registered).
    registered = me.BooleanField(default=False)
    email = me.StringField(max_length=320, null=True)
    email_lc = me.StringField(null=True)
    role = me.StringField(choices=ROLES, default="user")
    is_active = me.BooleanField(default=True)
    display_name = me.StringField(max_length=DISPLAY_NAME_MAX, default="")
    display_name_lc = me.StringField(default="")
    bio = me.StringField(max_length=BIO_MAX, default="")
    avatar_url = me.StringField(max_length=AVATAR_URL_MAX, null=True, validation=_https_url)
    # An uploaded avatar; one avatar at a time, so with it set ``avatar_url`` is null.
    avatar = me.EmbeddedDocumentField(ImageRef, null=True)
    created_at = me.DateTimeField(null=True)  # with id, the keyset order of the admin directory
    updated_at = me.DateTimeField(null=True)
    signals_pending = me.IntField(default=0)
    signals_approved = me.IntField(default=0)
    signals_rejected = me.IntField(default=0)
    # The user's comments that stand (posted, not hidden, not deleted); see CommentState.
    comments_count = me.IntField(default=0)
    # Last-writer stamps (epoch microseconds of the fact that set the field).
    registered_at_us = me.IntField(default=0)
    role_at_us = me.IntField(default=0)
    active_at_us = me.IntField(default=0)
    display_name_at_us = me.IntField(default=0)
    rev = me.IntField(default=0)  # optimistic concurrency for read-modify-write updates

    meta = {
        "db_alias": "users",
        "collection": "user_profiles",
        "indexes": [
            {"fields": ["registered", "-created_at", "-id"]},
            {"fields": ["email_lc"]},
            {"fields": ["display_name_lc"]},
        ],
    }

    @property
    def shown_avatar_url(self) -> str | None:
        """What every representation calls ``avatar_url``: the uploaded avatar's square thumbnail, else the
        external URL."""
        return self.avatar.thumbnail_url if self.avatar is not None else self.avatar_url

    def signal_counts(self) -> dict:
        return {
            "pending": self.signals_pending,
            "approved": self.signals_approved,
            "rejected": self.signals_rejected,
        }


class SignalState(me.Document):
    """The last known status of each trade signal, so count updates are idempotent and order-proof."""

    id = me.StringField(primary_key=True)  # signal id
    owner_id = me.StringField(required=True)
    status = me.StringField(choices=STATUSES, required=True)
    version = me.IntField(default=0)
    at_us = me.IntField(default=0)
    deleted = me.BooleanField(default=False)

    meta = {"db_alias": "users", "collection": "user_signal_states", "indexes": ["owner_id"]}


OUTCOME_STATES = ("won", "lost", "expired")  # the final outcomes ``trade_signal.outcome_recorded`` reports


class SignalOutcome(me.Document):
    """What the track record knows of one signal: its decided outcome (``trade_signal.outcome_recorded``) and
    the newest status fact of the signal, so whether the outcome ``counted`` comes out the same whatever order
    the events arrive in.

    An outcome is final and recorded at the signal's ``version`` while the signal is approved (recording it
    bumps the version), so a status fact with a higher version (``status_version``: an admin rejection, a
    re-approval) is newer than the outcome and says whether the signal is still approved; an older one says
    nothing the outcome does not. The outcome counts while the signal is approved and not ``deleted`` (final).
    A document may hold only the status facts (``state`` null) when they came first. R is kept in hundredths
    (``r_cents``, exact: R has two places) with ``r_count`` 1 or 0, so a record is a plain ``$sum`` over the
    (owner_id, counted, closed_at) index (selectors.track_record).
    """

    id = me.StringField(primary_key=True)  # signal id
    owner_id = me.StringField(required=True)
    state = me.StringField(choices=OUTCOME_STATES, null=True)
    closed_at = me.DateTimeField(null=True)
    r_cents = me.IntField(default=0)
    r_count = me.IntField(default=0)  # 1 when the outcome has an R (an expiry before entry has none)
    version = me.IntField(default=0)  # the signal's version the outcome was recorded at
    at_us = me.IntField(default=0)  # the outcome event's time: with version, orders two outcomes of one signal
    status = me.StringField(choices=STATUSES, null=True)  # the newest status fact (trade_signal.updated/status_changed)
    status_version = me.IntField(default=0)
    status_at_us = me.IntField(default=0)
    deleted = me.BooleanField(default=False)
    counted = me.BooleanField(default=False)

    meta = {
        "db_alias": "users",
        "collection": "user_signal_outcomes",
        "indexes": [{"fields": ["owner_id", "counted", "closed_at"], "name": "owner_counted_closed"}],
    }


class OutcomeNotice(me.Document):
    """The outcome email of one recorded outcome, ``_id`` ``signal:version``: inserted before the email is sent,
    so a redelivered event (or a second process) finds it and sends nothing; removed again if the send fails."""

    id = me.StringField(primary_key=True)
    owner_id = me.StringField(required=True)
    signal_id = me.StringField(required=True)
    sent_at = me.DateTimeField(required=True)
    claim = me.StringField(required=True)

    meta = {"db_alias": "users", "collection": "user_outcome_notices"}


class CommentState(me.Document):
    """What is known of one comment (``discussion.*`` events), so its author's count moves exactly once per
    change whatever the order: it counts while ``created`` and neither ``hidden`` nor ``deleted``, and
    ``counted`` says whether it is in ``Profile.comments_count`` now. A delete is final; hide and unhide are
    ordered by ``moderation_version`` (the higher wins)."""

    id = me.StringField(primary_key=True)  # comment id
    author_id = me.StringField(required=True)
    thread_id = me.StringField(required=True)
    created = me.BooleanField(default=False)
    hidden = me.BooleanField(default=False)
    moderation_version = me.IntField(default=0)
    deleted = me.BooleanField(default=False)
    counted = me.BooleanField(default=False)

    meta = {"db_alias": "users", "collection": "user_comment_states", "indexes": ["thread_id"]}


class CommentThreadState(me.Document):
    """One thread that comments were counted in: ``deleted`` once ``discussion.thread_deleted`` arrived, so a
    comment of it arriving later never counts. Every change that makes a comment count writes this document
    too (``raised``), so it conflicts with a concurrent deletion of the thread instead of slipping past it."""

    id = me.StringField(primary_key=True)  # thread id
    deleted = me.BooleanField(default=False)
    raised = me.IntField(default=0)

    meta = {"db_alias": "users", "collection": "user_comment_threads"}


class CommentNotice(me.Document):
    """The last new-comment email to a signal's owner: one slot per (owner, signal), ``_id`` ``owner:signal``,
    claimed by one conditional upsert (services.notification_send_comment_created)."""

    id = me.StringField(primary_key=True)
    owner_id = me.StringField(required=True)
    signal_id = me.StringField(required=True)
    last_sent_at = me.DateTimeField(required=True)
    claim = me.StringField(required=True)  # who holds the slot: a give-back only undoes its own claim

    meta = {"db_alias": "users", "collection": "user_comment_notices"}


class Avatar(ImageRecord):
    """One uploaded avatar (``kernel.images.records``), its owner's from the start: it is recorded in the
    transaction that puts it on the profile, so no avatar is ever unattached; the transaction that replaces or
    removes it marks it discarded, and the ``user.profile_updated`` it publishes has it purged."""

    meta = {
        "db_alias": "users",
        "collection": "user_avatars",
        "indexes": [
            {"fields": ["discarded_at"], "name": "discarded"},
            {"fields": ["key"], "name": "key", "unique": True},
            {"fields": ["thumbnail_key"], "name": "thumbnail_key"},
        ],
    }
