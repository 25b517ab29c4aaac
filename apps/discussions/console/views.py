"""Server-rendered moderation pages of the discussions slice, in the shared console layout.

- ``/console/discussions/``: open reports (oldest first: the longest wait on top) with Dismiss and Hide the
  comment, and recent comments (newest first) with Hide / Unhide;
- ``/console/discussions/threads/<id>/``: one thread as administrators see it (hidden comments marked), with
  Hide / Unhide for the thread and each comment;
- ``/console/discussions/signals/<signal id>/``: the thread under one trade signal, made to be shown in an
  ``<iframe>`` of the signals console's signal page (same-origin framing only; its forms post within the frame).

Thin: parse → selector/service → template. Every action goes through the same services as the API (the same
events, invalidation and rules). Each page handles its own forms: POST, then a 303 back to the same page with a
confirmation read from what is stored; a refusal (``ValidationFailed``, ``NotFound``, ``Conflict``,
``PermissionDenied``) re-renders the page with the message next to the button that was pressed and the typed
reason kept. Bodies and reasons are plain text, rendered escaped with their line breaks.
"""
from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

from django.http import HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from apps.discussions import enums, selectors, services
from apps.discussions.console import forms as f
from tradesignals.kernel.console import admin_page, page_context
from tradesignals.kernel.csp import framed_by_own_pages
from tradesignals.kernel.drf import pagination
from tradesignals.kernel.errors import Conflict, NotFound, PermissionDenied, ValidationFailed

PAGE_SIZE = 20
THREAD_PAGE_SIZE = 50
SECTION = "discussions"
CURSORS = ("reports", "comments", "cursor")  # the query parameters a page keeps across its own forms
STALE_CURSOR = "That page link is no longer valid; showing the first page."
NOT_OFFERED = "This page does not offer that action."


@dataclass
class Failure:
    """A refused action: the row it came from, what went wrong, and the reason as it was typed."""

    row: str
    messages: list[str]
    reason: str = ""
    status: int = 400
    placed: bool = False  # shown next to its row; otherwise at the top of the page


@dataclass
class Row:
    key: str
    item: object
    thread: object = None
    failure: Failure | None = None


@dataclass
class Walk:
    page: selectors.Page
    next_url: str | None
    first_url: str | None
    error: str | None


def _url(path: str, query: dict) -> str:
    query = {key: value for key, value in query.items() if value}
    return f"{path}?{urlencode(query)}" if query else path


def _kept(request) -> dict:
    return {name: request.GET[name] for name in CURSORS if request.GET.get(name)}


def _here(request) -> str:
    """This page as it is being walked (its cursors), without the last confirmation: where its forms post."""
    return _url(request.path, _kept(request))


def _walk(request, *, param: str, name: str, read, filters: dict | None = None) -> Walk:
    scope = pagination.scope_of(f"console-discussions-{name}", filters or {})
    error = None
    try:
        position = pagination.decode_cursor(request.GET.get(param), scope=scope)
        page = read(after=position)
    except ValidationFailed:
        error, page = STALE_CURSOR, read(after=None)
    next_url = None
    if page.next_after is not None:
        cursor = pagination.encode_cursor(pagination.Position(*page.next_after), scope=scope)
        next_url = _url(request.path, {**_kept(request), param: cursor})
    first_url = None
    if request.GET.get(param):
        first_url = _url(request.path, {key: value for key, value in _kept(request).items() if key != param})
    return Walk(page=page, next_url=next_url, first_url=first_url, error=error)


def _messages(exc: ValidationFailed) -> list[str]:
    found = []
    for value in (exc.details or {}).values():
        found.extend(str(message) for message in (value if isinstance(value, list | tuple) else [value]))
    return found or [exc.message]


