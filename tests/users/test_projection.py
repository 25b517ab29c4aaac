"""The profile projection: fed only by events, right after any sequence, unchanged by replays and reordering."""
import uuid
from datetime import UTC, datetime

import pytest

from apps.users import receivers
from tests.support.users import at, stored_profile
from tradesignals.kernel import events, mongo
from tradesignals.kernel.events import inbox


def counts(user_id: str) -> dict:
    doc = stored_profile(user_id) or {}
    return {status: doc.get(f"signals_{status}", 0) for status in ("pending", "approved", "rejected")}


def forget_processed_ids() -> None:
    """As if the bus's processed-ids TTL had expired: only the ordering rules protect the projection now."""
    mongo.database("users")[inbox.INBOX_COLLECTION].delete_many({})


def test_register_role_change_deactivate_reactivate_yields_the_right_profile(feed):
    created = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    user_id = feed.registered(email="Ada@Example.com", display_name="Ada", created_at=created)
    profile = stored_profile(user_id)
    assert profile["registered"] is True
    assert (profile["email"], profile["role"], profile["is_active"], profile["display_name"]) == (
        "Ada@Example.com", "user", True, "Ada")
    assert profile["created_at"] == created and profile["bio"] == "" and profile.get("avatar_url") is None

    feed.role_changed(user_id, "user", "admin")
    assert stored_profile(user_id)["role"] == "admin"
    feed.deactivated(user_id)
    assert stored_profile(user_id)["is_active"] is False
    feed.reactivated(user_id)
    final = stored_profile(user_id)
    assert (final["role"], final["is_active"], final["email"]) == ("admin", True, "Ada@Example.com")


def test_replaying_every_event_twice_changes_nothing(feed):
    user_id = feed.registered(display_name="Grace")
    feed.role_changed(user_id, "user", "admin")
    feed.deactivated(user_id)
    feed.reactivated(user_id)
    feed.role_changed(user_id, "admin", "user")
    signal = feed.signal_created(user_id)
    feed.signal_reviewed(user_id, signal, "pending", "approved", 2)
    other = feed.signal_created(user_id)
    feed.signal_deleted(user_id, other, "pending")
    before = stored_profile(user_id)

    for _ in range(2):
        for event in feed.published:
            events.deliver(event)
    assert stored_profile(user_id) == before

    forget_processed_ids()  # even without the id record, replays are no-ops (ordering stamps)
    for event in feed.published:
        events.deliver(event)
    assert stored_profile(user_id) == before
    assert counts(user_id) == {"pending": 0, "approved": 1, "rejected": 0}
    assert (before["role"], before["is_active"]) == ("user", True)


def test_out_of_order_delivery_converges_to_the_newest_facts(feed):
    user_id = feed.registered()
    feed.role_changed(user_id, "user", "admin")
    feed.deactivated(user_id)
    feed.reactivated(user_id)
    expected = stored_profile(user_id)

    mongo.database("users")["user_profiles"].delete_many({})
    forget_processed_ids()
    # Separate streams per event type: a consumer may see them in any order.
    for event in reversed(feed.published):
        events.deliver(event)
    rebuilt = stored_profile(user_id)
    assert (rebuilt["role"], rebuilt["is_active"], rebuilt["email"]) == ("admin", True, expected["email"])
    assert rebuilt["display_name"] == expected["display_name"] and rebuilt["registered"] is True


def test_an_older_fact_arriving_late_does_not_win(feed):
    user_id = feed.registered()
    demoted = feed.role_changed(user_id, "admin", "user")
    late_promotion = at(demoted, -5)  # occurred earlier, delivered later
    late_promotion = events.Event(**{**late_promotion.to_dict(), "id": str(uuid.uuid4()),
                                    "data": {**demoted.data, "old_role": "user", "new_role": "admin"}})
    events.deliver(late_promotion)
    assert stored_profile(user_id)["role"] == "user"


def test_signal_counts_follow_the_signal_lifecycle(feed):
    owner = feed.registered()
    first = feed.signal_created(owner)
    second = feed.signal_created(owner)
    assert counts(owner) == {"pending": 2, "approved": 0, "rejected": 0}
    feed.signal_reviewed(owner, first, "pending", "approved", 2)
    feed.signal_reviewed(owner, second, "pending", "rejected", 2, reason="Stop loss too tight")
    assert counts(owner) == {"pending": 0, "approved": 1, "rejected": 1}
    feed.signal_updated(owner, second, "rejected", "pending", 3)  # an edit sends it back to review
    assert counts(owner) == {"pending": 1, "approved": 1, "rejected": 0}
    feed.signal_updated(owner, second, "pending", "pending", 4)  # an edit without a status change
    assert counts(owner) == {"pending": 1, "approved": 1, "rejected": 0}
    feed.signal_deleted(owner, first, "approved")
    assert counts(owner) == {"pending": 1, "approved": 0, "rejected": 0}


def test_signal_counts_ignore_stale_and_reordered_events(feed):
    owner = feed.registered()
    signal = feed.signal_created(owner)
    approved = feed.signal_reviewed(owner, signal, "pending", "approved", 2)
    # A stale update (older version) delivered after the approval moves nothing.
    stale = events.Event(**{**approved.to_dict(), "id": str(uuid.uuid4()), "type": "trade_signal.updated",
                            "data": {"signal_id": signal, "owner_id": owner, "old_status": "pending",
                                     "new_status": "pending", "version": 1}})
    events.deliver(stale)
    assert counts(owner) == {"pending": 0, "approved": 1, "rejected": 0}

    # Deletion seen before creation: the signal never counts.
    ghost = "ghost-signal"
    deleted = feed.signal_deleted(owner, ghost, "pending")
    created = events.Event(type="trade_signal.created", key=ghost, producer="signals", data={
        "signal_id": ghost, "owner_id": owner, "symbol": "ETH", "direction": "short", "timeframe": "1h",
        "status": "pending"}, occurred_at=at(deleted, -1).occurred_at)
    events.deliver(created)
    assert counts(owner) == {"pending": 0, "approved": 1, "rejected": 0}


def test_signal_events_before_registration_are_kept(feed):
    owner = "early-owner-1"
    signal = feed.signal_created(owner)
    feed.signal_reviewed(owner, signal, "pending", "approved", 2)
    assert stored_profile(owner)["registered"] is False
    feed.registered(owner, email="late@example.com")
    profile = stored_profile(owner)
    assert profile["registered"] is True and profile["email"] == "late@example.com"
    assert counts(owner) == {"pending": 0, "approved": 1, "rejected": 0}


def test_an_unknown_status_is_refused_and_changes_nothing(feed):
    owner = feed.registered()
    bad = events.Event(type="trade_signal.created", key="s-bad", producer="signals", data={
        "signal_id": "s-bad", "owner_id": owner, "symbol": "BTC", "direction": "long", "timeframe": "1h",
        "status": "archived"})
    with pytest.raises(ValueError):
        receivers.on_trade_signal_created(bad)
    assert counts(owner) == {"pending": 0, "approved": 0, "rejected": 0}
