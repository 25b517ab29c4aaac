"""Keyset (cursor) pagination: opaque, HMAC-signed cursors and the ``{"results", "next"}`` page shape.

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
import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlencode

from django.conf import settings
from django.utils.crypto import salted_hmac

from tradesignals.kernel.errors import ValidationFailed
from tradesignals.kernel.numbers import parse_ascii_int

DEFAULT_LIMIT = 20
MAX_LIMIT = 100
_SALT = "tradesignals.kernel.drf.pagination.cursor"
MAX_CURSOR_LENGTH = 512
# OpenAPI schemas of the two page parameters, for every list's documentation.
LIMIT_SCHEMA = {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT}
CURSOR_SCHEMA = {"type": "string", "maxLength": MAX_CURSOR_LENGTH}


@dataclass(frozen=True)
class Position:
    """Where the previous page ended: its last item's ``created_at`` and ``id``."""

    created_at: datetime
    id: str


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


def _invalid() -> ValidationFailed:
    return ValidationFailed("The cursor is invalid.", details={"cursor": ["Invalid or tampered cursor."]})


def decode_cursor(cursor: str | None, *, scope: str) -> Position | None:
    """The position a cursor points at, or ``None`` for the first page; ``ValidationFailed`` if forged.

    Length and alphabet are checked before anything else reads it (a cursor is URL-safe base64 and one dot),
    so no text beyond 512 ASCII characters is ever decoded, hashed or encoded."""
    if cursor is None or cursor == "":
        return None
    if len(cursor) > MAX_CURSOR_LENGTH or not cursor.isascii() or cursor.count(".") != 1:
        raise _invalid()
    payload, signature = cursor.split(".")
    if not hmac.compare_digest(signature.encode(), _signature(payload).encode()):
        raise _invalid()
    try:
        millis, item_id, cursor_scope = json.loads(_unb64(payload))
        if isinstance(millis, bool) or not isinstance(millis, int):
            raise TypeError("millis")
        created_at = datetime.fromtimestamp(millis / 1000, tz=UTC)
    except (ValueError, TypeError, binascii.Error, OverflowError, OSError):
        raise _invalid() from None
    if cursor_scope != scope or not isinstance(item_id, str):
        raise _invalid()
    return Position(created_at=created_at, id=item_id)


def parse_limit(raw: str | None) -> int:
    """``limit`` 1–100, default 20; anything else is a 400 (never silently capped). Only the ASCII digits
    0-9 make a number (``parse_ascii_int``): "１０", "²", "٥", "5_0" and " 5" are refused, not read as 10, 2,
    5 or 50 — and never reach ``int()`` to raise there."""
    if raw is None or raw == "":
        return DEFAULT_LIMIT
    try:
        limit = parse_ascii_int(raw)
    except ValueError:
        limit = None
    if limit is None or not 1 <= limit <= MAX_LIMIT:
        raise ValidationFailed(details={"limit": [f"Must be an integer from 1 to {MAX_LIMIT}."]})
    return limit


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
