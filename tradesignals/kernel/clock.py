"""The one clock: ``utcnow()`` at MongoDB's precision, and its RFC 3339 rendering.

MongoDB stores dates in milliseconds. A datetime with microseconds that is written and also kept in memory
(returned to the client, put into a keyset cursor, compared with what a later read finds) would differ from the
stored value, so every time the apps store comes from ``utcnow()``, already cut to the millisecond.

The one exception is an *ordering stamp* that is never stored as a date: an event's ``occurred_at`` (and the
projection stamps compared with it) orders facts of one user, and two facts of one millisecond must still come
in order — those ask for ``utcnow(exact=True)``.
"""
from __future__ import annotations

from datetime import UTC, datetime


def to_storage_precision(moment: datetime) -> datetime:
    """``moment`` cut to the millisecond, as MongoDB will keep it."""
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def utcnow(*, exact: bool = False) -> datetime:
    """Now, timezone-aware UTC, cut to the millisecond (what MongoDB stores) unless ``exact``."""
    moment = datetime.now(UTC)
    return moment if exact else to_storage_precision(moment)


def isoformat(moment: datetime) -> str:
    """RFC 3339 in UTC with a ``Z`` (``2026-01-02T03:04:05.678000Z``)."""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")
