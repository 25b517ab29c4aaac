"""The query shapes of the users app (``kernel.query_shapes``; ``manage.py check_indexes`` proves them) and its
sharding plan (``kernel.sharding``; ``manage.py mongo_shard``, docs/scaling.md)."""
from __future__ import annotations

from apps.users.models import (
    Avatar,
    CommentNotice,
    CommentState,
    CommentThreadState,
    OutcomeNotice,
    Profile,
    SignalOutcome,
    SignalState,
)
from apps.users.selectors import TRACK_RECORD_GROUP
from tradesignals.kernel import query_shapes as q
from tradesignals.kernel.sharding import Plan

ALIAS = "users"
PROFILES = Profile._meta["collection"]
OUTCOMES = SignalOutcome._meta["collection"]
USER = "0123456789abcdef01234567"
_TALLY = TRACK_RECORD_GROUP

SHAPES: list[q.Shape] = [
    q.find("users profile by id", ALIAS, PROFILES, {"_id": USER}),
    q.find("users public profile", ALIAS, PROFILES, {"_id": USER, "registered": True, "is_active": True}),
    # The admin directory: search (email / display-name prefix), role and is_active are residual predicates on
    # the (registered, -created_at, -_id) windows, so every combination sends these three queries.
    *q.newest_first("users directory", ALIAS, PROFILES, {"registered": True}),
    q.find("users comment states of a thread", ALIAS, CommentState._meta["collection"],
           {"thread_id": "t", "deleted": False}),
    # A track record (selectors.track_record): overall, and over the last 30 days by closed_at.
    q.aggregate("users track record", ALIAS, OUTCOMES, [{"$match": {"owner_id": USER, "counted": True}}, _TALLY]),
    q.aggregate("users track record · last 30 days", ALIAS, OUTCOMES,
                [{"$match": {"owner_id": USER, "counted": True, "closed_at": {"$gte": q.SAMPLE_TIME}}}, _TALLY]),
    q.find("users avatars · discarded before", ALIAS, Avatar._meta["collection"],
           {"discarded_at": {"$ne": None, "$lt": q.SAMPLE_TIME}}),
    q.count("users avatars · is a file named", ALIAS, Avatar._meta["collection"],
            {"$or": [{"key": "k"}, {"thumbnail_key": "k"}]}),
]

SHARDING: list[Plan] = [
    Plan(ALIAS, PROFILES, None),
    Plan(ALIAS, SignalState._meta["collection"], None),
    Plan(ALIAS, CommentState._meta["collection"], {"_id": "hashed"}),
    Plan(ALIAS, CommentThreadState._meta["collection"], None),
    Plan(ALIAS, CommentNotice._meta["collection"], None),
    Plan(ALIAS, OUTCOMES, None),
    Plan(ALIAS, OutcomeNotice._meta["collection"], None),
    Plan(ALIAS, Avatar._meta["collection"], None),
]
