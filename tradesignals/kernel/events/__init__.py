"""Domain events: one publishing API for every app; the backend is a setting.

Apps call ``publish(type, key=..., data=..., producer=...)`` and register handlers with
``subscribe(type, handler, app=...)`` in their ``receivers.py``. The in-process backend delivers
synchronously to the subscribed handlers of the enabled apps, after the producer's write.
"""
from __future__ import annotations

import logging
import uuid
from collections import defaultdict
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime

from tradesignals.kernel.context import current_request_id

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Event:
    type: str
    key: str
    data: dict
    producer: str
    version: int = 1
    id: str = field(default_factory=lambda: str(uuid.uuid4()))
    occurred_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat().replace("+00:00", "Z"))
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


def publish(event_type: str, *, key: str, data: dict, producer: str, version: int = 1) -> Event:
    """Publish an event. In-process: every subscribed handler runs now; a failing handler is logged
    and does not undo the producer's committed change."""
    event = Event(type=event_type, key=str(key), data=data, producer=producer, version=version)
    for app, handler in subscribers(event_type):
        try:
            handler(event)
        except Exception:
            logger.exception("event handler failed", extra={"event_type": event_type, "consumer": app})
    return event
