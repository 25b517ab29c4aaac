"""The query shapes of the discussions app (``kernel.query_shapes``; ``manage.py check_indexes`` proves them)
and its sharding plan (``kernel.sharding``; ``manage.py mongo_shard``, docs/scaling.md)."""
from __future__ import annotations

from apps.discussions import enums
from apps.discussions.models import Author, Comment, PostFingerprint, Report, SignalRef, Thread
from tradesignals.kernel import query_shapes as q
from tradesignals.kernel.sharding import Plan

ALIAS = "discussions"
THREADS = Thread._meta["collection"]
COMMENTS = Comment._meta["collection"]
REPORTS = Report._meta["collection"]
SIGNALS = SignalRef._meta["collection"]
USER = "0123456789abcdef01234567"

SHAPES: list[q.Shape] = [
    q.find("discussions thread by id", ALIAS, THREADS, {"_id": q.SAMPLE_ID}),
    q.find("discussions threads by ids", ALIAS, THREADS, {"_id": {"$in": [q.SAMPLE_ID]}}),
    *q.newest_first("discussions thread list [admin]", ALIAS, THREADS, {}, field="last_activity_at"),
    *q.newest_first("discussions thread list [public]", ALIAS, THREADS, {"visible": True}, field="last_activity_at"),
    q.find("discussions thread list [admin, signal_id]", ALIAS, THREADS, {"signal_id": "s"}),
    q.find("discussions thread list [public, signal_id]", ALIAS, THREADS, {"visible": True, "signal_id": "s"}),
    q.find("discussions comment by id", ALIAS, COMMENTS, {"_id": q.SAMPLE_ID}),
    q.find("discussions comment by id in a thread", ALIAS, COMMENTS, {"_id": q.SAMPLE_ID, "thread_id": q.SAMPLE_ID}),
    # A thread's comments, oldest first (hidden ones are a residual predicate for non-administrators).
    *q.oldest_first("discussions comment page", ALIAS, COMMENTS, {"thread_id": q.SAMPLE_ID}),
    *q.newest_first("discussions recent comments", ALIAS, COMMENTS, {}),
    *q.oldest_first("discussions open reports", ALIAS, REPORTS, {"state": enums.REPORT_OPEN}),
    q.find("discussions signal by id", ALIAS, SIGNALS, {"_id": "s"}),
    q.find("discussions author by id", ALIAS, Author._meta["collection"], {"_id": USER}),
    # services: a thread's deletion, a comment's moderation, an author's rename or (de)activation.
    q.find("discussions comments of a thread", ALIAS, COMMENTS, {"thread_id": q.SAMPLE_ID}),
    q.find("discussions reports of a thread", ALIAS, REPORTS, {"thread_id": q.SAMPLE_ID}),
    q.find("discussions reports of a comment", ALIAS, REPORTS, {"comment_id": q.SAMPLE_ID}),
    q.find("discussions open reports of a comment", ALIAS, REPORTS,
           {"comment_id": q.SAMPLE_ID, "state": enums.REPORT_OPEN}),
    q.find("discussions threads of an author", ALIAS, THREADS, {"author_id": USER}),
    q.find("discussions comments of an author", ALIAS, COMMENTS, {"author_id": USER}),
    q.find("discussions signals of an owner", ALIAS, SIGNALS, {"owner_id": USER}),
]

SHARDING: list[Plan] = [
    Plan(ALIAS, THREADS, {"_id": "hashed"}),
    Plan(ALIAS, COMMENTS, {"thread_id": "hashed", "_id": 1}),
    Plan(ALIAS, REPORTS, None),
    Plan(ALIAS, SIGNALS, None),
    Plan(ALIAS, Author._meta["collection"], None),
    Plan(ALIAS, PostFingerprint._meta["collection"], None),
]
