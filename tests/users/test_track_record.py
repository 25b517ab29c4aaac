"""A trader's track record on their profile: fed by the outcome and status events, right in any order."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.support.api import new_id
from tests.support.servers import wait_until
from tests.support.users import iso
from tradesignals.kernel import events, mongo
from tradesignals.kernel.events import inbox

ME = "/api/v1/users/me"
EMPTY = {"closed": 0, "won": 0, "lost": 0, "expired": 0, "win_rate": None, "average_r": None, "total_r": "0.00"}


def outcome(feed, owner: str, signal: str, state: str, r: str | None, *, version: int = 3,
            closed_at: datetime | None = None, entered: bool = True, symbol: str = "BTC/USDT") -> events.Event:
    """``trade_signal.outcome_recorded`` as the evaluation publishes it (recorded through the feed)."""
    closed = closed_at or datetime.now(UTC) - timedelta(hours=1)
    event = events.publish("trade_signal.outcome_recorded", key=signal, producer="signals", data={
        "signal_id": signal, "owner_id": owner, "symbol": symbol, "state": state,
        "entered_at": iso(closed - timedelta(hours=2)) if entered else None, "closed_at": iso(closed),
        "exit_price": "101.5" if entered else None, "r_multiple": r, "version": version})
    feed.published.append(event)
    return event


def approved_signal(feed, owner: str) -> str:
    signal = feed.signal_created(owner)
    feed.signal_reviewed(owner, signal, "pending", "approved", 2)
    return signal


def record(client, user_id: str) -> dict:
    response = client.get(f"/api/v1/users/{user_id}")
    assert response.status_code == 200, response.content
    return response.json()["track_record"]


def without_window(found: dict) -> dict:
    return {name: value for name, value in found.items() if name != "last_30_days"}


def forget_processed_ids() -> None:
    """As if the bus's processed-ids TTL had expired: only the ordering rules protect the record now."""
    mongo.database("users")[inbox.INBOX_COLLECTION].delete_many({})


def test_a_new_trader_has_an_empty_record(feed, client):
    owner = feed.registered()
    approved_signal(feed, owner)  # approved but undecided: not in the record
    assert record(client, owner) == {**EMPTY, "last_30_days": EMPTY}


def test_the_record_of_a_hand_made_set_of_outcomes(feed, client):
    owner, other = feed.registered(), feed.registered()
    long_ago = datetime.now(UTC) - timedelta(days=40)
    outcome(feed, owner, approved_signal(feed, owner), "won", "2.00")
    outcome(feed, owner, approved_signal(feed, owner), "won", "1.50", closed_at=long_ago)
    outcome(feed, owner, approved_signal(feed, owner), "lost", "-1.00")
    outcome(feed, owner, approved_signal(feed, owner), "expired", "0.25")  # open when its time ran out
    outcome(feed, owner, approved_signal(feed, owner), "expired", None, entered=False)  # never entered: no R
    outcome(feed, other, approved_signal(feed, other), "won", "9.00")  # someone else's

    found = record(client, owner)
    assert without_window(found) == {"closed": 5, "won": 2, "lost": 1, "expired": 2, "win_rate": "0.40",
                                     "total_r": "2.75", "average_r": "0.69"}  # 2.75 / 4 outcomes with an R
    # 40 days ago: in the totals, not in the last 30 days.
    assert found["last_30_days"] == {"closed": 4, "won": 1, "lost": 1, "expired": 2, "win_rate": "0.25",
                                     "total_r": "1.25", "average_r": "0.42"}
    assert without_window(record(client, other)) == {"closed": 1, "won": 1, "lost": 0, "expired": 0,
                                                     "win_rate": "1.00", "total_r": "9.00", "average_r": "9.00"}


def test_the_window_is_thirty_days_back_from_now(feed, client):
    owner = feed.registered()
    now = datetime.now(UTC)
    outcome(feed, owner, approved_signal(feed, owner), "lost", "-1.00", closed_at=now - timedelta(days=29, hours=23))
    outcome(feed, owner, approved_signal(feed, owner), "lost", "-1.00", closed_at=now - timedelta(days=30, hours=1))
    found = record(client, owner)
    assert (found["closed"], found["total_r"], found["win_rate"]) == (2, "-2.00", "0.00")
    assert (found["last_30_days"]["closed"], found["last_30_days"]["average_r"]) == (1, "-1.00")


