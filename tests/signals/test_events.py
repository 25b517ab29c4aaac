"""Writes publish the events of docs/events.md (through the outbox) and send the Django signals."""
import pytest

from apps.signals import services
from tests.support.signals import BASE, review
from tradesignals.kernel import events, mongo

TYPES = ("trade_signal.created", "trade_signal.updated", "trade_signal.status_changed", "trade_signal.deleted")


@pytest.fixture
def published():
    seen = []
    for event_type in TYPES:
        events.subscribe(event_type, seen.append, app="tests")
    yield seen
    for event_type in TYPES:
        events._subscribers[event_type][:] = [s for s in events._subscribers[event_type] if s[0] != "tests"]


@pytest.fixture
def django_signals():
    sent = []

    def record(signal, name):
        def handler(sender, **kwargs):
            sent.append((name, kwargs.get("change")))
        signal.connect(handler, weak=False, dispatch_uid=f"test-{name}")
        return signal, f"test-{name}"

    connected = [record(services.signal_saved, "saved"), record(services.signal_deleted, "deleted"),
                 record(services.signal_status_changed, "status_changed")]
    yield sent
    for signal, uid in connected:
        signal.disconnect(dispatch_uid=uid)


def test_lifecycle_events_and_payloads(owner, admin, published, django_signals):
    signal = owner.create()
    sid = signal["id"]
    review(admin, sid, "approved", reason=None)
    owner.send("PATCH", f"{BASE}/{sid}", {"rationale": "changed"})
    review(admin, sid, "rejected", reason="Nope")
    owner.send("DELETE", f"{BASE}/{sid}")
    assert [(e.type, e.key, e.producer) for e in published] == [
        ("trade_signal.created", sid, "signals"),
        ("trade_signal.status_changed", sid, "signals"),
        ("trade_signal.updated", sid, "signals"),
        ("trade_signal.status_changed", sid, "signals"),
        ("trade_signal.deleted", sid, "signals"),
    ]
    data = [e.data for e in published]
    assert data[0] == {"signal_id": sid, "owner_id": owner.user_id, "symbol": "BTC/USDT", "direction": "long",
                       "timeframe": "4h", "status": "pending"}
    assert data[1] == {"signal_id": sid, "owner_id": owner.user_id, "symbol": "BTC/USDT", "old_status": "pending",
                       "new_status": "approved", "reason": None, "reviewed_by": admin.user_id, "version": 2}
    assert data[2] == {"signal_id": sid, "owner_id": owner.user_id, "old_status": "approved",
                       "new_status": "pending", "version": 3, "symbol": "BTC/USDT", "direction": "long",
                       "timeframe": "4h"}
    assert data[3]["old_status"] == "pending" and data[3]["new_status"] == "rejected" and data[3]["reason"] == "Nope"
    assert data[4] == {"signal_id": sid, "owner_id": owner.user_id, "status": "rejected"}
    outbox = mongo.database("signals")[events.OUTBOX_COLLECTION]
    assert {e.id for e in published} <= {doc["_id"] for doc in outbox.find({}, {"_id": 1})}

    assert [name for name, _ in django_signals] == ["saved", "status_changed", "saved", "status_changed", "deleted"]
    saved_after_approval = django_signals[2][1]
    assert saved_after_approval.old_status == "approved" and saved_after_approval.new_status == "pending"
    assert saved_after_approval.was_public and not saved_after_approval.is_public


def test_refused_write_publishes_nothing(owner, admin, published, django_signals):
    signal = owner.create()
    published.clear()
    django_signals.clear()
    assert owner.send("PATCH", f"{BASE}/{signal['id']}", {"rationale": "x"},
                      headers={"If-Match": '"v9"'}).status_code == 412
    assert review(admin, signal["id"], "rejected", reason=None).status_code == 400
    assert published == [] and django_signals == []


def test_owner_name_comes_from_the_token(make_caller):
    caller = make_caller("user", name="Grace Trader")
    assert caller.create()["owner_name"] == "Grace Trader"
