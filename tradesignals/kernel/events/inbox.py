"""Idempotent consumption: which handlers already handled which event id, per consuming app.

Kept in MongoDB (``event_inbox`` in the consuming app's own database alias, expired by a TTL index after
``EVENT_PROCESSED_TTL``), not in Redis: it then works with every backend including the embedded in-process
default without Redis, it survives a Redis restart or eviction, and it sits next to the data the handler
changes. A handler first *claims* the id with a lease (``EVENT_HANDLER_LEASE_MS``): a second delivery while
the first run is alive waits; a delivery after a crash takes the expired lease over; a delivery after success
is skipped. Failed runs (raised, or crashed and taken over) are counted here, so every backend dead-letters
after the same ``EVENT_MAX_ATTEMPTS`` whatever its own redelivery bookkeeping.
Dead letters of the in-process backend are kept in ``event_dead_letters`` in the same alias.
"""
from __future__ import annotations

import enum
from datetime import timedelta

from django.conf import settings
from pymongo import ReturnDocument
from pymongo.errors import DuplicateKeyError

from tradesignals.kernel.clock import utcnow

INBOX_COLLECTION = "event_inbox"
DEAD_LETTER_COLLECTION = "event_dead_letters"
_indexed: set[str] = set()


class Claim(enum.Enum):
    CLAIMED = "claimed"
    DONE = "done"
    BUSY = "busy"


def alias_for(app: str) -> str:
    """The consuming app's own database alias (its name); the first enabled alias for anything else."""
    aliases = settings.MONGODB_ALIASES
    return app if app in aliases else next(iter(aliases))


def ensure_indexes(alias: str) -> None:
    """The inbox's and the dead letters' indexes, once per process and alias."""
    from tradesignals.kernel import mongo

    if alias in _indexed:
        return
    db = mongo.database(alias)
    db[INBOX_COLLECTION].create_index([("expires_at", 1)], name="processed_expiry", expireAfterSeconds=0)
    db[DEAD_LETTER_COLLECTION].create_index([("app", 1)], name="by_app")  # events_status counts per app
    _indexed.add(alias)


def _db(app: str):
    from tradesignals.kernel import mongo

    alias = alias_for(app)
    ensure_indexes(alias)
    return mongo.database(alias)


def _key(app: str, handler: str, event_id: str) -> str:
    return f"{app}:{handler}:{event_id}"


def claim(app: str, handler: str, event_id: str) -> tuple[Claim, int]:
    """Claim one handler run; also return how many earlier runs failed (a crashed run counts as failed)."""
    coll = _db(app)[INBOX_COLLECTION]
    key = _key(app, handler, event_id)
    now = utcnow()
    lease_until = now + timedelta(milliseconds=settings.EVENT_HANDLER_LEASE_MS)
    for _ in range(3):
        try:
            coll.insert_one({"_id": key, "app": app, "status": "processing", "failures": 0,
                             "lease_until": lease_until,
                             "expires_at": now + timedelta(seconds=settings.EVENT_PROCESSED_TTL)})
            return Claim.CLAIMED, 0
        except DuplicateKeyError:
            pass
        retry = coll.find_one_and_update(
            {"_id": key, "status": "failed"},
            {"$set": {"status": "processing", "lease_until": lease_until}},
            return_document=ReturnDocument.AFTER,
        )
        if retry is None:  # a run whose consumer died: take the expired lease over, count it as failed
            retry = coll.find_one_and_update(
                {"_id": key, "status": "processing", "lease_until": {"$lt": now}},
                {"$set": {"lease_until": lease_until}, "$inc": {"failures": 1}},
                return_document=ReturnDocument.AFTER,
            )
        if retry is not None:
            return Claim.CLAIMED, retry.get("failures", 0)
        existing = coll.find_one({"_id": key}, {"status": 1, "failures": 1})
        if existing is None:
            continue  # expired in between: try to insert again
        return (Claim.DONE if existing["status"] == "done" else Claim.BUSY), existing.get("failures", 0)
    return Claim.BUSY, 0


def fail(app: str, handler: str, event_id: str) -> int:
    """The handler raised: release the claim for the next delivery; return the failures so far."""
    doc = _db(app)[INBOX_COLLECTION].find_one_and_update(
        {"_id": _key(app, handler, event_id), "status": "processing"},
        {"$set": {"status": "failed"}, "$inc": {"failures": 1}},
        return_document=ReturnDocument.AFTER,
    )
    return doc.get("failures", 1) if doc else 1


def complete(app: str, handler: str, event_id: str) -> None:
    now = utcnow()
    _db(app)[INBOX_COLLECTION].update_one(
        {"_id": _key(app, handler, event_id)},
        {"$set": {"status": "done", "done_at": now,
                  "expires_at": now + timedelta(seconds=settings.EVENT_PROCESSED_TTL)}},
        upsert=True,
    )


def dead_letter(app: str, *, envelope, error: str, attempts: int) -> None:
    _db(app)[DEAD_LETTER_COLLECTION].insert_one({
        "app": app, "envelope": envelope, "error": error[:2000], "attempts": attempts,
        "at": utcnow(),
    })


def dead_letter_count(app: str) -> int:
    return _db(app)[DEAD_LETTER_COLLECTION].count_documents({"app": app})