def _apply(actor, data: dict) -> tuple[str, str]:
    """Run one moderation action; returns what the confirmation reads back: (kind, id)."""
    action = data["action"]
    if action == f.DISMISS:
        report = services.report_dismiss(report_id=data["report_id"], actor=actor)
        return "dismissed", str(report.comment_id)
    if action in (f.HIDE_COMMENT, f.UNHIDE_COMMENT):
        hidden = action == f.HIDE_COMMENT
        comment = services.comment_set_hidden(thread_id=data["thread_id"], comment_id=data["comment_id"],
                                              actor=actor, hidden=hidden, reason=data["reason"] if hidden else None)
        return "comment", str(comment.id)
    hidden = action == f.HIDE_THREAD
    thread = services.thread_set_hidden(thread_id=data["thread_id"], actor=actor, hidden=hidden,
                                        reason=data["reason"] if hidden else None)
    return "thread", str(thread.id)


def _moderate(request, *, allowed: frozenset, thread_id: str | None = None):
    """Handle a posted form: a 303 back to this page on success, else the ``Failure`` to show."""
    form = f.ModerationForm(request.POST)
    failure = Failure(row=request.POST.get("row", "")[:200], messages=[],
                      reason=request.POST.get("reason", "")[:enums.REASON_MAX])
    if not form.is_valid():
        failure.messages = form.messages()
        return failure
    data = form.cleaned_data
    if data["action"] not in allowed or (thread_id is not None and data["thread_id"] != thread_id):
        failure.messages = [NOT_OFFERED]
        return failure
    try:
        done, target = _apply(request.console_principal, data)
    except ValidationFailed as exc:
        failure.messages = _messages(exc)
        return failure
    except (NotFound, PermissionDenied, Conflict) as exc:
        failure.messages, failure.status = [exc.message], exc.status
        return failure
    return HttpResponseRedirect(_url(request.path, {**_kept(request), "done": done, "id": target}), status=303)


def _state(hidden: bool) -> str:
    return "hidden" if hidden else "visible"


def _confirmation(request) -> str | None:
    """What the last action did, as the stored thread or comment now reads (never what the URL claims)."""
    done, target = request.GET.get("done"), request.GET.get("id", "")
    if done in ("dismissed", "comment"):
        comment = selectors.comment_get(comment_id=target)
        if comment is None:
            return None
        who = comment.author_name or comment.author_id
        if done == "dismissed":
            return f"Report dismissed: the comment by {who} stays {_state(comment.hidden)}."
        return f"The comment by {who} is now {_state(comment.hidden)}."
    if done == "thread":
        thread = selectors.thread_get(thread_id=target)
        if thread is None:
            return None
        return f"The thread “{thread.title}” is now {'hidden' if thread.hidden else 'no longer hidden'}."
    return None


def _place(rows: list[Row], failure: Failure | None) -> None:
    if failure is None:
        return
    for row in rows:
        if row.key == failure.row:
            row.failure, failure.placed = failure, True


def _comment_rows(comments, threads: dict | None = None) -> list[Row]:
    threads = threads or {}
    return [Row(key=f"comment-{c.id}", item=c, thread=threads.get(str(c.thread_id))) for c in comments]


def _context(request, **extra) -> dict:
    return page_context(request, SECTION, confirmation=_confirmation(request), here=_here(request),
                        reason_max=enums.REASON_MAX, **extra)


def _thread_not_found(request):
    return render(request, "console/not_found.html", _context(
        request, heading="Thread not found", detail="It may have been deleted.",
        back_url=reverse("discussions-console:home"), back_label="Back to discussions"), status=404)


# -- pages ----------------------------------------------------------------------------------------------------
HOME_ACTIONS = frozenset({f.DISMISS, f.HIDE_COMMENT, f.UNHIDE_COMMENT})
THREAD_ACTIONS = frozenset({f.HIDE_COMMENT, f.UNHIDE_COMMENT, f.HIDE_THREAD, f.UNHIDE_THREAD})
SIGNAL_ACTIONS = frozenset({f.HIDE_COMMENT, f.UNHIDE_COMMENT})


