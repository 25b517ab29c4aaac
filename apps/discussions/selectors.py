"""Every read of the discussions app: threads, comments, reports, the projections — and their cached pages.

Two viewer classes see different things: administrators see hidden threads and comments and closed threads,
everyone else only what is ``visible``. Thread lists are newest activity first, keyset-paginated on
``(last_activity_at, id)`` (``kernel.keyset.newest_first``; a thread that gains a comment while someone walks
the list moves to the top, so that walk may not meet it again — the usual forum trade, documented); comment
pages and the report queue are oldest first on ``(created_at, id)`` (``kernel.keyset.oldest_first``).

The ``*_rendered`` selectors return cached response bytes; the caller supplies ``render`` (the API view
serialises with DRF) and decides authorisation from the entry's ``meta`` after the read, on a hit exactly as
on a miss. This module never imports DRF.
"""
from __future__ import annotations

from collections.abc import Callable
from operator import attrgetter

from apps.discussions import cache, enums
from apps.discussions.models import Author, Comment, Report, SignalRef, Thread
from tradesignals.kernel import keyset, mongo
from tradesignals.kernel.pagination import Page, Position, invalid_cursor, page_query, paginate

ADMIN, PUBLIC = "admin", "public"
_LAST_ACTIVITY = attrgetter("last_activity_at")


def viewer_class(principal) -> str:
    return ADMIN if principal is not None and principal.is_admin else PUBLIC


def _position(after: Position | None):
    if after is None:
        return None
    oid = mongo.object_id(after[1])
    if oid is None:
        raise invalid_cursor()
    return after[0], oid


# -- single documents ----------------------------------------------------------------------------------
def _reads(viewer: str) -> str:
    """What everyone sees may come from a secondary (kernel.mongo.PUBLIC); administrators read the primary."""
    return mongo.PRIMARY if viewer == ADMIN else mongo.PUBLIC


def _ttl(viewer: str) -> int | None:
    return None if viewer == ADMIN else mongo.public_cache_ttl("discussions")


def thread_get(*, thread_id: str, reads: str = mongo.PRIMARY) -> Thread | None:
    oid = mongo.object_id(thread_id)
    if oid is None:
        return None
    raw = mongo.collection(Thread, reads).find_one({"_id": oid})
    return Thread._from_son(raw) if raw else None


def comment_get(*, comment_id: str, thread_id: str | None = None) -> Comment | None:
    """One comment; with ``thread_id``, only if it belongs to that thread."""
    oid = mongo.object_id(comment_id)
    if oid is None:
        return None
    query: dict = {"_id": oid}
    if thread_id is not None:
        thread_oid = mongo.object_id(thread_id)
        if thread_oid is None:
            return None
        query["thread_id"] = thread_oid
    raw = Comment._get_collection().find_one(query)
    return Comment._from_son(raw) if raw else None


def signal_ref_get(*, signal_id: str) -> SignalRef | None:
    if not isinstance(signal_id, str) or not 0 < len(signal_id) <= 64 or not signal_id.isascii() \
            or not signal_id.isalnum():
        return None
    raw = SignalRef._get_collection().find_one({"_id": signal_id})
    return SignalRef._from_son(raw) if raw else None


def author_get(*, user_id: str) -> Author | None:
    raw = Author._get_collection().find_one({"_id": str(user_id)})
    return Author._from_son(raw) if raw else None


def author_name(*, user_id: str, claimed: str) -> str:
    """The name new content carries: the projected one, else what the caller's token says."""
    author = author_get(user_id=user_id)
    return author.name if author is not None and author.name_at_us else claimed


def signal_is_open(ref: SignalRef | None) -> bool:
    """Whether a signal has an open thread: approved, not deleted, its owner active."""
    if ref is None or ref.deleted or ref.status != enums.APPROVED:
        return False
    owner = author_get(user_id=ref.owner_id)
    return owner is None or owner.active


def thread_visible_to(thread: Thread | None, *, viewer: str) -> bool:
    return thread is not None and (viewer == ADMIN or thread.visible)


def comment_visible_to(comment: Comment | None, *, viewer: str) -> bool:
    return comment is not None and (viewer == ADMIN or not comment.hidden)


def shown_name(*, name: str, active: bool) -> str:
    return name if active else enums.DEACTIVATED_NAME


# -- lists ----------------------------------------------------------------------------------------------
def thread_list(*, viewer: str, signal_id: str | None = None, after: Position | None = None,
                limit: int = 20) -> Page[Thread]:
    query = {} if viewer == ADMIN else {"visible": True}
    threads = mongo.collection(Thread, _reads(viewer))
    if signal_id is not None:
        # At most one thread per signal: no walk to do.
        if after is not None:
            return Page(items=[], next_after=None)
        raw = threads.find_one({**query, "signal_id": signal_id})
        return Page(items=[Thread._from_son(raw)] if raw else [], next_after=None)
    raws = keyset.newest_first(threads, query=query, field="last_activity_at", need=limit + 1,
                               after=_position(after))
    return paginate((Thread._from_son(raw) for raw in raws), limit=limit, key=_LAST_ACTIVITY)


