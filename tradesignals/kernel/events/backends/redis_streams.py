"""Redis Streams backend: one stream per event type, one consumer group per consuming app.

Stream ``<EVENT_STREAM_PREFIX><type>``; group = the consuming app's name; dead letters go to
``<EVENT_STREAM_PREFIX>dead-letter:<app>``. A message is XACKed only after every handler of the app succeeded
(or it was dead-lettered). A failed or abandoned message stays pending and is reclaimed with XAUTOCLAIM
once idle for ``EVENT_RETRY_IDLE_MS``; after ``EVENT_MAX_ATTEMPTS`` failed runs it is dead-lettered.
Uses its own connection (``EVENT_REDIS_URL``): production points it at a noeviction Redis.

On a Redis Cluster (``REDIS_CLUSTER=true`` or a ``redis+cluster://`` URL) every stream of the deployment shares
one hash tag: the prefix becomes ``{ts:events}:`` unless it already carries a tag. One slot means one
``XREADGROUP`` still blocks on all of a consumer's streams at once and dead-lettering (``XADD`` to the
dead-letter stream + ``XACK``) stays one ``MULTI``; the bus's throughput is then one master's (scale out with
``EVENT_BUS=kafka``). A single Redis keeps the names as they are.
"""
from __future__ import annotations

import functools
import json
import logging
import os
import socket
import threading

import redis
from django.conf import settings

from tradesignals.kernel.events.backends import Backend, BrokerUnavailable, SendResult, Verdict
from tradesignals.kernel.events.backends.inprocess import handlers_for
from tradesignals.kernel.events.processing import process
from tradesignals.kernel.redis_cluster import cluster_client, has_hash_tag, parse_url

logger = logging.getLogger("tradesignals.events")
_clients: dict[tuple, redis.Redis] = {}
_lock = threading.Lock()


@functools.lru_cache(maxsize=8)
def _location(url: str, forced: bool) -> tuple[str, bool]:
    return parse_url(url, forced=forced, setting="EVENT_REDIS_URL")


def _on_cluster() -> tuple[str, bool]:
    return _location(settings.EVENT_REDIS_URL, bool(getattr(settings, "REDIS_CLUSTER", False)))


def client(*, block_ms: int = 0) -> redis.Redis:
    """A pooled client for the events Redis (a ``RedisCluster`` on a cluster); ``block_ms`` widens the read
    timeout for blocking reads."""
    timeout = settings.EVENT_REDIS_TIMEOUT + block_ms / 1000
    url, cluster = _on_cluster()
    options = {"socket_connect_timeout": settings.EVENT_REDIS_TIMEOUT, "socket_timeout": timeout,
               "health_check_interval": 30}
    if cluster:
        return cluster_client(url, **options)
    key = (url, timeout)
    with _lock:
        if key not in _clients:
            _clients[key] = redis.Redis.from_url(url, **options)
        return _clients[key]


def _prefix() -> str:
    prefix = settings.EVENT_STREAM_PREFIX
    if _on_cluster()[1] and not has_hash_tag(prefix):
        # Every stream and dead-letter stream on one slot (see the module docstring).
        return "{" + (prefix.rstrip(":") or "ts:events") + "}:"
    return prefix


def stream_name(event_type: str) -> str:
    return f"{_prefix()}{event_type}"


def dead_letter_stream(app: str) -> str:
    return f"{_prefix()}dead-letter:{app}"


class RedisStreamsBackend(Backend):
    name = "redis"

    def send(self, entries: list[dict]) -> dict[str, SendResult]:
        if not entries:
            return {}
        pipe = client().pipeline(transaction=False)
        for entry in entries:
            pipe.xadd(stream_name(entry["type"]), {"envelope": json.dumps(entry["envelope"])},
                      maxlen=settings.EVENT_STREAM_MAXLEN, approximate=True)
        try:
            pipe.execute()
        except redis.RedisError as exc:
            raise BrokerUnavailable(f"redis: {exc.__class__.__name__}") from exc
        return {entry["_id"]: SendResult(Verdict.SENT) for entry in entries}

    def consumer(self, app: str, types: list[str], stop: threading.Event) -> StreamConsumer:
        return StreamConsumer(app, types, stop)

    def status(self, apps: dict[str, list[str]]) -> dict:
        r = client()
        report = {}
        for app, types in apps.items():
            lag = pending = 0
            for event_type in types:
                try:
                    groups = r.xinfo_groups(stream_name(event_type))
                except redis.ResponseError:  # the stream does not exist yet
                    continue
                for group in groups:
                    if _text(group["name"]) == app:
                        lag += group.get("lag") or 0
                        pending += group.get("pending") or 0
            report[app] = {"lag": lag, "pending": pending, "dead_letters": r.xlen(dead_letter_stream(app))}
        return report


