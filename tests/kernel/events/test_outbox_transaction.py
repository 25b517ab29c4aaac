"""The in-process bus: a change and its event commit together; handlers see committed events only."""
import pytest

from tradesignals.kernel import events, mongo


@pytest.fixture
def received():
    seen = []
    events.register_schema("test.happened", {"type": "object"})
    events.subscribe("test.happened", seen.append, app="tests")
    yield seen
    events._subscribers["test.happened"].clear()
    events.unregister_schema("test.happened")


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


def test_invalid_payload_is_refused_at_publish_and_nothing_is_written():
    coll = mongo.database("signals")["test_things"]
    with pytest.raises(events.EventSchemaError, match="symbol"), events.atomic("signals") as session:
        coll.insert_one({"_id": "t3"}, session=session)
        events.publish("trade_signal.deleted", key="s1", producer="signals",
                       data={"signal_id": "s1", "owner_id": "u1", "status": "pending", "symbol": "BTC"})
    assert coll.count_documents({}) == 0
    assert mongo.database("signals")[events.OUTBOX_COLLECTION].count_documents({}) == 0


def test_unknown_event_type_is_refused_at_publish():
    with pytest.raises(events.EventSchemaError, match="unknown event type"):
        events.publish("trade_signal.exploded", key="s1", data={}, producer="signals")
    assert mongo.database("signals")[events.OUTBOX_COLLECTION].count_documents({}) == 0


