"""Domain events: one publishing API for every app; the backend is a setting.

Producers write their change and its events in one MongoDB transaction::

    with events.atomic("signals") as session:
        TradeSignal._get_collection().insert_one(doc, session=session)
        events.publish("trade_signal.created", key=signal_id, data={...}, producer="signals")

``publish`` records the event in the producer's ``event_outbox`` collection inside the same transaction
(the transactional outbox), so a change is never committed without its event and an event never exists
without its change. After the commit the outbox entries are dispatched; the in-process backend delivers
them to the subscribed handlers of the enabled apps right away. Consumers register with
``subscribe(type, handler, app=...)`` in their ``receivers.py``.
"""
from __future__ import annotations

import logging
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime

from tradesignals.kernel.context import current_request_id

logger = logging.getLogger(__name__)
OUTBOX_COLLECTION = "event_outbox"


def _now_iso() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


@dataclass(frozen=True)
class Event:
    type: str
    key: str
    data: dict
    producer: str
    version: int = 1
    id: str = field(default_factory=lambda: str(uuid.uuid4()))
    occurred_at: str = field(default_factory=_now_iso)
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
    from tradesignals.kernel import mongo

    return mongo.database(alias)[OUTBOX_COLLECTION]


@contextmanager
def atomic(alias: str) -> Iterator[object]:
    """A MongoDB transaction on ``alias``; events published inside are committed with the change."""
    from mongoengine.connection import get_connection

    if _current_tx.get() is not None:
        raise RuntimeError("events.atomic() does not nest")
    client = get_connection(alias)
    with client.start_session() as session:
        tx = _Transaction(alias=alias, session=session)
        token = _current_tx.set(tx)
        try:
            with session.start_transaction():
                yield session
        finally:
            _current_tx.reset(token)
    _dispatch(alias, tx.events)


def publish(event_type: str, *, key: str, data: dict, producer: str, version: int = 1) -> Event:
    """Record an event in the producer's outbox (inside the current ``atomic`` block when there is one)."""
    event = Event(type=event_type, key=str(key), data=data, producer=producer, version=version)
    entry = {"_id": event.id, "envelope": event.to_dict(), "key": event.key, "status": "pending",
             "created_at": datetime.now(UTC), "attempts": 0}
    tx = _current_tx.get()
    if tx is not None:
        _outbox(tx.alias).insert_one(entry, session=tx.session)
        tx.events.append(event)
    else:
        _outbox(producer).insert_one(entry)
        _dispatch(producer, [event])
    return event


def deliver(event: Event) -> None:
    """Run every subscribed handler for ``event``; a failing handler is logged and does not stop others."""
    for app, handler in subscribers(event.type):
        try:
            handler(event)
        except Exception:
            logger.exception("event handler failed", extra={"event_type": event.type, "consumer": app})


def _dispatch(alias: str, events: list[Event]) -> None:
    """In-process backend: deliver committed events now and mark them sent."""
    for event in events:
        deliver(event)
        _outbox(alias).update_one({"_id": event.id}, {"$set": {"status": "sent", "sent_at": datetime.now(UTC)}})
