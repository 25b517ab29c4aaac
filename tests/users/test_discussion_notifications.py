"""The new-comment email: to the signal's owner, at most one per signal per DISCUSSION_NOTIFY_INTERVAL."""
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from django.core import mail

from apps.users import receivers, services
from tests.support.api import new_id
from tests.support.servers import free_port
from tradesignals.kernel import events, mongo

TITLE = "BTC/USDT long 4h"


def notices():
    return mongo.database("users")["user_comment_notices"]


def time_passes(owner: str, signal: str, seconds: float) -> None:
    """As if ``seconds`` had passed since the last email for (owner, signal): its slot's stored time moves back."""
    slot = notices().find_one({"_id": f"{owner}:{signal}"})
    assert slot is not None, "no email was sent for this signal yet"
    notices().update_one({"_id": slot["_id"]}, {"$set": {"last_sent_at": slot["last_sent_at"] - timedelta(
        seconds=seconds)}})


@pytest.fixture
def owner(feed):
    owner = feed.registered(email="owner@example.com", display_name="Olivia Owner")
    mail.outbox.clear()
    return owner


def comment(feed, owner: str, signal: str, *, author: str | None = None, thread: str | None = None,
            title: str | None = TITLE):
    return feed.comment_created(author or new_id(), thread_id=thread, signal_id=signal, signal_owner_id=owner,
                                signal_title=title)


def test_five_comments_within_the_interval_send_one_email_and_the_next_after_it_another(feed, owner):
    signal, thread = new_id(), new_id()
    for _ in range(5):
        comment(feed, owner, signal, thread=thread)
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["owner@example.com"]
    assert message.subject == f"New comments on your signal {TITLE}"
    assert "Olivia Owner" in message.body and TITLE in message.body
    assert "http" not in message.body  # no links

    time_passes(owner, signal, 3540)  # a minute short of the hour (real time passes too while the test runs)
    comment(feed, owner, signal, thread=thread)
    assert len(mail.outbox) == 1  # still within the hour

    time_passes(owner, signal, 61)
    comment(feed, owner, signal, thread=thread)
    assert len(mail.outbox) == 2 and mail.outbox[1].subject == message.subject
    comment(feed, owner, signal, thread=thread)
    assert len(mail.outbox) == 2


def test_the_interval_is_the_setting(feed, owner, settings):
    settings.DISCUSSION_NOTIFY_INTERVAL = 2 * 3600
    signal = new_id()
    comment(feed, owner, signal)
    time_passes(owner, signal, 3601)
    comment(feed, owner, signal)
    assert len(mail.outbox) == 1
    time_passes(owner, signal, 3600)
    comment(feed, owner, signal)
    assert len(mail.outbox) == 2


def test_each_signal_has_its_own_slot(feed, owner):
    comment(feed, owner, new_id(), title="BTC/USDT long 4h")
    comment(feed, owner, new_id(), title="ETH/USDT short 1h")
    assert sorted(m.subject for m in mail.outbox) == ["New comments on your signal BTC/USDT long 4h",
                                                      "New comments on your signal ETH/USDT short 1h"]


def test_a_redelivered_comment_sends_nothing_more(feed, owner):
    event = comment(feed, owner, new_id())
    events.deliver(event)
    assert len(mail.outbox) == 1


def test_no_email_when_the_owner_comments_on_their_own_signal(feed, owner):
    signal = new_id()
    comment(feed, owner, signal, author=owner)
    assert mail.outbox == []
    comment(feed, owner, signal)  # the owner's own comment took no slot
    assert len(mail.outbox) == 1


def test_forum_comments_email_nobody(feed, owner):
    feed.comment_created(new_id())
    assert mail.outbox == []


def test_a_deactivated_owner_gets_none(feed, owner):
    signal = new_id()
    feed.deactivated(owner)
    comment(feed, owner, signal)
    assert mail.outbox == []
    feed.reactivated(owner)
    comment(feed, owner, signal)  # no slot was spent on the skipped email
    assert [m.to for m in mail.outbox] == [["owner@example.com"]]


def test_an_owner_not_projected_yet_is_retried_until_the_profile_arrives(feed):
    owner, signal = new_id(), new_id()
    event = comment(feed, owner, signal)  # delivered: its handler failed and the bus recorded that
    with pytest.raises(services.ProjectionLagging):
        receivers.notify_signal_commented(event)
    assert mail.outbox == []

    feed.registered(owner, email="late.owner@example.com")
    mail.outbox.clear()
    events.deliver(event)  # the redelivery
    events.deliver(event)
    assert [m.to for m in mail.outbox] == [["late.owner@example.com"]]


def test_a_failing_mail_backend_gives_the_slot_back_so_the_retry_sends(feed, owner, settings):
    signal = new_id()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", free_port(), 1  # refused
    event = comment(feed, owner, signal)  # fails inside the bus: the handler's claim is released
    with pytest.raises(OSError):
        receivers.notify_signal_commented(event)
    assert notices().find_one({"_id": f"{owner}:{signal}"}) is None

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    events.deliver(event)  # the bus's retry
    events.deliver(event)
    assert [m.to for m in mail.outbox] == [["owner@example.com"]]

    # A slot that had sent before gets its earlier time back, not a fresh one.
    time_passes(owner, signal, 3601)
    earlier = notices().find_one({"_id": f"{owner}:{signal}"})["last_sent_at"]
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    later = comment(feed, owner, signal)
    assert notices().find_one({"_id": f"{owner}:{signal}"})["last_sent_at"] == earlier
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    events.deliver(later)
    assert len(mail.outbox) == 2


def test_racing_consumers_send_one_email(feed, owner):
    """Several processes handling comments of one signal at once: the conditional upsert lets one through."""
    signal = new_id()
    start = threading.Barrier(6)

    def handle() -> bool:
        start.wait()
        return services.notification_send_comment_created(author_id=new_id(), signal_id=signal,
                                                          signal_owner_id=owner, signal_title=TITLE)

    with ThreadPoolExecutor(max_workers=6) as pool:
        sent = [future.result() for future in [pool.submit(handle) for _ in range(6)]]
    assert sent.count(True) == 1 and len(mail.outbox) == 1
