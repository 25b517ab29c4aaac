"""Keyset (cursor) pagination over HTTP: opaque, HMAC-signed cursors, ``limit``, and the ``next`` link.

A list view reads its parameters through a ``FilterSerializer`` (``kernel.drf.filters``), which hands back a
``Walk``: the list's filters, its ``limit`` and the position its cursor names. The selector returns a
``Page`` (``kernel.pagination``) and ``Walk.next_url`` turns it into the ``{"results", "next"}`` link.

A cursor carries the sort key of the last item of a page (``created_at`` in ms, ``id``) and the scope it
belongs to (which list, which filters). It is signed with a key derived from ``SECRET_KEY``; anything that
does not verify — edited, truncated, from another list — is a 400, never a 500 and never a silently
different page. Keyset pages stay correct while rows are inserted: a walk sees every older row once.

``next`` is a path-absolute URL (``/api/v1/...?cursor=...``): the same bytes are right behind any host or
proxy, which lets a rendered page be cached and served to every client.
"""
from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import hmac
import json
from datetime import UTC, datetime
from urllib.parse import urlencode

from django.conf import settings
from django.utils.crypto import salted_hmac
from rest_framework import serializers

from tradesignals.kernel.drf.fields import StrictIntegerField
from tradesignals.kernel.errors import ValidationFailed
from tradesignals.kernel.pagination import Page, Position, invalid_cursor

__all__ = ["CURSOR_SCHEMA", "DEFAULT_LIMIT", "MAX_CURSOR_LENGTH", "MAX_LIMIT", "Page", "PageSerializer",
           "Position", "Walk", "decode_cursor", "encode_cursor", "limit_field", "next_url", "parse_limit", "scope_of"]

DEFAULT_LIMIT = 20
MAX_LIMIT = 100
_SALT = "tradesignals.kernel.drf.pagination.cursor"
MAX_CURSOR_LENGTH = 512
# OpenAPI schema of the cursor parameter (``kernel.drf.filters.CursorField``); limit's is its field's.
CURSOR_SCHEMA = {"type": "string", "maxLength": MAX_CURSOR_LENGTH}


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _signature(payload: str) -> str:
    return _b64(salted_hmac(_SALT, payload, secret=settings.SECRET_KEY, algorithm="sha256").digest()[:16])


def encode_cursor(position: Position, *, scope: str) -> str:
    millis = int(position.created_at.timestamp() * 1000)
    payload = _b64(json.dumps([millis, position.id, scope], separators=(",", ":")).encode())
    return f"{payload}.{_signature(payload)}"


def decode_cursor(cursor: str | None, *, scope: str) -> Position | None:
    """The position a cursor points at, or ``None`` for the first page; ``ValidationFailed`` if forged.

    Length and alphabet are checked before anything else reads it (a cursor is URL-safe base64 and one dot),
    so no text beyond 512 ASCII characters is ever decoded, hashed or encoded."""
    if cursor is None or cursor == "":
        return None
    if len(cursor) > MAX_CURSOR_LENGTH or not cursor.isascii() or cursor.count(".") != 1:
        raise invalid_cursor()
    payload, signature = cursor.split(".")
    if not hmac.compare_digest(signature.encode(), _signature(payload).encode()):
        raise invalid_cursor()
    try:
        millis, item_id, cursor_scope = json.loads(_unb64(payload))
        if isinstance(millis, bool) or not isinstance(millis, int):
            raise TypeError("millis")
        created_at = datetime.fromtimestamp(millis / 1000, tz=UTC)
    except (ValueError, TypeError, binascii.Error, OverflowError, OSError):
        raise invalid_cursor() from None
    if cursor_scope != scope or not isinstance(item_id, str):
        raise invalid_cursor()
    return Position(created_at=created_at, id=item_id)


def limit_field(**kwargs) -> StrictIntegerField:
    """The ``limit`` parameter as a strict field: 1–100 in ASCII digits, default 20; anything else is a 400
    (never silently capped). Only the ASCII digits 0-9 make a number (``parse_ascii_int``): "１０", "²", "٥",
    "5_0" and " 5" are refused, not read as 10, 2, 5 or 50."""
    return StrictIntegerField(text=True, required=False, min_value=1, max_value=MAX_LIMIT, default=DEFAULT_LIMIT,
                              **kwargs)


def parse_limit(raw: str | None) -> int:
    """``limit_field``'s rule for one raw value outside a ``FilterSerializer`` (an empty value is the default)."""
    if raw is None or raw == "":
        return DEFAULT_LIMIT
    try:
        return limit_field().run_validation(raw)
    except serializers.ValidationError as exc:
        raise ValidationFailed(details={"limit": exc.detail}) from None


def scope_of(name: str, filters: dict) -> str:
    """A short digest naming a list and its filters, so a cursor only continues the walk it came from."""
    canonical = json.dumps([name, sorted((k, v) for k, v in filters.items() if v is not None)])
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def next_url(path: str, *, query: dict, cursor: str | None) -> str | None:
    if cursor is None:
        return None
    # Booleans as the query parameters spell them ("true", not Python's "True"), so the link parses back.
    params = {key: (("true" if value else "false") if isinstance(value, bool) else value)
              for key, value in query.items() if value is not None and key != "cursor"}
    params["cursor"] = cursor
    return f"{path}?{urlencode(sorted(params.items()))}"


class Walk:
    """One request's place in one list: its filters, its page size, and the position its cursor continues from.

    A cursor is bound to the list's ``name``, its ``filters`` and the ``private`` facts of the request that the
    link does not carry (whose sessions, whose signals), so it continues exactly the walk it came from. The
    scope is a digest, computed only when a cursor is read or written (not on a first page served from cache).
    """

    def __init__(self, name: str, filters: dict, *, limit: int, cursor: str | None = None,
                 private: dict | None = None):
        self.name, self.filters, self.limit, self.private = name, filters, limit, private or {}
        self._cursor = cursor

    @functools.cached_property
    def scope(self) -> str:
        return scope_of(self.name, {**self.filters, **self.private})

    @functools.cached_property
    def after(self) -> Position | None:
        """The position the cursor names (``None`` for the first page); ``ValidationFailed`` if it is forged."""
        return decode_cursor(self._cursor, scope=self.scope) if self._cursor else None

    def next_url(self, path: str, page: Page) -> str | None:
        """The link to the page after ``page`` (``None`` on the last): these filters, this limit, a new cursor."""
        if page.next_after is None:
            return None
        cursor = encode_cursor(page.next_after, scope=self.scope)
        return next_url(path, query={**self.filters, "limit": self.limit}, cursor=cursor)


# The body of every list, ``{"results": [...], "next": link or null}``: a subclass declares
# ``results = ItemSerializer(many=True)``. (Its docstring is the schema's description of every page.)
class PageSerializer(serializers.Serializer):
    """One page of a list: its items, and the path of the next page (null on the last)."""

    next = serializers.CharField(allow_null=True, help_text="Path of the next page, or null on the last page.")

    def get_fields(self):
        fields = super().get_fields()
        fields["next"] = fields.pop("next")  # after the subclass's ``results``, as every list writes its body
        return fields
