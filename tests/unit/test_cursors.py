"""Keyset cursors and page limits (kernel/drf/pagination.py): opaque, signed, bound to one list and its filters."""
from datetime import UTC, datetime

import pytest

from tradesignals.kernel.drf import pagination
from tradesignals.kernel.errors import ValidationFailed

AT = datetime(2026, 3, 2, 12, 30, 45, 123000, tzinfo=UTC)
SCOPE = pagination.scope_of("signals", {"status": "approved"})


def test_a_cursor_round_trips_to_the_same_position():
    cursor = pagination.encode_cursor(pagination.Position(created_at=AT, id="abc"), scope=SCOPE)
    assert cursor.isascii() and cursor.count(".") == 1
    assert pagination.decode_cursor(cursor, scope=SCOPE) == pagination.Position(created_at=AT, id="abc")


def test_no_cursor_is_the_first_page():
    assert pagination.decode_cursor(None, scope=SCOPE) is None
    assert pagination.decode_cursor("", scope=SCOPE) is None


def test_a_cursor_only_continues_the_walk_it_came_from():
    cursor = pagination.encode_cursor(pagination.Position(created_at=AT, id="abc"), scope=SCOPE)
    other = pagination.scope_of("signals", {"status": "rejected"})
    assert other != SCOPE
    with pytest.raises(ValidationFailed):
        pagination.decode_cursor(cursor, scope=other)


def test_filters_left_unset_do_not_change_the_scope():
    assert pagination.scope_of("signals", {"status": "approved", "symbol": None}) == SCOPE


def _tampered(cursor: str) -> list[str]:
    payload, signature = cursor.split(".")
    flipped = ("A" if payload[0] != "A" else "B") + payload[1:]
    return [f"{flipped}.{signature}", f"{payload}.{signature[:-1]}", f"{payload}{signature}", "x" * 513,
            f"{payload}.{signature}.", "é.é"]


def test_a_forged_or_oversized_cursor_is_a_validation_error():
    cursor = pagination.encode_cursor(pagination.Position(created_at=AT, id="abc"), scope=SCOPE)
    for forged in _tampered(cursor):
        with pytest.raises(ValidationFailed):
            pagination.decode_cursor(forged, scope=SCOPE)


def test_a_cursor_signed_with_another_secret_is_refused(settings):
    cursor = pagination.encode_cursor(pagination.Position(created_at=AT, id="abc"), scope=SCOPE)
    settings.SECRET_KEY = "another-secret-key-that-is-long-enough-0123456789"
    with pytest.raises(ValidationFailed):
        pagination.decode_cursor(cursor, scope=SCOPE)


@pytest.mark.parametrize("raw, limit", [(None, pagination.DEFAULT_LIMIT), ("", pagination.DEFAULT_LIMIT), ("1", 1),
                                        (str(pagination.MAX_LIMIT), pagination.MAX_LIMIT)])
def test_limit_defaults_and_accepts_the_range(raw, limit):
    assert pagination.parse_limit(raw) == limit


@pytest.mark.parametrize("raw", ["0", str(pagination.MAX_LIMIT + 1), "-1", "１０", "²", "٥", "5_0", " 5", "ten"])
def test_limit_outside_the_range_or_not_ascii_is_refused_not_capped(raw):
    with pytest.raises(ValidationFailed):
        pagination.parse_limit(raw)


def test_next_url_keeps_the_filters_spelled_as_query_parameters():
    url = pagination.next_url("/api/v1/x", query={"mine": True, "status": None, "cursor": "old", "limit": 5},
                              cursor="c.d")
    assert url == "/api/v1/x?cursor=c.d&limit=5&mine=true"
    assert pagination.next_url("/api/v1/x", query={}, cursor=None) is None
