"""``utcnow()``: what the apps store equals what MongoDB gives back, and events keep their order.

Pure logic, no server: the round trip is BSON's own encoding (the bytes MongoDB stores).
"""
from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import bson
from bson.codec_options import CodecOptions

from tradesignals.kernel.clock import isoformat, to_storage_precision, utcnow

_AWARE = CodecOptions(tz_aware=True, tzinfo=UTC)


def _stored(moment: datetime) -> datetime:
    """``moment`` as MongoDB keeps it: encoded to BSON and decoded again."""
    return bson.decode(bson.encode({"at": moment}), codec_options=_AWARE)["at"]


def test_now_survives_being_stored_unchanged():
    """A value returned to the client (or put into a cursor) equals the one a later read finds."""
    for _ in range(50):
        moment = utcnow()
        assert _stored(moment) == moment
        assert moment.tzinfo is not None and moment.utcoffset() == timedelta(0)


def test_microseconds_would_not_survive_storage():
    """Guards the point of the truncation: BSON dates really drop the microseconds."""
    moment = datetime(2026, 1, 2, 3, 4, 5, 678_901, tzinfo=UTC)
    assert _stored(moment) != moment
    assert _stored(moment) == to_storage_precision(moment) == moment.replace(microsecond=678_000)


def test_exact_now_keeps_microseconds_for_ordering_stamps():
    before = datetime.now(UTC)
    exact = utcnow(exact=True)
    assert before <= exact <= datetime.now(UTC)
    assert to_storage_precision(exact) <= exact < to_storage_precision(exact) + timedelta(milliseconds=1)


def test_isoformat_is_rfc3339_utc_with_z_and_parses_back():
    moment = datetime(2026, 1, 2, 3, 4, 5, 678_000, tzinfo=UTC)
    assert isoformat(moment) == "2026-01-02T03:04:05.678000Z"
    assert datetime.fromisoformat(isoformat(moment)) == moment
    elsewhere = moment.astimezone(timezone(timedelta(hours=5)))
    assert isoformat(elsewhere) == "2026-01-02T03:04:05.678000Z"
