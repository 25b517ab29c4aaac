"""Receivers: cache invalidation on this app's Django signals, and the projections of other apps' events.

Views never invalidate; the services send ``signal_saved`` / ``signal_deleted`` / ``signal_status_changed``
after each commit and the handlers here orphan exactly the cached reads the change can affect. The event
handlers are idempotent (they set values), so an at-least-once redelivery changes nothing.

Stored candles (``market.candles_received``) run the outcome evaluation of their symbol here — in whichever
process consumes the signals app's events, so it scales out with the consumers; a replay changes nothing
(``evaluation``), and the evaluation's ``signal_outcomes_changed`` orphans the reads of the signals it changed.
"""
from __future__ import annotations

from datetime import UTC, datetime

from django.dispatch import receiver

from apps.signals import evaluation, services
from apps.signals import events as signal_events
from apps.signals.cache import invalidate, invalidate_many, invalidate_owner
from tradesignals.kernel import events
from tradesignals.kernel.images import gc

APP = "signals"


def _invalidate(change: services.SignalChange) -> None:
    invalidate(owner_id=change.owner_id, signal_id=change.signal_id, public=change.was_public or change.is_public)


@receiver(services.signal_saved, dispatch_uid="signals.cache.saved")
def on_signal_saved(sender, change: services.SignalChange, **kwargs):
    _invalidate(change)


@receiver(services.signal_deleted, dispatch_uid="signals.cache.deleted")
def on_signal_deleted(sender, change: services.SignalChange, **kwargs):
    _invalidate(change)


@receiver(services.signal_status_changed, dispatch_uid="signals.cache.status_changed")
def on_signal_status_changed(sender, change: services.SignalChange, **kwargs):
    _invalidate(change)


@receiver(services.signal_outcomes_changed, dispatch_uid="signals.cache.outcomes_changed")
def on_signal_outcomes_changed(sender, changes: list[services.SignalChange], **kwargs):
    invalidate_many([(change.owner_id, change.signal_id, change.was_public or change.is_public)
                     for change in changes])


@receiver(services.owner_signals_changed, dispatch_uid="signals.cache.owner_changed")
def on_owner_signals_changed(sender, owner_id: str, signal_ids: list[str], **kwargs):
    invalidate_owner(owner_id=owner_id, signal_ids=signal_ids)


def on_user_profile_updated(event: events.Event) -> None:
    name = event.data.get("display_name")
    if name is not None:
        services.signal_owner_rename(owner_id=str(event.data["user_id"]), owner_name=str(name))


def on_user_deactivated(event: events.Event) -> None:
    services.signal_owner_set_active(owner_id=str(event.data["user_id"]), active=False)


def on_user_reactivated(event: events.Event) -> None:
    services.signal_owner_set_active(owner_id=str(event.data["user_id"]), active=True)


events.subscribe(signal_events.USER_PROFILE_UPDATED, on_user_profile_updated, app=APP)
events.subscribe(signal_events.USER_DEACTIVATED, on_user_deactivated, app=APP)
events.subscribe(signal_events.USER_REACTIVATED, on_user_reactivated, app=APP)


def _minute(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)


def on_candles_received(event: events.Event) -> None:
    """Evaluate the live signals of the symbol against the stored minutes ``first``..``last`` (and later)."""
    data = event.data
    evaluation.candles_evaluate(symbol=str(data["symbol"]), first=_minute(data["first"]),
                                last=_minute(data["last"]))


events.subscribe(signal_events.CANDLES_RECEIVED, on_candles_received, app=APP)


def on_signal_images_discarded(event: events.Event) -> None:
    """An edit or a delete detached an uploaded chart: delete its files (after the commit, retried by the bus,
    in whichever process consumes the signals app's events)."""
    image_ids = event.data.get("discarded_image_ids") or []
    if image_ids:
        services.chart_images_purge(image_ids=image_ids)


events.subscribe(signal_events.UPDATED, on_signal_images_discarded, app=APP)
events.subscribe(signal_events.DELETED, on_signal_images_discarded, app=APP)
gc.register(services.IMAGE_KIND, services.chart_images_collect)
