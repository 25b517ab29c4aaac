"""Receivers: cache invalidation on this app's Django signal, and the projections fed by other apps' events.

Views and services never invalidate; the services send ``discussion_changed`` after each commit and the
receiver here orphans exactly the namespaces it names. The event handlers keep the signal projection (titles,
and whether each signal's thread is open) and the author projection (names, deactivation); both only move
forward (versions and event times), so an at-least-once redelivery or a reordering changes nothing.
"""
from __future__ import annotations

from django.dispatch import receiver

from apps.discussions import cache, services
from apps.discussions import events as discussion_events
from tradesignals.kernel import events
from tradesignals.kernel.events import Event

APP = "discussions"


@receiver(services.discussion_changed, dispatch_uid="discussions.cache.changed")
def on_discussion_changed(sender, thread_ids, lists: bool, moderation: bool, **kwargs):
    cache.invalidate(thread_ids=thread_ids, lists=lists, moderation=moderation)


def _title(data: dict) -> str | None:
    if all(data.get(name) for name in ("symbol", "direction", "timeframe")):
        return services.signal_title(symbol=data["symbol"], direction=data["direction"], timeframe=data["timeframe"])
    return None


def on_trade_signal_created(event: Event) -> None:
    data = event.data
    services.signal_apply(signal_id=data["signal_id"], owner_id=data["owner_id"], status=data["status"],
                          version=None, at_us=services.event_time_us(event.occurred_at), title=_title(data))


def on_trade_signal_changed(event: Event) -> None:
    """``trade_signal.updated`` (with the edited title) and ``trade_signal.status_changed``."""
    data = event.data
    services.signal_apply(signal_id=data["signal_id"], owner_id=data["owner_id"], status=data["new_status"],
                          version=int(data["version"]), at_us=services.event_time_us(event.occurred_at),
                          title=_title(data))


def on_trade_signal_deleted(event: Event) -> None:
    data = event.data
    services.signal_apply(signal_id=data["signal_id"], owner_id=data["owner_id"], status=data["status"],
                          version=None, at_us=services.event_time_us(event.occurred_at), deleted=True)


def on_user_registered(event: Event) -> None:
    data = event.data
    services.author_apply(user_id=data["user_id"], name=(data.get("display_name") or "").strip(), active=True,
                          at_us=services.event_time_us(event.occurred_at))


def on_user_profile_updated(event: Event) -> None:
    name = event.data.get("display_name")
    if name is not None:
        services.author_apply(user_id=event.data["user_id"], name=str(name),
                              at_us=services.event_time_us(event.occurred_at))


def on_user_deactivated(event: Event) -> None:
    services.author_apply(user_id=event.data["user_id"], active=False, at_us=services.event_time_us(event.occurred_at))


def on_user_reactivated(event: Event) -> None:
    services.author_apply(user_id=event.data["user_id"], active=True, at_us=services.event_time_us(event.occurred_at))


HANDLERS = (
    (discussion_events.TRADE_SIGNAL_CREATED, on_trade_signal_created),
    (discussion_events.TRADE_SIGNAL_UPDATED, on_trade_signal_changed),
    (discussion_events.TRADE_SIGNAL_STATUS_CHANGED, on_trade_signal_changed),
    (discussion_events.TRADE_SIGNAL_DELETED, on_trade_signal_deleted),
    (discussion_events.USER_REGISTERED, on_user_registered),
    (discussion_events.USER_PROFILE_UPDATED, on_user_profile_updated),
    (discussion_events.USER_DEACTIVATED, on_user_deactivated),
    (discussion_events.USER_REACTIVATED, on_user_reactivated),
)

for _type, _handler in HANDLERS:
    events.subscribe(_type, _handler, app=APP)
