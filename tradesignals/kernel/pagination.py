"""Keyset pages: the one result every list selector returns, and the one way to cut it.

A list reads ``limit + 1`` rows newest first (or in whatever order its keyset walks); the extra row only says
that a next page exists. ``paginate`` cuts the page and names where it ended, so no selector or view counts
rows or builds positions itself. Kept free of DRF: selectors return a ``Page``, the API turns its
``next_after`` into a signed cursor and a link (``kernel.drf.pagination``), the console into its own link.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from operator import attrgetter
from typing import Any, Generic, NamedTuple, TypeVar

from tradesignals.kernel.errors import ValidationFailed

T = TypeVar("T")
INVALID_CURSOR = "Invalid or tampered cursor."


def invalid_cursor() -> ValidationFailed:
    """The one 400 for a cursor that is not one of ours (forged, truncated, from another list, or naming an
    id no list issues), however it was found wrong."""
    return ValidationFailed("The cursor is invalid.", details={"cursor": [INVALID_CURSOR]})


class Position(NamedTuple):
    """Where a page ended: its last item's sort time (``created_at``, or the time the list is ordered by) and
    ``id``. A tuple, so a keyset reader unpacks it as ``(moment, id)``."""

    created_at: datetime
    id: str


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a list: its items, and the position to continue after (``None`` on the last page)."""

    items: list[T]
    next_after: Position | None


_CREATED_AT = attrgetter("created_at")


def page_query(after: Position | None, limit: int, **facts) -> dict:
    """What names one page of a list in a cache key: the list's ``facts`` (filters, viewer class), the position
    it continues after and its size."""
    position = None if after is None else [after[0].isoformat(), after[1]]
    return {**facts, "after": position, "limit": limit}


def paginate(rows: Iterable[T], *, limit: int, key: Callable[[Any], datetime] = _CREATED_AT) -> Page[T]:
    """The page of ``limit`` items from ``rows`` (read as ``limit + 1``: the extra one only proves a next page),
    continuing after the last item's ``(key(item), id)``."""
    rows = list(rows)
    items = rows[:limit]
    if len(rows) <= limit or not items:
        return Page(items=items, next_after=None)
    last = items[-1]
    return Page(items=items, next_after=Position(key(last), str(last.id)))
