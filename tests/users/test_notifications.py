"""Notification emails: a welcome on registration, a review outcome to the signal's owner — each sent once."""
import pytest
from django.core import mail

from apps.users import receivers, services
from tests.support.servers import free_port
from tradesignals.kernel import events


def test_registration_sends_one_welcome_email_even_when_delivered_twice(feed):
    feed.registered(email="new.trader@example.com", display_name="New Trader")
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["new.trader@example.com"]
    assert "Welcome" in message.subject and "New Trader" in message.body

    events.deliver(feed.published[0])  # at-least-once delivery: a duplicate
    assert len(mail.outbox) == 1


def test_a_review_emails_the_owner_at_the_projected_address_with_the_reason(feed):
    owner = feed.registered(email="owner@example.com", display_name="Owner")
    mail.outbox.clear()
    signal = feed.signal_created(owner, symbol="ETH/USDT")
    feed.signal_reviewed(owner, signal, "pending", "rejected", 2, reason="Take profit below entry",
                         symbol="ETH/USDT")
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["owner@example.com"]
    assert "ETH/USDT" in message.subject and "rejected" in message.subject
    assert "Take profit below entry" in message.body

    events.deliver(feed.published[-1])
    assert len(mail.outbox) == 1


def test_approval_without_reason_and_edits_without_status_change(feed):
    owner = feed.registered(email="owner2@example.com")
    mail.outbox.clear()
    signal = feed.signal_created(owner)
    feed.signal_reviewed(owner, signal, "pending", "approved", 2, reason=None)
    assert len(mail.outbox) == 1 and "approved" in mail.outbox[0].subject
    assert "Reason:" not in mail.outbox[0].body
    feed.signal_reviewed(owner, signal, "approved", "approved", 3)
    assert len(mail.outbox) == 1  # no change of status, nothing to tell


def test_a_deactivated_owner_gets_no_email(feed):
    owner = feed.registered(email="gone@example.com")
    feed.deactivated(owner)
    mail.outbox.clear()
    signal = feed.signal_created(owner)
    feed.signal_reviewed(owner, signal, "pending", "approved", 2)
    assert mail.outbox == []


def test_review_of_an_owner_not_yet_projected_is_retried_until_the_profile_arrives(feed):
    owner = "owner-not-yet-known"
    signal = feed.signal_created(owner)
    event = events.Event(type="trade_signal.status_changed", key=signal, producer="signals", data={
        "signal_id": signal, "owner_id": owner, "symbol": "SOL", "old_status": "pending",
        "new_status": "approved", "reason": None, "reviewed_by": "admin-1", "version": 2})
    with pytest.raises(services.ProjectionLagging):
        receivers.notify_signal_reviewed(event)  # raising makes the bus deliver it again later
    events.deliver(event)  # the bus: the failure is recorded, not swallowed as done
    assert mail.outbox == []

    feed.registered(owner, email="late.owner@example.com")
    mail.outbox.clear()
    events.deliver(event)  # the redelivery
    assert [m.to for m in mail.outbox] == [["late.owner@example.com"]]
    events.deliver(event)  # and a duplicate after success sends nothing more
    assert len(mail.outbox) == 1


def test_a_failed_send_is_retried_on_redelivery_and_sent_once(feed, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", free_port(), 1  # refused
    event = events.Event(type="user.registered", key="u-mailfail", producer="accounts", data={
        "user_id": "u-mailfail", "email": "retry@example.com", "role": "user", "display_name": "R",
        "created_at": "2026-03-01T12:00:00Z"})
    with pytest.raises(OSError):
        receivers.notify_welcome(event)
    events.deliver(event)  # fails inside the bus: the handler's claim is released

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    events.deliver(event)
    events.deliver(event)
    assert [m.to for m in mail.outbox] == [["retry@example.com"]]
