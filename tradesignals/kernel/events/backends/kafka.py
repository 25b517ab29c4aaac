"""Kafka backend (confluent-kafka): one topic per event type, one consumer group per consuming app.

Topic ``<KAFKA_TOPIC_PREFIX><type>``, keyed by the event key (same key → same partition → order kept);
group ``<KAFKA_GROUP_PREFIX><app>``; dead letters go to ``<KAFKA_TOPIC_PREFIX>dead-letter.<app>``. Offsets are
committed only after the app's handlers succeeded (or the message was dead-lettered); a failing handler is
retried in place with backoff, so a partition's order holds, and dead-lettered after ``EVENT_MAX_ATTEMPTS``.
"""
from __future__ import annotations

import json
import logging
import threading

from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic
from django.conf import settings

from tradesignals.kernel.events.backends import Backend, BrokerUnavailable, SendResult, Verdict
from tradesignals.kernel.events.backends.inprocess import handlers_for
from tradesignals.kernel.events.processing import process

logger = logging.getLogger("tradesignals.events")
kafka_logger = logging.getLogger("tradesignals.events.kafka")
_producers: dict[tuple, Producer] = {}
_lock = threading.Lock()


def client_config() -> dict:
    conf = {"bootstrap.servers": settings.KAFKA_BOOTSTRAP_SERVERS,
            "security.protocol": settings.KAFKA_SECURITY_PROTOCOL, "logger": kafka_logger}
    if settings.KAFKA_SASL_MECHANISM:
        conf.update({"sasl.mechanism": settings.KAFKA_SASL_MECHANISM,
                     "sasl.username": settings.KAFKA_SASL_USERNAME, "sasl.password": settings.KAFKA_SASL_PASSWORD})
    if settings.KAFKA_SSL_CA_LOCATION:
        conf["ssl.ca.location"] = settings.KAFKA_SSL_CA_LOCATION
    return conf


def producer() -> Producer:
    key = (settings.KAFKA_BOOTSTRAP_SERVERS, settings.KAFKA_SECURITY_PROTOCOL, settings.EVENT_PUBLISH_TIMEOUT_MS)
    with _lock:
        if key not in _producers:
            _producers[key] = Producer({
                **client_config(), "enable.idempotence": True, "acks": "all", "linger.ms": 2,
                "message.timeout.ms": settings.EVENT_PUBLISH_TIMEOUT_MS,
            })
        return _producers[key]


def topic_name(event_type: str) -> str:
    return f"{settings.KAFKA_TOPIC_PREFIX}{event_type}"


def dead_letter_topic(app: str) -> str:
    return f"{settings.KAFKA_TOPIC_PREFIX}dead-letter.{app}"


def group_name(app: str) -> str:
    return f"{settings.KAFKA_GROUP_PREFIX}{app}"


def ensure_topics(topics: list[str]) -> None:
    """Create missing topics (one partition per key space is plenty here; brokers may auto-create too)."""
    admin = AdminClient(client_config())
    futures = admin.create_topics([NewTopic(t, num_partitions=1, replication_factor=1) for t in topics],
                                  operation_timeout=5, request_timeout=10)
    for topic, future in futures.items():
        try:
            future.result(timeout=10)
        except KafkaException as exc:
            if exc.args[0].code() != KafkaError.TOPIC_ALREADY_EXISTS:
                logger.warning("could not create topic", extra={"topic": topic, "error": str(exc)})


def _produce(messages: list[tuple[str, str, str, bytes]]) -> dict[str, str | None]:
    """Produce (id, topic, key, value) and wait; return id → error text (None when delivered)."""
    outcome: dict[str, str | None] = {}
    prod = producer()

    def callback(ident):
        def on_delivery(err, _msg):
            outcome[ident] = None if err is None else str(err)
        return on_delivery

    for ident, topic, key, value in messages:
        try:
            prod.produce(topic, key=key.encode(), value=value, on_delivery=callback(ident))
        except BufferError:
            prod.poll(0.1)
            prod.produce(topic, key=key.encode(), value=value, on_delivery=callback(ident))
    prod.flush(settings.EVENT_PUBLISH_TIMEOUT_MS / 1000 + 1)
    for ident, *_ in messages:
        outcome.setdefault(ident, "delivery not confirmed in time")
    if any(error is not None for error in outcome.values()):
        _discard(prod)
    return outcome


def _discard(prod: Producer) -> None:
    """Start the next send with a fresh producer: an idempotent producer whose broker lost its state (a
    restart, a failover) fails fatally until it is recreated."""
    with _lock:
        for key, cached in list(_producers.items()):
            if cached is prod:
                del _producers[key]
    try:
        prod.purge()
    except Exception:  # noqa: S110 - best effort on a producer we are dropping anyway
        pass


