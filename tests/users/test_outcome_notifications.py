"""The outcome email: the owner hears once when their signal wins, loses or expires."""
from __future__ import annotations

import pytest
from django.core import mail

from apps.users import receivers, services
from tests.support.api import new_id
from tests.support.servers import free_port
from tradesignals.kernel import events, mongo


def outcome(feed, owner: str, signal: str, state: str = "won", r: str | None = "2.00", *, version: int = 3,
            entered: bool = True, symbol: str = "ETH/USDT") -> events.Event:
    event = events.publish("trade_signal.outcome_recorded", key=signal, producer="signals", data={
        "signal_id": signal, "owner_id": owner, "symbol": symbol, "state": state,
        "entered_at": "2026-11-20T10:05:00Z" if entered else None, "closed_at": "2026-11-20T14:30:00Z",
        "exit_price": "3120.5" if entered else None, "r_multiple": r, "version": version})
    feed.published.append(event)
    return event


@pytest.fixture
def owner(feed):
    owner = feed.registered(email="trader@example.com", display_name="Tessa Trader")
    mail.outbox.clear()
    return owner


def approved(feed, owner: str) -> str:
    signal = feed.signal_created(owner, symbol="ETH/USDT")
    feed.signal_reviewed(owner, signal, "pending", "approved", 2, symbol="ETH/USDT")
    mail.outbox.clear()  # the review's own email
    return signal


def test_a_win_emails_the_owner_once(feed, owner):
    event = outcome(feed, owner, approved(feed, owner), "won", "2.00")
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["trader@example.com"]
    assert message.subject == "Your ETH/USDT signal won (2.00 R)"
    body = message.body
    assert "Tessa Trader" in body and "won: it reached its take profit" in body
    assert "Entered: 2026-11-20T10:05:00Z" in body and "Closed: 2026-11-20T14:30:00Z" in body
    assert "Exit price: 3120.5" in body and "Result: 2.00 R" in body
    assert "http" not in body  # no links

    events.deliver(event)  # at-least-once delivery: a duplicate
    events.deliver(events.Event(**{**event.to_dict(), "id": new_id()}))  # the same outcome published again
    assert len(mail.outbox) == 1


def test_a_loss_and_the_two_kinds_of_expiry(feed, owner):
    lost, open_expiry, unentered = (approved(feed, owner) for _ in range(3))
    outcome(feed, owner, lost, "lost", "-1.00")
    outcome(feed, owner, open_expiry, "expired", "0.35")
    outcome(feed, owner, unentered, "expired", None, entered=False)
    assert [m.subject for m in mail.outbox] == ["Your ETH/USDT signal lost (-1.00 R)",
                                               "Your ETH/USDT signal expired (0.35 R)",
                                               "Your ETH/USDT signal expired"]
    lost, open_expiry, unentered = (m.body for m in mail.outbox)
    assert "lost: it reached its stop loss" in lost and "Result: -1.00 R" in lost
    assert "expired: it was still open when its time ran out" in open_expiry
    assert "expired: its entry price was not reached in time" in unentered
    assert "Entered:" not in unentered and "Exit price:" not in unentered and "Result:" not in unentered


def test_each_signal_gets_its_own_email(feed, owner):
    first, second = approved(feed, owner), approved(feed, owner)
    outcome(feed, owner, first, "won", "1.00")
    outcome(feed, owner, second, "won", "1.00")
    assert len(mail.outbox) == 2


def test_a_deactivated_owner_gets_none(feed, owner):
    signal = approved(feed, owner)
    feed.deactivated(owner)
    outcome(feed, owner, signal)
    assert mail.outbox == []


def test_a_signal_taken_off_the_record_first_sends_nothing(feed, owner):
    """The rejection after the outcome was consumed before it (separate streams): nothing to announce."""
    signal = approved(feed, owner)
    feed.signal_reviewed(owner, signal, "approved", "rejected", 4, symbol="ETH/USDT")
    mail.outbox.clear()
    outcome(feed, owner, signal, version=3)
    assert mail.outbox == []
    deleted = approved(feed, owner)
    feed.signal_deleted(owner, deleted, "approved")
    outcome(feed, owner, deleted)
    assert mail.outbox == []


def test_an_owner_not_projected_yet_is_retried_until_the_profile_arrives(feed):
    owner, signal = new_id(), new_id()
    event = outcome(feed, owner, signal)  # delivered: its handler failed and the bus recorded that
    with pytest.raises(services.ProjectionLagging):
        receivers.notify_outcome_recorded(event)
    assert mail.outbox == []

    feed.registered(owner, email="late.trader@example.com")
    mail.outbox.clear()
    events.deliver(event)  # the redelivery
    events.deliver(event)
    assert [m.to for m in mail.outbox] == [["late.trader@example.com"]]


def test_a_failing_mail_backend_gives_the_slot_back_so_the_retry_sends(feed, owner, settings):
    signal = approved(feed, owner)
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", free_port(), 1  # refused
    event = outcome(feed, owner, signal)  # fails inside the bus: the handler's slot is given back
    with pytest.raises(OSError):
        receivers.notify_outcome_recorded(event)
    assert mongo.database("users")["user_outcome_notices"].count_documents({"signal_id": signal}) == 0

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    events.deliver(event)  # the bus's retry
    events.deliver(event)
    assert [m.subject for m in mail.outbox] == ["Your ETH/USDT signal won (2.00 R)"]
