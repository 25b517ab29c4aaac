"""Server-rendered admin pages: the review queue, a signal with its decision form, recently reviewed, all
signals, the overview. Thin: parse → selector/service → template. Decisions go through
``services.signal_review`` — the same events, cache invalidation and history as the API."""
from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlencode

from django.http import HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods

from apps.signals import enums, selectors, services
from apps.signals.console import chart
from apps.signals.console import selectors as console_selectors
from apps.signals.console.forms import QueueFilterForm, ReviewForm, StatusFilterForm
from tradesignals.kernel.clock import utcnow
from tradesignals.kernel.console import admin_page, page_context
from tradesignals.kernel.csp import frames_own_pages
from tradesignals.kernel.drf import pagination
from tradesignals.kernel.errors import Conflict, NotFound, PermissionDenied, PreconditionFailed, ValidationFailed

PAGE_SIZE = 20
QUEUE_THUMBNAIL_WIDTH = 96  # CSS pixels; the height follows the image's own ratio, so nothing shifts as it loads
DAYS = 30
STALE_MESSAGE = ("This signal changed since you opened it. Nothing was saved — it now reads as below "
                 "(version {version}, {status}); check it and decide again.")


def _context(request, section: str, **extra) -> dict:
    return page_context(request, section, pending_count=selectors.signal_count_pending(), **extra)


def _walk(request, *, name: str, filters: dict, read) -> tuple[selectors.Page, str | None, str | None]:
    """One keyset page of ``read(after=...)``: the page, the next page's URL and a cursor error, if any."""
    scope = pagination.scope_of(f"console-{name}", filters)
    error = None
    try:
        position = pagination.decode_cursor(request.GET.get("cursor"), scope=scope)
    except ValidationFailed:
        position, error = None, "That page link is no longer valid; showing the first page."
    page = read(after=None if position is None else (position.created_at, position.id))
    next_url = None
    if page.next_after is not None:
        cursor = pagination.encode_cursor(pagination.Position(*page.next_after), scope=scope)
        next_url = f"{request.path}?{urlencode({**filters, 'cursor': cursor})}"
    return page, next_url, error


@require_GET
@admin_page
def queue_page(request):
    """The landing page: pending signals, oldest first, filterable."""
    form = QueueFilterForm(request.GET or None)
    filters = form.filters() if form.is_bound else {}
    page, next_url, cursor_error = _walk(
        request, name="queue", filters=filters,
        read=lambda after: selectors.signal_list_pending(filters=filters, after=after, limit=PAGE_SIZE))
    reviewed = None
    reviewed_id = request.GET.get("reviewed")
    if reviewed_id:  # the confirmation states what is stored, not what the URL claims
        signal = selectors.signal_get(signal_id=reviewed_id)
        if signal is not None and signal.review and signal.review.by == request.console_principal.user_id:
            reviewed = signal
    return render(request, "console/queue.html", _context(
        request, "queue", form=form, page=page, next_url=next_url, cursor_error=cursor_error,
        filtered=bool(filters), reviewed=reviewed, thumbnail_width=QUEUE_THUMBNAIL_WIDTH))


def _signal_response(request, signal, *, form: ReviewForm | None = None, message: str | None = None,
                     status: int = 200):
    if form is None:
        form = ReviewForm(initial={"version": signal.version})
    # The owner's external link is shown only without an upload, and only over https.
    image_url = signal.image_url if (signal.image_url or "").startswith("https://") else None
    history = list(reversed(signal.history or []))
    may_review = services.signal_may_review(actor=request.console_principal, owner_id=signal.owner_id)
    return render(request, "console/signal.html", _context(
        request, "queue", signal=signal, form=form, message=message, image_url=image_url, history=history,
        own_signal=not may_review,
        can_approve=may_review and (signal.status, enums.APPROVED) in enums.TRANSITIONS,
        can_reject=may_review and (signal.status, enums.REJECTED) in enums.TRANSITIONS), status=status)


def _not_found(request):
    return render(request, "console/not_found.html", _context(
        request, "queue", heading="Signal not found", detail="It may have been deleted by its owner."), status=404)