def test_only_expiries_without_entry_have_no_average(feed, client):
    owner = feed.registered()
    outcome(feed, owner, approved_signal(feed, owner), "expired", None, entered=False)
    assert without_window(record(client, owner)) == {**EMPTY, "closed": 1, "expired": 1, "win_rate": "0.00"}


def test_a_rejection_takes_the_outcome_off_the_record_and_a_re_approval_puts_it_back(feed, client):
    """A decided outcome is final on the signal: rejecting it hides it, approving it again shows the same one."""
    owner = feed.registered()
    kept = approved_signal(feed, owner)
    outcome(feed, owner, kept, "won", "1.00")
    signal = approved_signal(feed, owner)
    outcome(feed, owner, signal, "won", "3.00", version=4)
    assert (record(client, owner)["closed"], record(client, owner)["total_r"]) == (2, "4.00")

    feed.signal_reviewed(owner, signal, "approved", "rejected", 5, reason="Chart does not match")
    found = record(client, owner)
    assert (found["closed"], found["won"], found["total_r"]) == (1, 1, "1.00")
    assert found["last_30_days"]["total_r"] == "1.00"

    feed.signal_reviewed(owner, signal, "rejected", "approved", 6)
    assert (record(client, owner)["closed"], record(client, owner)["total_r"]) == (2, "4.00")


def test_a_deletion_takes_the_outcome_off_the_record_for_good(feed, client):
    owner = feed.registered()
    signal = approved_signal(feed, owner)
    recorded = outcome(feed, owner, signal, "lost", "-1.00")
    assert record(client, owner)["lost"] == 1
    feed.signal_deleted(owner, signal, "approved")
    assert record(client, owner) == {**EMPTY, "last_30_days": EMPTY}
    # Whatever arrives late for the deleted signal: a review, the outcome again.
    feed.signal_reviewed(owner, signal, "approved", "approved", 9)
    events.deliver(events.Event(**{**recorded.to_dict(), "id": new_id()}))  # the outcome again, a new id
    assert record(client, owner)["closed"] == 0


def test_redelivery_changes_nothing(feed, client):
    owner = feed.registered()
    first, second = approved_signal(feed, owner), approved_signal(feed, owner)
    outcome(feed, owner, first, "won", "2.50")
    outcome(feed, owner, second, "lost", "-1.00")
    feed.signal_reviewed(owner, second, "approved", "rejected", 4)
    before = record(client, owner)
    assert (before["closed"], before["total_r"]) == (1, "2.50")

    for _ in range(2):
        for event in feed.published:
            events.deliver(event)
    assert record(client, owner) == before
    forget_processed_ids()  # even without the id record, replays are no-ops (ordering by version and time)
    for event in feed.published:
        events.deliver(event)
    assert record(client, owner) == before


@pytest.mark.parametrize("order", ["reversed", "outcome last", "outcome first"])
def test_any_delivery_order_gives_the_same_record(feed, client, order):
    owner = feed.registered()
    signal = feed.signal_created(owner)
    sequence = [
        feed.signal_reviewed(owner, signal, "pending", "approved", 2),
        outcome(feed, owner, signal, "won", "2.00", version=5),
        feed.signal_reviewed(owner, signal, "approved", "rejected", 6),
        feed.signal_reviewed(owner, signal, "rejected", "approved", 7),
        feed.signal_reviewed(owner, signal, "approved", "rejected", 8),
    ]
    assert record(client, owner)["closed"] == 0  # rejected at the end
    users = mongo.database("users")
    for name in ("user_signal_outcomes", "user_signal_states", "user_profiles"):
        users[name].delete_many({"_id": {"$in": [owner, signal]}})
    forget_processed_ids()
    feed.registered(owner)  # the profile again (its own event, delivered first)

    if order == "reversed":
        replay = list(reversed(sequence))
    elif order == "outcome last":
        replay = [e for e in sequence if e.type != "trade_signal.outcome_recorded"] + [sequence[1]]
    else:
        replay = [sequence[1]] + [e for e in sequence if e.type != "trade_signal.outcome_recorded"]
    for event in replay:
        events.deliver(event)
    assert record(client, owner)["closed"] == 0

    # The last word a re-approval (newest version): counted again, whatever came before.
    events.deliver(feed.signal_reviewed(owner, signal, "rejected", "approved", 9))
    assert without_window(record(client, owner)) == {**EMPTY, "closed": 1, "won": 1, "win_rate": "1.00",
                                                     "total_r": "2.00", "average_r": "2.00"}