def _text(value) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


class StreamConsumer:
    """The loop of one consuming app: reclaim stuck messages, read new ones, ack after success."""

    batch = 10

    def __init__(self, app: str, types: list[str], stop: threading.Event):
        self.app = app
        self.streams = [stream_name(t) for t in types]
        self.stop = stop
        self.name = f"{socket.gethostname()}-{os.getpid()}-{threading.get_ident()}"
        self.block_ms = settings.EVENT_CONSUMER_BLOCK_MS
        self.r = client(block_ms=self.block_ms)

    def _ensure_groups(self) -> None:
        for stream in self.streams:
            try:
                # From the start of the stream: events published before the group existed are consumed too.
                self.r.xgroup_create(stream, self.app, id="0", mkstream=True)
            except redis.ResponseError as exc:
                if "BUSYGROUP" not in str(exc):
                    raise

    def run(self) -> None:
        if not self.streams:
            return
        ready = False
        while not self.stop.is_set():
            try:
                if not ready:
                    self._ensure_groups()
                    ready = True
                self._reclaim()
                if not self.stop.is_set():
                    self._read_new()
            except redis.RedisError as exc:
                ready = False
                logger.warning("event consumer lost redis, retrying",
                               extra={"consumer": self.app, "error": exc.__class__.__name__})
                self.stop.wait(min(1.0, settings.EVENT_RELAY_INTERVAL_MS / 1000))

    def _read_new(self) -> None:
        replies = self.r.xreadgroup(self.app, self.name, dict.fromkeys(self.streams, ">"),
                                    count=self.batch, block=self.block_ms)
        for stream, messages in replies or []:
            for msg_id, fields in messages:
                if self.stop.is_set():
                    return  # left pending: reclaimed by a consumer after EVENT_RETRY_IDLE_MS
                self._handle(_text(stream), msg_id, fields)

    def _reclaim(self) -> None:
        for stream in self.streams:
            reply = self.r.xautoclaim(stream, self.app, self.name, min_idle_time=settings.EVENT_RETRY_IDLE_MS,
                                      start_id="0-0", count=self.batch)
            messages = reply[1] if len(reply) > 1 else []
            for msg_id, fields in messages:
                if self.stop.is_set():
                    return
                if not fields:  # trimmed away while pending
                    self.r.xack(stream, self.app, msg_id)
                    continue
                self._handle(stream, msg_id, fields)

    def _handle(self, stream: str, msg_id, fields: dict) -> None:
        raw = fields.get(b"envelope") or fields.get("envelope") or b""
        result = process(self.app, raw, handlers_for)
        if result.settled:
            self.r.xack(stream, self.app, msg_id)
        elif result.exhausted:
            self._dead_letter(stream, msg_id, raw, result.error or result.outcome.value, result.failures)
        # FAILED with tries left, or BUSY: stays pending; XAUTOCLAIM brings it back after the idle time.

    def _dead_letter(self, stream: str, msg_id, raw, error: str, attempts: int) -> None:
        pipe = self.r.pipeline(transaction=True)
        pipe.xadd(dead_letter_stream(self.app),
                  {"envelope": raw, "error": error[:2000], "stream": stream, "message_id": msg_id,
                   "attempts": attempts}, maxlen=settings.EVENT_STREAM_MAXLEN, approximate=True)
        pipe.xack(stream, self.app, msg_id)
        pipe.execute()
        logger.error("event dead-lettered", extra={"consumer": self.app, "stream": stream, "error": error[:200]})