@require_http_methods(["GET", "HEAD", "POST"])
@frames_own_pages
@admin_page
def signal_page(request, signal_id: str):
    """GET shows every field, the image, the history and the decision form (not on one's own signal: the
    service refuses that decision, so the page does not offer it); POST decides (PRG on success). The
    signal's comment thread is the discussions console's page in an ``<iframe>`` (same origin)."""
    signal = selectors.signal_get(signal_id=signal_id)
    if signal is None:
        return _not_found(request)
    if request.method != "POST":
        return _signal_response(request, signal)

    form = ReviewForm(request.POST)
    if not form.is_valid():
        return _signal_response(request, signal, form=form, status=400)
    data = form.cleaned_data
    try:
        services.signal_review(signal_id=signal_id, actor=request.console_principal, status=data["decision"],
                               reason=data["reason"] or None, if_match={data["version"]})
    except ValidationFailed as exc:
        for field, messages in (exc.details or {}).items():
            form.add_error(field if field in form.fields else None, messages)
        return _signal_response(request, signal, form=form, status=400)
    except (PreconditionFailed, Conflict) as exc:
        current = selectors.signal_get(signal_id=signal_id)
        if current is None:
            return _not_found(request)
        fresh = ReviewForm(initial={"version": current.version, "reason": data["reason"]})
        if isinstance(exc, PreconditionFailed):
            message = STALE_MESSAGE.format(version=current.version, status=current.status)
        else:
            message = f"Nothing to do: the signal is already {current.status}."
        return _signal_response(request, current, form=fresh, message=message, status=exc.status)
    except PermissionDenied as exc:  # a decision on one's own signal: the page never offers it
        return render(request, "console/forbidden.html", _context(
            request, "queue", message=exc.message, back_url=reverse("console:signal", args=[signal.id]),
            back_label="Back to the signal"), status=403)
    except NotFound:
        return _not_found(request)
    return HttpResponseRedirect(f"{reverse('console:queue')}?{urlencode({'reviewed': signal_id})}", status=303)


@require_GET
@admin_page
def reviewed_page(request):
    """Recently reviewed: by me (default) or by anyone, newest decision first."""
    who = "anyone" if request.GET.get("who") == "anyone" else "me"
    reviewer = None if who == "anyone" else request.console_principal.user_id
    page, next_url, cursor_error = _walk(
        request, name="reviewed", filters={"who": who},
        read=lambda after: selectors.signal_list_reviewed(reviewer_id=reviewer, after=after, limit=PAGE_SIZE))
    return render(request, "console/reviewed.html", _context(
        request, "reviewed", who=who, page=page, next_url=next_url, cursor_error=cursor_error))


@require_GET
@admin_page
def signals_page(request):
    """Every signal, newest first, filterable by status."""
    form = StatusFilterForm(request.GET or None)
    filters = form.filters() if form.is_bound else {}
    page, next_url, cursor_error = _walk(
        request, name="all", filters=filters,
        read=lambda after: selectors.signal_list_admin(filters=filters, after=after, limit=PAGE_SIZE))
    return render(request, "console/signals.html", _context(
        request, "all", form=form, page=page, next_url=next_url, cursor_error=cursor_error))


@require_GET
@admin_page
def overview_page(request):
    """Counts per status, signals created per day over the last 30 days, and the cumulative R of the top
    traders over the last 90 days — both as inline SVG charts."""
    days = selectors.signal_counts_per_day(days=DAYS)
    counts = selectors.signal_counts_by_status()
    now = utcnow()
    closed = console_selectors.signal_list_closed(days=console_selectors.CHART_DAYS, now=now)
    r_chart = chart.cumulative_r(closed, since=now - timedelta(days=console_selectors.CHART_DAYS), until=now,
                                 limit=console_selectors.CHART_TRADERS)
    return render(request, "console/overview.html", _context(
        request, "overview", counts=[(status, counts[status]) for status in enums.STATUSES],
        total=sum(counts.values()), days=days, chart=chart.stacked_bars(days), window=DAYS,
        r_chart=r_chart, r_window=console_selectors.CHART_DAYS, r_traders=console_selectors.CHART_TRADERS))
