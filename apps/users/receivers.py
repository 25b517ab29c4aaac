"""Receivers: cache invalidation on this app's Django signal, handlers for other apps' events (the profile
projection, signal and comment counts, track records, notification emails), and of its own ``user.profile_updated``
(deleting the files of an avatar the change discarded, after the commit, retried by the bus), plus the
avatars' image-sweep collector.

Views and services never invalidate; the services send ``profile_changed`` after each commit and the receiver
here drops the cached ``/users/me`` of that user. Event payloads are docs/events.md's. The bus runs each
handler once per event id (its inbox claims the id, releases it if the handler raises, so the event is
redelivered); the projection services are idempotent on their own too, by ordering (only newer facts win), so
a replay after the inbox forgot an id changes nothing.
"""
from __future__ import annotations

from django.dispatch import receiver

from apps.users import cache, services
from tradesignals.kernel import events
from tradesignals.kernel.events import Event
from tradesignals.kernel.images import gc

APP = "users"


@receiver(services.profile_changed, dispatch_uid="users.cache.profile_changed")
def on_profile_changed(sender, user_id: str, **kwargs):
    cache.me_invalidate(user_id)


def on_user_registered(event: Event) -> None:
    data = event.data
    services.profile_apply_registered(
        user_id=data["user_id"], email=data["email"], role=data["role"], display_name=data.get("display_name"),
        created_at=data["created_at"], at_us=services.event_time_us(event.occurred_at))


def on_user_role_changed(event: Event) -> None:
    data = event.data
    services.profile_apply_role(
        user_id=data["user_id"], role=data["new_role"], at_us=services.event_time_us(event.occurred_at))


def on_user_deactivated(event: Event) -> None:
    services.profile_apply_active(
        user_id=event.data["user_id"], is_active=False, at_us=services.event_time_us(event.occurred_at))


def on_user_reactivated(event: Event) -> None:
    services.profile_apply_active(
        user_id=event.data["user_id"], is_active=True, at_us=services.event_time_us(event.occurred_at))


def on_trade_signal_created(event: Event) -> None:
    data = event.data
    services.signal_count_apply(
        signal_id=data["signal_id"], owner_id=data["owner_id"], status=data["status"], version=None,
        at_us=services.event_time_us(event.occurred_at))


def on_trade_signal_changed(event: Event) -> None:
    """``trade_signal.updated`` and ``trade_signal.status_changed``: both carry the new status and version."""
    data = event.data
    services.signal_count_apply(
        signal_id=data["signal_id"], owner_id=data["owner_id"], status=data["new_status"],
        version=int(data["version"]), at_us=services.event_time_us(event.occurred_at))


def on_trade_signal_deleted(event: Event) -> None:
    data = event.data
    services.signal_count_apply(
        signal_id=data["signal_id"], owner_id=data["owner_id"], status=data["status"], version=None,
        at_us=services.event_time_us(event.occurred_at), deleted=True)


def on_outcome_recorded(event: Event) -> None:
    """``trade_signal.outcome_recorded``: a decided outcome joins (or, newer, replaces one in) the track record."""
    data = event.data
    services.outcome_apply(
        signal_id=data["signal_id"], owner_id=data["owner_id"], state=data["state"], closed_at=data.get("closed_at"),
        r_multiple=data.get("r_multiple"), version=int(data["version"]),
        at_us=services.event_time_us(event.occurred_at))


def notify_outcome_recorded(event: Event) -> None:
    data = event.data
    services.notification_send_outcome(
        signal_id=data["signal_id"], owner_id=data["owner_id"], symbol=data["symbol"], state=data["state"],
        entered_at=data.get("entered_at"), closed_at=data.get("closed_at"), exit_price=data.get("exit_price"),
        r_multiple=data.get("r_multiple"), version=int(data["version"]))


def on_comment_created(event: Event) -> None:
    data = event.data
    services.comment_count_apply(comment_id=data["comment_id"], thread_id=data["thread_id"],
                                 author_id=data["author_id"], created=True)


def on_comment_hidden(event: Event) -> None:
    """Hidden or shown again (``hidden`` false); ``moderation_version`` orders the two."""
    data = event.data
    services.comment_count_apply(comment_id=data["comment_id"], thread_id=data["thread_id"],
                                 author_id=data["author_id"], hidden=bool(data["hidden"]),
                                 moderation_version=int(data["moderation_version"]))


def on_comment_deleted(event: Event) -> None:
    data = event.data
    services.comment_count_apply(comment_id=data["comment_id"], thread_id=data["thread_id"],
                                 author_id=data["author_id"], deleted=True)


def on_thread_deleted(event: Event) -> None:
    services.comment_thread_drop(thread_id=event.data["thread_id"])


def notify_welcome(event: Event) -> None:
    data = event.data
    services.notification_send_welcome(
        email=data["email"], display_name=data.get("display_name"))


def notify_signal_reviewed(event: Event) -> None:
    data = event.data
    services.notification_send_signal_reviewed(
        owner_id=data["owner_id"], symbol=data["symbol"], old_status=data["old_status"],
        new_status=data["new_status"], reason=data.get("reason"))


def notify_signal_commented(event: Event) -> None:
    data = event.data
    services.notification_send_comment_created(
        author_id=data["author_id"], signal_id=data.get("signal_id"), signal_owner_id=data.get("signal_owner_id"),
        signal_title=data.get("signal_title"))


def on_avatars_discarded(event: Event) -> None:
    image_ids = event.data.get("discarded_image_ids") or []
    if image_ids:
        services.avatars_purge(image_ids=image_ids)


HANDLERS = (
    ("user.registered", on_user_registered),
    ("user.registered", notify_welcome),
    ("user.role_changed", on_user_role_changed),
    ("user.deactivated", on_user_deactivated),
    ("user.reactivated", on_user_reactivated),
    ("trade_signal.created", on_trade_signal_created),
    ("trade_signal.updated", on_trade_signal_changed),
    ("trade_signal.status_changed", on_trade_signal_changed),
    ("trade_signal.status_changed", notify_signal_reviewed),
    ("trade_signal.deleted", on_trade_signal_deleted),
    ("trade_signal.outcome_recorded", on_outcome_recorded),
    ("trade_signal.outcome_recorded", notify_outcome_recorded),
    ("user.profile_updated", on_avatars_discarded),
    ("discussion.comment_created", on_comment_created),
    ("discussion.comment_created", notify_signal_commented),
    ("discussion.comment_hidden", on_comment_hidden),
    ("discussion.comment_deleted", on_comment_deleted),
    ("discussion.thread_deleted", on_thread_deleted),
)

for _type, _handler in HANDLERS:
    events.subscribe(_type, _handler, app=APP)
gc.register(services.AVATAR_KIND, services.avatars_collect)
