"""Event bus backends, chosen by ``settings.EVENT_BUS``: ``inprocess``, ``redis`` (Streams) or ``kafka``.

A backend does two jobs. ``send(entries)`` hands outbox entries (in ``seq`` order) to the broker and says,
per entry, whether it was accepted; ``consumer(app, types, stop)`` returns a loop that delivers the broker's
messages to one consuming app's handlers. ``status()`` reports per-group lag and dead letters.
"""
from __future__ import annotations

import enum
import threading
from dataclasses import dataclass

from django.conf import settings


class BrokerUnavailable(Exception):
    """The broker could not be reached; nothing of the batch is known to be accepted."""


class Verdict(enum.Enum):
    SENT = "sent"          # the broker (or the in-process handlers) has it
    DEAD = "dead"          # settled by dead-lettering (in-process handlers that kept failing)
    RETRY = "retry"        # try again later


@dataclass(frozen=True)
class SendResult:
    verdict: Verdict
    error: str | None = None


class Backend:
    name = "base"
    # Broker backends hold back a key's later events while an earlier one waits to be sent.
    strict_key_order = True

    def send(self, entries: list[dict]) -> dict[str, SendResult]:
        raise NotImplementedError

    def consumer(self, app: str, types: list[str], stop: threading.Event):
        raise NotImplementedError

    def status(self, apps: dict[str, list[str]]) -> dict:
        raise NotImplementedError


def get() -> Backend:
    bus = settings.EVENT_BUS
    if bus == "redis":
        from tradesignals.kernel.events.backends.redis_streams import RedisStreamsBackend

        return RedisStreamsBackend()
    if bus == "kafka":
        from tradesignals.kernel.events.backends.kafka import KafkaBackend

        return KafkaBackend()
    from tradesignals.kernel.events.backends.inprocess import InProcessBackend

    return InProcessBackend()
