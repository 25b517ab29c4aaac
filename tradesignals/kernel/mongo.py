"""MongoDB connections: one mongoengine alias per enabled slice, each with short timeouts and durable writes.

Every client is made with the write concern (``MONGODB_WRITE_CONCERN``, journaled, bounded by
``MONGODB_WRITE_TIMEOUT_MS``), the read concern and retryable reads and writes of the settings, so no write of
the product is acknowledged before a majority holds it; ``transaction_options()`` is what every transaction
starts with (snapshot reads, the same write concern).
"""
from __future__ import annotations

import mongoengine
from bson import ObjectId
from bson.errors import InvalidId
from django.conf import settings
from mongoengine.connection import get_connection
from pymongo.read_concern import ReadConcern
from pymongo.read_preferences import make_read_preference, read_pref_mode_from_name
from pymongo.uri_parser import parse_uri
from pymongo.write_concern import WriteConcern


def _db_name(uri: str) -> str:
    return parse_uri(uri).get("database") or settings.MONGODB_DB


def connect_alias(alias: str, uri: str) -> None:
    """(Re)connect one alias. ``connect=False`` keeps pymongo fork-safe under gunicorn --preload."""
    mongoengine.disconnect(alias=alias)
    timeout = settings.MONGODB_TIMEOUT_MS
    mongoengine.connect(
        alias=alias,
        host=uri,
        db=_db_name(uri),
        connect=False,
        serverSelectionTimeoutMS=timeout,
        connectTimeoutMS=timeout,
        socketTimeoutMS=max(timeout * 5, 10_000),
        uuidRepresentation="standard",
        tz_aware=True,
        **client_options(),
    )


def client_options() -> dict:
    """The durability options of every client (pymongo keyword arguments), from the settings."""
    return {"w": settings.MONGODB_WRITE_CONCERN, "journal": settings.MONGODB_WRITE_JOURNAL,
            "wTimeoutMS": settings.MONGODB_WRITE_TIMEOUT_MS, "retryWrites": settings.MONGODB_RETRY_WRITES,
            "retryReads": settings.MONGODB_RETRY_READS, "readConcernLevel": settings.MONGODB_READ_CONCERN}


def transaction_options() -> dict:
    """``session.start_transaction(**transaction_options())``: a snapshot (by default) and the durable write
    concern, whatever the session's client defaults are."""
    return {"read_concern": ReadConcern(settings.MONGODB_TRANSACTION_READ_CONCERN),
            "write_concern": WriteConcern(settings.MONGODB_WRITE_CONCERN, wtimeout=settings.MONGODB_WRITE_TIMEOUT_MS,
                                          j=settings.MONGODB_WRITE_JOURNAL)}


def connect_enabled_aliases(uri_override: str | None = None) -> None:
    for alias, uri in settings.MONGODB_ALIASES.items():
        connect_alias(alias, uri_override or uri)


# Read classes. ``PUBLIC`` reads (the public feed, public profiles, the public discussion lists) may be
# served by a secondary (``MONGODB_PUBLIC_READ_PREFERENCE``, at most ``MONGODB_MAX_STALENESS_SECONDS``
# behind); every other read — an author's own list and detail, edits, admin and console reads, and everything
# inside a transaction — stays on the primary, so an author always reads their own writes.
PRIMARY, PUBLIC = "primary", "public"
_collections: dict[tuple, object] = {}


def read_preference(alias: str, reads: str = PRIMARY):
    """The pymongo read preference of a read class on ``alias``."""
    if reads == PRIMARY:
        return make_read_preference(0, None)
    mode, staleness = settings.MONGODB_PUBLIC_READS[alias]
    return make_read_preference(read_pref_mode_from_name(mode), None,
                                max_staleness=-1 if mode == "primary" else staleness)


def collection(document_cls, reads: str = PRIMARY):
    """``document_cls``'s collection for a read class (the same object for each class, made once)."""
    base = document_cls._get_collection()
    if reads == PRIMARY:
        return base
    alias = document_cls._meta["db_alias"]
    key = (base.full_name, reads, tuple(settings.MONGODB_PUBLIC_READS[alias]))
    cached = _collections.get(key)
    if cached is None or cached[0] is not base:  # made again after a reconnect
        cached = _collections[key] = (base, base.with_options(read_preference=read_preference(alias, reads)))
    return cached[1]


def public_cache_ttl(alias: str) -> int:
    """How long a cached page built from ``PUBLIC`` reads may live: a page built from a lagging secondary
    just after a change must not outlive the staleness bound by a whole ``CACHE_TTL_SECONDS``."""
    mode, staleness = settings.MONGODB_PUBLIC_READS[alias]
    if mode == "primary":
        return settings.CACHE_TTL_SECONDS
    return min(settings.CACHE_TTL_SECONDS, staleness)


def ping(alias: str) -> None:
    """Raise when the alias's server does not answer within the configured timeout."""
    get_connection(alias).admin.command("ping")


def database(alias: str):
    from mongoengine.connection import get_db

    return get_db(alias)


def object_id(text) -> ObjectId | None:
    """The ObjectId an id names, only in the spelling the product issues (24 lower-case hex digits); else None.

    ``ObjectId()`` also reads upper case, so ``0123…ABCD`` and ``0123…abcd`` would find the same document while
    every key derived from the text — cache entries, revocation epochs, session queries — differs: an upper-case
    URL could then read a stale cached detail, or change a user whose sessions and epoch are keyed by the
    canonical id, leaving their tokens alive. One spelling per id closes both.
    """
    if not isinstance(text, str) or len(text) != 24:
        return None
    try:
        oid = ObjectId(text)
    except InvalidId:
        return None
    return oid if str(oid) == text else None
