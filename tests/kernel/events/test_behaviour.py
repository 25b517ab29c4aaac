"""One behaviour suite, run on every backend (inprocess, Redis Streams, Kafka)."""
from __future__ import annotations

import signal

import pytest

from tests.kernel.events import probe
from tests.support.servers import wait_until
from tradesignals.kernel.events import backends, outbox


def test_published_events_are_consumed_once_in_key_order(bus):
    consumer = bus.consume()
    published = [probe.publish(n, key="user-1") for n in (1, 2, 3)]
    other = probe.publish(7, key="user-2")

    wait_until(lambda: len(probe.effects()) == 4, timeout=20, message="all four events to be handled")
    wait_until(bus.drained, timeout=10, message="the bus to be drained")
    consumer.close()
    assert probe.effects() == {e.id: 1 for e in [*published, other]}
    assert probe.order("user-1") == [1, 2, 3]
    assert bus.outbox_pending() == 0


def test_duplicate_delivery_has_one_effect(bus):
    bus.consume()
    event = probe.publish(1)
    wait_until(lambda: probe.effects().get(event.id) == 1, timeout=20, message="the event to be handled")
    wait_until(bus.drained, timeout=10, message="the bus to be drained")

    # The relay crashed after sending but before marking the entry sent: the same entry goes out again.
    entry = outbox.collection("signals").find_one({"_id": event.id})
    backends.get().send([entry])
    # A later event of the same key is consumed after the duplicate (same stream / partition, in order).
    sentinel = probe.publish(2)
    wait_until(lambda: probe.effects().get(sentinel.id) == 1, timeout=20, message="the sentinel to be handled")
    assert probe.effects() == {event.id: 1, sentinel.id: 1}
    assert probe.runs(event.id) == 1  # skipped by id, the handler did not even run again


def test_poison_event_is_dead_lettered_after_n_tries_while_others_flow(bus):
    bus.consume()
    poison = probe.publish(1, mode="fail", key="poison")
    good = [probe.publish(n, key=f"good-{n}") for n in (2, 3)]

    wait_until(lambda: all(probe.effects().get(e.id) == 1 for e in good), timeout=20,
               message="the healthy events to be handled")
    wait_until(lambda: bus.dead_letters() == 1, timeout=20, message="the poison event to be dead-lettered")
    assert probe.runs(poison.id) == 3  # EVENT_MAX_ATTEMPTS
    assert poison.id not in probe.effects()

    # The consumer is still alive and handles what comes next.
    later = probe.publish(4, key="poison")
    wait_until(lambda: probe.effects().get(later.id) == 1, timeout=20, message="a later event to be handled")
    wait_until(bus.drained, timeout=10, message="the bus to be drained")
    assert probe.runs(poison.id) == 3 and bus.dead_letters() == 1


# The in-process bus only carries events that publish() validated in the same process.
@pytest.mark.parametrize("bus", ["redis", "kafka"], indirect=True)
def test_invalid_payload_on_consume_is_dead_lettered_without_running_the_handler(bus):
    bus.consume()
    envelope = probe.publish(1).to_dict()
    bad = {**envelope, "id": "5b0e1c1e-0d7c-4c5e-9d55-0a3c6f1e2b7a", "data": {"n": "one", "mode": "ok"}}
    backends.get().send([{"_id": bad["id"], "type": bad["type"], "key": bad["key"], "envelope": bad}])
    good = probe.publish(2)

    wait_until(lambda: bus.dead_letters() == 1, timeout=20, message="the invalid event to be dead-lettered")
    wait_until(lambda: probe.effects().get(good.id) == 1, timeout=20, message="the next event to be handled")
    assert probe.runs(bad["id"]) == 0


def test_consumer_killed_mid_handling_redelivers_and_handles_once(bus):
    if bus.name == "inprocess":
        # In-process, the consumer is the producer's process: it dies after the commit, mid-handler.
        proc = bus.spawn("shell", "-c", "from tests.kernel.events import probe; probe.publish(1, mode='hang_once')")
    else:
        proc = bus.spawn("run_consumers", "--app", probe.APP, "--no-relay", "--import", "tests.kernel.events.probe")
        probe.publish(1, mode="hang_once")
    wait_until(lambda: probe._db()["probe_hangs"].count_documents({}) == 1, timeout=30,
               message="the handler to be in progress")
    event_id = probe._db()["probe_hangs"].find_one()["_id"]
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    assert probe.effects() == {}

    bus.consume()  # a fresh consumer (and relay) takes over after the dead one's lease expires
    wait_until(lambda: probe.effects().get(event_id) == 1, timeout=40, message="the event to be redelivered")
    wait_until(bus.drained, timeout=20, message="the bus to be drained")
    assert probe.effects() == {event_id: 1}
    assert probe.runs(event_id) == 2


# The in-process bus has no broker to lose.
@pytest.mark.parametrize("bus", ["redis", "kafka"], indirect=True)
def test_broker_down_during_publish_keeps_the_event_in_the_outbox_until_it_returns(bus, request):
    if bus.name == "redis":
        bus.redis = request.getfixturevalue("private_redis")
        from django.conf import settings

        settings.EVENT_REDIS_URL = bus.overrides["EVENT_REDIS_URL"] = bus.redis.url
        down, up = bus.redis.stop, bus.redis.start
    else:
        down, up = bus.broker.stop, bus.broker.start

    down()
    try:
        event = probe.publish(1)  # the write commits although the broker is unreachable
        assert outbox.collection("signals").find_one({"_id": event.id})["status"] == "pending"
        consumer = bus.consume()
        wait_until(lambda: outbox.collection("signals").find_one({"_id": event.id})["attempts"] >= 1,
                   timeout=15, message="the relay to have tried")
        assert probe.effects() == {}
    finally:
        up()
    wait_until(lambda: probe.effects().get(event.id) == 1, timeout=40, message="delivery after the broker returns")
    wait_until(bus.drained, timeout=20, message="the bus to be drained")
    consumer.close()
    assert outbox.collection("signals").find_one({"_id": event.id})["status"] == "sent"
    assert probe.effects() == {event.id: 1}
