"""The transactional outbox: one ``event_outbox`` collection in each producer's own database alias.

An entry is written in the same MongoDB transaction as the change it describes, stays ``pending`` until a
backend accepted it, and is then marked ``sent`` (kept for ``EVENT_PROCESSED_TTL`` for inspection, then
removed by a TTL index). ``seq`` (nanoseconds, strictly increasing per process) orders entries so the relay
sends each key's events in publish order.
"""
from __future__ import annotations

import threading
import time
import uuid
from datetime import datetime, timedelta

from django.conf import settings

from tradesignals.kernel.clock import utcnow

OUTBOX_COLLECTION = "event_outbox"

_seq_lock = threading.Lock()
_last_seq = 0
_indexed: set[str] = set()


def collection(alias: str):
    from tradesignals.kernel import mongo

    return mongo.database(alias)[OUTBOX_COLLECTION]


def next_seq() -> int:
    global _last_seq
    with _seq_lock:
        _last_seq = max(time.time_ns(), _last_seq + 1)
        return _last_seq


def ensure_indexes(alias: str) -> None:
    """Create the outbox indexes once per process (never inside a transaction)."""
    if alias in _indexed:
        return
    coll = collection(alias)
    coll.create_index([("status", 1), ("seq", 1)], name="pending_by_seq")
    coll.create_index([("expires_at", 1)], name="sent_expiry", expireAfterSeconds=0)
    coll.create_index([("dead_lettered", 1)], name="dead_lettered", sparse=True)  # events_status counts them
    _indexed.add(alias)


def new_entry(envelope: dict) -> dict:
    now = utcnow()
    return {"_id": envelope["id"], "envelope": envelope, "type": envelope["type"], "key": envelope["key"],
            "status": "pending", "seq": next_seq(), "created_at": now, "attempts": 0, "next_attempt_at": now,
            "lease_until": None}


def pending(alias: str, *, keys: set[str] | None = None, limit: int = 500) -> list[dict]:
    query: dict = {"status": "pending"}
    if keys is not None:
        query["key"] = {"$in": sorted(keys)}
    return list(collection(alias).find(query).sort("seq", 1).limit(limit))


def lease(alias: str, ids: list[str], *, now: datetime) -> set[str]:
    """Lease pending, unleased entries to this sender for a short while; return the ids it now holds."""
    token = uuid.uuid4().hex
    until = now + timedelta(milliseconds=2 * settings.EVENT_PUBLISH_TIMEOUT_MS + 1000)
    coll = collection(alias)
    coll.update_many(
        {"_id": {"$in": ids}, "status": "pending",
         "$or": [{"lease_until": None}, {"lease_until": {"$lt": now}}]},
        {"$set": {"lease_until": until, "lease_owner": token}},
    )
    return {doc["_id"] for doc in coll.find({"_id": {"$in": ids}, "lease_owner": token}, {"_id": 1})}


def release(alias: str, ids: list[str]) -> None:
    collection(alias).update_many({"_id": {"$in": ids}, "status": "pending"},
                                  {"$set": {"lease_until": None, "lease_owner": None}})


def mark_sent(alias: str, ids: list[str], *, dead_lettered: bool = False) -> None:
    if not ids:
        return
    now = utcnow()
    update = {"status": "sent", "sent_at": now, "expires_at": now + timedelta(seconds=settings.EVENT_PROCESSED_TTL)}
    if dead_lettered:
        update["dead_lettered"] = True
    collection(alias).update_many({"_id": {"$in": ids}, "status": "pending"}, {"$set": update})


def backoff_seconds(attempts: int) -> float:
    base = settings.EVENT_RELAY_INTERVAL_MS / 1000
    return min(base * (2 ** max(attempts - 1, 0)), settings.EVENT_RELAY_MAX_BACKOFF_MS / 1000)


def mark_retry(alias: str, entry: dict, error: str) -> int:
    """Count a failed attempt and schedule the next one with exponential backoff; return the attempts."""
    attempts = entry.get("attempts", 0) + 1
    next_at = utcnow() + timedelta(seconds=backoff_seconds(attempts))
    collection(alias).update_one(
        {"_id": entry["_id"], "status": "pending"},
        {"$set": {"attempts": attempts, "next_attempt_at": next_at, "last_error": error[:500],
                  "lease_until": None, "lease_owner": None}},
    )
    return attempts


def counts(alias: str) -> dict:
    coll = collection(alias)
    return {"pending": coll.count_documents({"status": "pending"}),
            "dead_lettered": coll.count_documents({"dead_lettered": True})}