@require_http_methods(["GET", "HEAD", "POST"])
@admin_page
def home_page(request):
    """Open reports, oldest first, and recent comments, newest first; each list walks its own keyset pages."""
    failure = None
    if request.method == "POST":
        outcome = _moderate(request, allowed=HOME_ACTIONS)
        if not isinstance(outcome, Failure):
            return outcome
        failure = outcome
    reports = _walk(request, param="reports", name="reports",
                    read=lambda after: selectors.report_list_open(after=after, limit=PAGE_SIZE))
    comments = _walk(request, param="comments", name="recent",
                     read=lambda after: selectors.comment_list_recent(after=after, limit=PAGE_SIZE))
    threads = selectors.threads_by_id([r.thread_id for r in reports.page.items] +
                                      [c.thread_id for c in comments.page.items])
    report_rows = [Row(key=f"report-{r.id}", item=r, thread=threads.get(str(r.thread_id)))
                   for r in reports.page.items]
    comment_rows = _comment_rows(comments.page.items, threads)
    _place(report_rows + comment_rows, failure)
    return render(request, "discussions/console/home.html", _context(
        request, reports=reports, report_rows=report_rows, comments=comments, comment_rows=comment_rows,
        failure=failure), status=failure.status if failure else 200)


@require_http_methods(["GET", "HEAD", "POST"])
@admin_page
def thread_page(request, thread_id: str):
    """One thread and all its comments as administrators see them, with Hide / Unhide for each."""
    thread = selectors.thread_get(thread_id=thread_id)
    if thread is None:
        return _thread_not_found(request)
    failure = None
    if request.method == "POST":
        outcome = _moderate(request, allowed=THREAD_ACTIONS, thread_id=str(thread.id))
        if not isinstance(outcome, Failure):
            return outcome
        failure = outcome
    walk = _walk(request, param="cursor", name="thread", filters={"thread": str(thread.id)},
                 read=lambda after: selectors.comment_list(thread_id=str(thread.id), viewer=selectors.ADMIN,
                                                           after=after, limit=THREAD_PAGE_SIZE))
    rows = _comment_rows(walk.page.items)
    thread_row = Row(key=f"thread-{thread.id}", item=thread)
    _place([thread_row, *rows], failure)
    return render(request, "discussions/console/thread.html", _context(
        request, thread=thread, thread_row=thread_row, walk=walk, rows=rows, failure=failure),
        status=failure.status if failure else 200)


@require_http_methods(["GET", "HEAD", "POST"])
@framed_by_own_pages
@admin_page
def signal_thread_frame(request, signal_id: str):
    """The comments under one trade signal (or "No comments yet"), shown inside the signal's console page."""
    threads = selectors.thread_list(viewer=selectors.ADMIN, signal_id=signal_id).items if (
        signal_id.isascii() and signal_id.isalnum() and len(signal_id) <= 64) else []
    thread = threads[0] if threads else None
    failure = None
    if request.method == "POST":
        if thread is None:
            failure = Failure(row="", messages=["This signal has no comments to moderate."], status=404)
        else:
            outcome = _moderate(request, allowed=SIGNAL_ACTIONS, thread_id=str(thread.id))
            if not isinstance(outcome, Failure):
                return outcome
            failure = outcome
    walk, rows = None, []
    if thread is not None:
        walk = _walk(request, param="cursor", name="signal", filters={"thread": str(thread.id)},
                     read=lambda after: selectors.comment_list(thread_id=str(thread.id), viewer=selectors.ADMIN,
                                                               after=after, limit=THREAD_PAGE_SIZE))
        rows = _comment_rows(walk.page.items)
        _place(rows, failure)
    return render(request, "discussions/console/signal_thread.html", _context(
        request, signal_id=signal_id, thread=thread, walk=walk, rows=rows, failure=failure),
        status=failure.status if failure else 200)