def test_statuses_older_than_the_outcome_do_not_take_it_off(feed, client):
    """Facts from before the run that decided it (an earlier rejection, an edit sent back to review, the approval
    itself) arriving after the outcome: the outcome was recorded while approved, and it stays in the record."""
    owner = feed.registered()
    signal = feed.signal_created(owner)
    earlier = [feed.signal_reviewed(owner, signal, "pending", "rejected", 2),
               feed.signal_updated(owner, signal, "rejected", "pending", 3),
               feed.signal_reviewed(owner, signal, "pending", "approved", 4)]
    recorded = outcome(feed, owner, signal, "won", "1.20", version=7)
    mongo.database("users")["user_signal_outcomes"].delete_many({"_id": signal})
    mongo.database("users")["user_signal_states"].delete_many({"_id": signal})
    forget_processed_ids()

    events.deliver(recorded)
    assert (record(client, owner)["won"], record(client, owner)["total_r"]) == (1, "1.20")
    for event in earlier:
        events.deliver(event)
        assert (record(client, owner)["won"], record(client, owner)["total_r"]) == (1, "1.20"), event.data


def test_the_cached_own_profile_shows_a_new_outcome_at_once(feed, as_user):
    owner = feed.registered()
    caller = as_user(owner)
    signal = approved_signal(feed, owner)
    assert caller.get(ME).json()["track_record"] == {**EMPTY, "last_30_days": EMPTY}
    # Cached: a write behind the app's back is not seen ...
    mongo.database("users")["user_profiles"].update_one({"_id": owner}, {"$set": {"bio": "sneaky"}})
    assert caller.get(ME).json()["bio"] == ""

    outcome(feed, owner, signal, "won", "2.00")  # ... but an outcome drops the cached copy
    body = caller.get(ME).json()
    assert body["bio"] == "sneaky"
    assert (body["track_record"]["won"], body["track_record"]["last_30_days"]["total_r"]) == (1, "2.00")

    feed.signal_reviewed(owner, signal, "approved", "rejected", 4)  # and so does taking it off the record
    assert caller.get(ME).json()["track_record"]["closed"] == 0


def test_a_cached_own_profile_follows_the_moving_window_within_the_cache_ttl(feed, as_user, settings):
    """No event marks an outcome leaving the last 30 days: the cached entry's lifetime bounds how late it shows."""
    settings.CACHE_TTL_SECONDS = 1
    owner = feed.registered()
    caller = as_user(owner)
    signal = approved_signal(feed, owner)
    outcome(feed, owner, signal, "won", "2.00")
    assert caller.get(ME).json()["track_record"]["last_30_days"]["closed"] == 1  # cached now
    month_ago = datetime.now(UTC) - timedelta(days=31)  # as if a month had passed
    mongo.database("users")["user_signal_outcomes"].update_one({"_id": signal}, {"$set": {"closed_at": month_ago}})

    def moved_on():
        found = caller.get(ME).json()["track_record"]
        return found["closed"] == 1 and found["last_30_days"]["closed"] == 0

    wait_until(moved_on, timeout=10, message="the cached profile to expire and show the window moved on")


def test_the_public_profile_documents_the_track_record(client):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    components = schema["components"]["schemas"]

    def resolve(node: dict) -> dict:
        ref = node.get("$ref") or next((part["$ref"] for part in node.get("allOf", ()) if "$ref" in part), None)
        return components[ref.rsplit("/", 1)[1]] if ref else node

    operation = schema["paths"]["/api/v1/users/{user_id}"]["get"]
    profile = resolve(operation["responses"]["200"]["content"]["application/json"]["schema"])
    track = resolve(profile["properties"]["track_record"])
    keys = {"closed", "won", "lost", "expired", "win_rate", "average_r", "total_r"}
    assert set(track["properties"]) == keys | {"last_30_days"} and "track_record" in profile["required"]
    window = resolve(track["properties"]["last_30_days"])
    assert set(window["properties"]) == keys and set(window["required"]) == keys
    assert track["properties"]["win_rate"].get("nullable") is True
    assert track["properties"]["closed"]["type"] == "integer" and track["properties"]["total_r"]["type"] == "string"
    me = resolve(schema["paths"]["/api/v1/users/me"]["get"]["responses"]["200"]["content"]["application/json"][
        "schema"])
    assert "track_record" in me["properties"]
