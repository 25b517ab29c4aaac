"""The in-process bus: a change and its event commit together; handlers see committed events only."""
import pytest

from tradesignals.kernel import events, mongo


@pytest.fixture
def received():
    seen = []
    events.subscribe("test.happened", seen.append, app="tests")
    yield seen
    events._subscribers["test.happened"].clear()


def test_event_published_in_a_transaction_is_delivered_after_commit(received):
    coll = mongo.database("signals")["test_things"]
    with events.atomic("signals") as session:
        coll.insert_one({"_id": "t1"}, session=session)
        event = events.publish("test.happened", key="t1", data={"n": 1}, producer="signals")
        assert received == []  # nothing is delivered before the commit
    assert [e.id for e in received] == [event.id]
    assert received[0].data == {"n": 1} and received[0].producer == "signals"
    outbox = mongo.database("signals")[events.OUTBOX_COLLECTION].find_one({"_id": event.id})
    assert outbox["status"] == "sent" and outbox["envelope"]["type"] == "test.happened"


def test_rolled_back_change_publishes_nothing(received):
    coll = mongo.database("signals")["test_things"]
    with pytest.raises(RuntimeError), events.atomic("signals") as session:
        coll.insert_one({"_id": "t2"}, session=session)
        events.publish("test.happened", key="t2", data={}, producer="signals")
        raise RuntimeError("boom")
    assert received == []
    assert coll.count_documents({"_id": "t2"}) == 0
    assert mongo.database("signals")[events.OUTBOX_COLLECTION].count_documents({}) == 0


def test_envelope_fields():
    event = events.Event(type="x.y", key="k", data={}, producer="accounts")
    assert set(event.to_dict()) == {"id", "type", "version", "occurred_at", "producer", "key", "data", "request_id"}
    assert events.Event.from_dict(event.to_dict()) == event
