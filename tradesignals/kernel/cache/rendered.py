"""Rendered responses in the cache: the one way an app caches a read as the bytes it answers with.

An app's ``cache.py`` names its namespaces and calls ``read_rendered(namespace, query, build)`` with the
query that identifies the read (filters, cursor position, page size, viewer class); ``build`` returns a dict
holding at least the rendered ``body`` and its ``etag`` (``etag_for``), plus whatever authorisation needs to
decide after a hit exactly as after a miss (owner, status, visibility). Caching the rendered bytes, not the
documents, is what makes a hit cheap: no model is rebuilt and no serializer runs.
"""
from __future__ import annotations

import hashlib
import json
from collections.abc import Callable

from tradesignals.kernel.cache.readthrough import read_through


def etag_for(body: bytes) -> str:
    """A strong entity tag naming exactly these bytes."""
    return '"' + hashlib.blake2b(body, digest_size=12).hexdigest() + '"'


def query_key(query: dict) -> str:
    """A short digest of a read's query (``None`` values dropped, keys sorted): the entry's key suffix."""
    canonical = json.dumps(sorted((k, v) for k, v in query.items() if v is not None), default=str)
    return hashlib.blake2b(canonical.encode(), digest_size=16).hexdigest()


def read_rendered(namespace: str, query: dict, build: Callable[[], dict | None], *,
                  ttl: int | None = None) -> dict | None:
    """The cached entry for ``query`` in ``namespace`` (built once, cluster-wide, on a miss; ``None`` from
    ``build`` is not cached and comes back as ``None``), with ``hit`` set; kept ``ttl`` seconds (default
    ``CACHE_TTL_SECONDS``)."""
    found = read_through(namespace, query_key(query), build, ttl=ttl)
    return None if found.value is None else {**found.value, "hit": found.hit}
