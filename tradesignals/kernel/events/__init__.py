"""Domain events: one publishing API for every app; the backend is a setting.

Producers write their change and its events in one MongoDB transaction::

    with events.atomic("signals") as session:
        TradeSignal._get_collection().insert_one(doc, session=session)
        events.publish("trade_signal.created", key=signal_id, data={...}, producer="signals")

``publish`` validates the event against its schema (``registry``; an invalid one raises
``EventSchemaError``) and records it in the producer's ``event_outbox`` collection inside the same
transaction (the transactional outbox), so a change is never committed without its event and an event never
exists without its change. After the commit the new entries are handed to the backend chosen by
``EVENT_BUS`` (``relay.after_commit``): the in-process backend runs the subscribed handlers right away, the
redis/kafka backends send to the broker; whatever could not be sent waits in the outbox for the relay loop
(``manage.py run_relay`` / ``run_consumers``). Consumers register with ``subscribe(type, handler, app=...)``
in their ``receivers.py``; ``manage.py run_consumers`` runs them for the redis/kafka backends.
"""
from __future__ import annotations

import logging
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import asdict, dataclass, field

from tradesignals.kernel.clock import isoformat, utcnow
from tradesignals.kernel.context import current_request_id
from tradesignals.kernel.events.outbox import OUTBOX_COLLECTION
from tradesignals.kernel.events.registry import EventSchemaError, register_schema, unregister_schema

logger = logging.getLogger(__name__)
__all__ = ["OUTBOX_COLLECTION", "Event", "EventSchemaError", "atomic", "deliver", "publish", "register_schema",
           "subscribe", "subscribers", "time_us", "unregister_schema"]


def time_us(occurred_at: str) -> int:
    """An event's RFC 3339 ``occurred_at`` as epoch microseconds: the ordering stamp projections keep with each fact
    (a naive time is UTC)."""
    from datetime import UTC, datetime

    moment = datetime.fromisoformat(occurred_at)
    moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1_000_000)


def _occurred_now() -> str:
    # An ordering stamp, never stored as a date: exact, so two facts of one millisecond keep their order.
    return isoformat(utcnow(exact=True))


@dataclass(frozen=True)
class Event:
    type: str
    key: str
    data: dict
    producer: str
    version: int = 1
    id: str = field(default_factory=lambda: str(uuid.uuid4()))
    occurred_at: str = field(default_factory=_occurred_now)
    request_id: str | None = field(default_factory=current_request_id)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, raw: dict) -> Event:
        fields = ("type", "key", "data", "producer", "version", "id", "occurred_at", "request_id")
        return cls(**{name: raw[name] for name in fields})


Handler = Callable[[Event], None]
_subscribers: dict[str, list[tuple[str, Handler]]] = defaultdict(list)


def subscribe(event_type: str, handler: Handler, *, app: str) -> None:
    """Register ``handler`` of consuming ``app`` for ``event_type`` (idempotent)."""
    if (app, handler) not in _subscribers[event_type]:
        _subscribers[event_type].append((app, handler))


def subscribers(event_type: str) -> list[tuple[str, Handler]]:
    return list(_subscribers.get(event_type, ()))


@dataclass
class _Transaction:
    alias: str
    session: object
    events: list[Event] = field(default_factory=list)


_current_tx: ContextVar[_Transaction | None] = ContextVar("events_tx", default=None)


def _outbox(alias: str):
    from tradesignals.kernel.events import outbox

    return outbox.collection(alias)


@contextmanager
def atomic(alias: str) -> Iterator[object]:
    """A MongoDB transaction on ``alias``; events published inside are committed with the change."""
    from mongoengine.connection import get_connection

    from tradesignals.kernel import mongo
    from tradesignals.kernel.events import outbox

    if _current_tx.get() is not None:
        raise RuntimeError("events.atomic() does not nest")
    outbox.ensure_indexes(alias)  # index builds may not run inside a transaction
    client = get_connection(alias)
    with client.start_session() as session:
        tx = _Transaction(alias=alias, session=session)
        token = _current_tx.set(tx)
        try:
            with session.start_transaction(**mongo.transaction_options()):
                yield session
        finally:
            _current_tx.reset(token)
    _dispatch(alias, tx.events)


def publish(event_type: str, *, key: str, data: dict, producer: str, version: int = 1) -> Event:
    """Validate an event and record it in the producer's outbox (inside the current ``atomic`` block if any).

    Outside ``atomic`` the entry is written on its own to the ``producer`` alias and dispatched at once.
    """
    from tradesignals.kernel.events import outbox, registry

    event = Event(type=event_type, key=str(key), data=data, producer=producer, version=version)
    envelope = event.to_dict()
    registry.validate_envelope(envelope)  # a programming error: raise before anything is written
    entry = outbox.new_entry(envelope)
    tx = _current_tx.get()
    if tx is not None:
        _outbox(tx.alias).insert_one(entry, session=tx.session)
        tx.events.append(event)
    else:
        outbox.ensure_indexes(producer)
        _outbox(producer).insert_one(entry)
        _dispatch(producer, [event])
    return event


def publish_many(items: list[tuple[str, str, dict]], *, producer: str, version: int = 1) -> list[Event]:
    """``publish`` for many ``(event_type, key, data)`` at once inside an ``atomic`` block: one outbox insert for
    all of them (what a batch job needs: one round trip, not one per event)."""
    from tradesignals.kernel.events import outbox, registry

    tx = _current_tx.get()
    if tx is None:
        raise RuntimeError("events.publish_many() runs inside events.atomic()")
    published, entries = [], []
    for event_type, key, data in items:
        event = Event(type=event_type, key=str(key), data=data, producer=producer, version=version)
        envelope = event.to_dict()
        registry.validate_envelope(envelope)
        entries.append(outbox.new_entry(envelope))
        published.append(event)
    if entries:
        _outbox(tx.alias).insert_many(entries, ordered=True, session=tx.session)
        tx.events.extend(published)
    return published


def deliver(event: Event) -> None:
    """Run every subscribed handler for ``event`` now, in this process (validated, idempotent by event id).

    A failing handler is logged and does not stop the others; it is not retried (the relay retries outbox
    entries, not direct deliveries).
    """
    from tradesignals.kernel.events.backends.inprocess import deliver_envelope

    deliver_envelope(event.to_dict())


def _dispatch(alias: str, events: list[Event]) -> None:
    """After the commit: hand the new outbox entries to the backend (best effort; the relay does the rest)."""
    from tradesignals.kernel.events import relay

    if events:
        relay.after_commit(alias, {event.key for event in events})
