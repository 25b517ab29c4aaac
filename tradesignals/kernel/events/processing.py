"""Consume one message for one app: validate, skip what was handled, run the app's handlers.

Every backend calls ``process`` and maps the outcome onto its own acknowledgement: DONE/DUPLICATE → ack,
INVALID → dead-letter at once (retrying cannot fix a payload), FAILED → retry and dead-letter after
``EVENT_MAX_ATTEMPTS``, BUSY → leave it (another live consumer holds the lease) and look again later.
"""
from __future__ import annotations

import enum
import logging
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings

from tradesignals.kernel.context import request_id_var
from tradesignals.kernel.events import inbox, registry

logger = logging.getLogger("tradesignals.events")


class Outcome(enum.Enum):
    DONE = "done"
    DUPLICATE = "duplicate"
    FAILED = "failed"
    INVALID = "invalid"
    BUSY = "busy"


@dataclass(frozen=True)
class Result:
    outcome: Outcome
    error: str | None = None
    envelope: dict | None = None
    failures: int = 0  # failed runs so far of the app's worst handler for this event

    @property
    def exhausted(self) -> bool:
        """A failure that used up ``EVENT_MAX_ATTEMPTS``: dead-letter it instead of retrying."""
        return self.outcome is Outcome.INVALID or (
            self.outcome is Outcome.FAILED and self.failures >= settings.EVENT_MAX_ATTEMPTS)

    @property
    def settled(self) -> bool:
        """True when the message may be acknowledged."""
        return self.outcome in (Outcome.DONE, Outcome.DUPLICATE)


def handler_name(handler: Callable) -> str:
    return f"{getattr(handler, '__module__', '?')}.{getattr(handler, '__qualname__', repr(handler))}"


def process(app: str, raw, handlers_for: Callable[[str, str], list]) -> Result:
    """Handle ``raw`` (envelope dict/bytes/str) for consuming ``app``; ``handlers_for(app, type)`` lists handlers."""
    from tradesignals.kernel.events import Event

    try:
        envelope = registry.validate_envelope(raw)
    except registry.EventSchemaError as exc:
        logger.error("invalid event dead-lettered", extra={"consumer": app, "error": str(exc)})
        return Result(Outcome.INVALID, str(exc), raw if isinstance(raw, dict) else None)
    event = Event.from_dict(envelope)
    failed: str | None = None
    busy = False
    ran = False
    failures = 0
    token = request_id_var.set(event.request_id)
    try:
        for handler in handlers_for(app, event.type):
            name = handler_name(handler)
            state, earlier = inbox.claim(app, name, event.id)
            if state is inbox.Claim.DONE:
                continue
            if state is inbox.Claim.BUSY:
                busy = True
                continue
            if earlier >= settings.EVENT_MAX_ATTEMPTS:  # e.g. it crashed the consumer every time
                inbox.fail(app, name, event.id)
                failures = max(failures, earlier)
                failed = f"{name}: gave up after {earlier} failed runs"
                continue
            try:
                handler(event)
            except Exception as exc:
                failures = max(failures, inbox.fail(app, name, event.id))
                failed = f"{name}: {exc.__class__.__name__}: {exc}"
                logger.exception("event handler failed",
                                 extra={"consumer": app, "event_type": event.type, "event_id": event.id})
                continue
            inbox.complete(app, name, event.id)
            ran = True
    finally:
        request_id_var.reset(token)
    if failed:
        return Result(Outcome.FAILED, failed, envelope, failures)
    if busy:
        return Result(Outcome.BUSY, None, envelope)
    return Result(Outcome.DONE if ran else Outcome.DUPLICATE, None, envelope)