class KafkaBackend(Backend):
    name = "kafka"

    def send(self, entries: list[dict]) -> dict[str, SendResult]:
        if not entries:
            return {}
        outcome = _produce([(e["_id"], topic_name(e["type"]), e["key"], json.dumps(e["envelope"]).encode())
                            for e in entries])
        if all(error is not None for error in outcome.values()):
            raise BrokerUnavailable(f"kafka: {next(iter(outcome.values()))}")
        return {ident: SendResult(Verdict.SENT) if error is None else SendResult(Verdict.RETRY, error)
                for ident, error in outcome.items()}

    def consumer(self, app: str, types: list[str], stop: threading.Event) -> TopicConsumer:
        return TopicConsumer(app, types, stop)

    def status(self, apps: dict[str, list[str]]) -> dict:
        report = {}
        for app, types in apps.items():
            probe = Consumer({**client_config(), "group.id": group_name(app), "enable.auto.commit": False})
            try:
                lag = 0
                for event_type in types:
                    lag += _topic_lag(probe, topic_name(event_type))
                report[app] = {"lag": lag, "dead_letters": _topic_size(probe, dead_letter_topic(app))}
            finally:
                probe.close()
        return report


def _partitions(probe: Consumer, topic: str) -> list[TopicPartition]:
    meta = probe.list_topics(topic, timeout=5).topics.get(topic)
    if meta is None or meta.error is not None:
        return []
    return [TopicPartition(topic, p) for p in meta.partitions]


def _topic_lag(probe: Consumer, topic: str) -> int:
    parts = _partitions(probe, topic)
    if not parts:
        return 0
    lag = 0
    for tp in probe.committed(parts, timeout=5):
        low, high = probe.get_watermark_offsets(tp, timeout=5)
        # Clamped: some Kafka-compatible brokers report the high watermark one below the next offset.
        lag += max(0, high - (tp.offset if tp.offset >= 0 else low))
    return lag


def _topic_size(probe: Consumer, topic: str) -> int:
    total = 0
    for tp in _partitions(probe, topic):
        low, high = probe.get_watermark_offsets(tp, timeout=5)
        total += high - low
    return total


class TopicConsumer:
    """The loop of one consuming app: poll, handle, commit the offset after success."""

    def __init__(self, app: str, types: list[str], stop: threading.Event):
        self.app = app
        self.topics = [topic_name(t) for t in types]
        self.stop = stop

    def run(self) -> None:
        if not self.topics:
            return
        while not self.stop.is_set():
            try:
                self._run_once()
            except Exception as exc:  # broker trouble: restart from the committed offsets
                logger.warning("kafka consumer restarting", extra={"consumer": self.app, "error": str(exc)})
                self.stop.wait(1.0)

    def _run_once(self) -> None:
        ensure_topics(self.topics)
        consumer = Consumer({
            **client_config(), "group.id": group_name(self.app), "enable.auto.commit": False,
            "auto.offset.reset": "earliest", "session.timeout.ms": settings.KAFKA_SESSION_TIMEOUT_MS,
            "heartbeat.interval.ms": max(100, settings.KAFKA_SESSION_TIMEOUT_MS // 10),
            "topic.metadata.refresh.interval.ms": 5000,
        })
        consumer.subscribe(self.topics)
        try:
            while not self.stop.is_set():
                msg = consumer.poll(settings.EVENT_CONSUMER_BLOCK_MS / 1000)
                if msg is None:
                    continue
                if msg.error():
                    if msg.error().code() != KafkaError._PARTITION_EOF:
                        logger.warning("kafka consumer error", extra={"consumer": self.app, "error": str(msg.error())})
                    continue
                if not self._handle(msg):
                    return  # asked to stop while retrying: not committed, redelivered to the group later
                consumer.commit(message=msg, asynchronous=False)
        finally:
            consumer.close()

    def _handle(self, msg) -> bool:
        delay = 0.2
        while True:
            result = process(self.app, msg.value(), handlers_for)
            if result.settled:
                return True
            if result.exhausted:
                self._dead_letter(msg, result.error or result.outcome.value, result.failures)
                return True
            # FAILED with tries left, or BUSY (a crashed run's lease): retry in place, keeping partition order.
            if self.stop.wait(delay):
                return False
            delay = min(delay * 2, settings.EVENT_RETRY_IDLE_MS / 1000)

    def _dead_letter(self, msg, error: str, attempts: int) -> None:
        record = json.dumps({"error": error[:2000], "attempts": attempts, "topic": msg.topic(),
                             "partition": msg.partition(), "offset": msg.offset(),
                             "envelope": (msg.value() or b"").decode(errors="replace")}).encode()
        outcome = _produce([("dlq", dead_letter_topic(self.app), msg.key().decode() if msg.key() else "-", record)])
        if outcome["dlq"] is not None:
            raise BrokerUnavailable(f"kafka dead-letter: {outcome['dlq']}")
        logger.error("event dead-lettered", extra={"consumer": self.app, "topic": msg.topic(), "error": error[:200]})