def comment_list(*, thread_id: str, viewer: str, after: Position | None = None, limit: int = 20) -> Page[Comment]:
    oid = mongo.object_id(thread_id)
    if oid is None:
        return Page(items=[], next_after=None)
    residual = None if viewer == ADMIN else (lambda raw: not raw.get("hidden"))
    raws = keyset.oldest_first(mongo.collection(Comment, _reads(viewer)), query={"thread_id": oid},
                               field="created_at", need=limit + 1, after=_position(after), residual=residual)
    return paginate((Comment._from_son(raw) for raw in raws), limit=limit)


def report_list_open(*, after: Position | None = None, limit: int = 20) -> Page[Report]:
    """Open reports, oldest first (the longest wait on top)."""
    position = None
    if after is not None:
        position = (after[0], after[1])
    raws = keyset.oldest_first(Report._get_collection(), query={"state": enums.REPORT_OPEN}, field="created_at",
                               need=limit + 1, after=position)
    return paginate((Report._from_son(raw) for raw in raws), limit=limit)


def comment_list_recent(*, after: Position | None = None, limit: int = 20) -> Page[Comment]:
    """Every comment, newest first (administrators: the console's moderation view)."""
    raws = keyset.newest_first(Comment._get_collection(), query={}, field="created_at", need=limit + 1,
                               after=_position(after))
    return paginate((Comment._from_son(raw) for raw in raws), limit=limit)


def threads_by_id(thread_ids) -> dict[str, Thread]:
    oids = [oid for oid in (mongo.object_id(str(t)) for t in set(thread_ids)) if oid is not None]
    if not oids:
        return {}
    return {str(raw["_id"]): Thread._from_son(raw) for raw in Thread._get_collection().find({"_id": {"$in": oids}})}


# -- cached, rendered reads -------------------------------------------------------------------------------
def _entry(body: bytes, **extra) -> dict:
    return {"body": body, "etag": cache.etag_for(body), **extra}


def thread_list_rendered(*, viewer: str, filters: dict, after, limit: int,
                         render: Callable[[Page], bytes]) -> dict:
    signal_id = filters.get("signal_id")
    return cache.read_through(
        cache.THREADS, page_query(after, limit, viewer=viewer, signal_id=signal_id),
        lambda: _entry(render(thread_list(viewer=viewer, signal_id=signal_id, after=after, limit=limit))),
        ttl=_ttl(viewer))


def thread_meta(thread: Thread) -> dict:
    return {"visible": thread.visible, "author_id": thread.author_id, "signal_id": thread.signal_id}


def thread_detail_rendered(*, thread_id: str, render: Callable[[Thread, str], bytes]) -> dict | None:
    """Both variants of one thread and its ``meta``; ``None`` when it does not exist."""
    if mongo.object_id(thread_id) is None:
        return None

    def build():
        thread = thread_get(thread_id=thread_id)
        if thread is None:
            return None
        admin, public = render(thread, ADMIN), render(thread, PUBLIC)
        return {"meta": thread_meta(thread), ADMIN: admin, PUBLIC: public,
                "etags": {ADMIN: cache.etag_for(admin), PUBLIC: cache.etag_for(public)}}

    return cache.read_through(cache.thread_namespace(thread_id), {"detail": 1}, build)


def comment_page_rendered(*, thread_id: str, viewer: str, after, limit: int, render: Callable[[Page], bytes],
                          route: str = "thread") -> dict | None:
    """One page of a thread's comments for ``viewer`` and the thread's ``meta`` (read in the same build, so a
    hit authorises on the state the page was built from); ``None`` when the thread does not exist. ``route``
    names the path the page is answered on (its ``next`` link is that route's), so each has its own entry."""
    if mongo.object_id(thread_id) is None:
        return None

    def build():
        thread = thread_get(thread_id=thread_id, reads=_reads(viewer))
        if thread is None:
            return None
        page = comment_list(thread_id=thread_id, viewer=viewer, after=after, limit=limit)
        return _entry(render(page), meta=thread_meta(thread))

    return cache.read_through(cache.thread_namespace(thread_id),
                              page_query(after, limit, viewer=viewer, comments=route), build, ttl=_ttl(viewer))


def empty_page_rendered(*, render: Callable[[Page], bytes]) -> dict:
    """The page of a thread that does not exist yet (a signal without comments): nothing to cache."""
    return {**_entry(render(Page(items=[], next_after=None))), "hit": False}


def report_list_rendered(*, after, limit: int, render: Callable[[Page], bytes]) -> dict:
    return cache.read_through(cache.MODERATION, page_query(after, limit, reports=enums.REPORT_OPEN),
                              lambda: _entry(render(report_list_open(after=after, limit=limit))))
