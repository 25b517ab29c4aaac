"""The outbox relay: hand pending outbox entries to the backend in ``seq`` order and mark them sent.

``flush`` runs right after a commit (for the keys just written) and in the relay loop (``run_forever``, part
of ``run_relay`` and ``run_consumers``). While an entry of a key waits for its retry (the broker was down),
later entries of that key wait too, so a key's events reach the broker in publish order. Two relays may
send the same entry twice (never zero times); consumers are idempotent by event id.
"""
from __future__ import annotations

import logging
import threading
import time
from datetime import UTC, datetime

from django.conf import settings
from pymongo.errors import ConnectionFailure

from tradesignals.kernel.clock import utcnow
from tradesignals.kernel.events import backends, outbox
from tradesignals.kernel.events.backends import BrokerUnavailable, Verdict

logger = logging.getLogger("tradesignals.events")
# After a failed immediate send, requests skip the broker for a moment instead of each paying a timeout.
_broker_down_until = 0.0


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def flush(alias: str, *, keys: set[str] | None = None, backend: backends.Backend | None = None) -> int:
    """Send what is due in ``alias``'s outbox (only ``keys`` when given); return how many were settled.

    Entries are leased to this sender first (``lease_until``), so the after-commit send and relay loops
    running at the same time do not both send them; a sender that dies mid-send loses its lease quickly.
    """
    backend = backend or backends.get()
    now = utcnow()
    waiting: set[str] = set()
    due = []
    for entry in outbox.pending(alias, keys=keys):
        if entry["key"] in waiting:
            continue
        leased = entry.get("lease_until") is not None and _aware(entry["lease_until"]) > now
        if leased or _aware(entry.get("next_attempt_at", now)) > now:
            if backend.strict_key_order or leased:
                waiting.add(entry["key"])
            continue
        due.append(entry)
    if not due:
        return 0
    owned = outbox.lease(alias, [e["_id"] for e in due], now=now)
    batch = []
    for entry in due:  # an entry another sender leased first holds back the rest of its key
        if entry["key"] in waiting:
            continue
        if entry["_id"] not in owned:
            waiting.add(entry["key"])
            continue
        batch.append(entry)
    if not batch:
        return 0
    try:
        results = backend.send(batch)
    except BrokerUnavailable as exc:
        outbox.mark_retry(alias, batch[0], str(exc))
        outbox.release(alias, [e["_id"] for e in batch])
        raise
    except Exception:
        outbox.release(alias, [e["_id"] for e in batch])
        raise
    sent = [i for i, r in results.items() if r.verdict is Verdict.SENT]
    dead = [i for i, r in results.items() if r.verdict is Verdict.DEAD]
    outbox.mark_sent(alias, sent)
    outbox.mark_sent(alias, dead, dead_lettered=True)
    for entry in batch:
        result = results.get(entry["_id"])
        if result is not None and result.verdict is Verdict.RETRY:
            outbox.mark_retry(alias, entry, result.error or "retry")
    return len(sent) + len(dead)


def after_commit(alias: str, keys: set[str]) -> None:
    """Deliver what was just committed, best effort: a broker outage leaves it to the relay loop."""
    global _broker_down_until
    backend = backends.get()
    if backend.name != "inprocess" and time.monotonic() < _broker_down_until:
        return
    try:
        flush(alias, keys=keys, backend=backend)
    except BrokerUnavailable as exc:
        _broker_down_until = time.monotonic() + settings.EVENT_RELAY_INTERVAL_MS / 1000
        logger.warning("event broker unavailable; events wait in the outbox",
                       extra={"alias": alias, "error": str(exc)})
    except Exception:
        logger.exception("event dispatch after commit failed; events wait in the outbox", extra={"alias": alias})


def relay_aliases() -> list[str]:
    return list(settings.MONGODB_ALIASES)


def run_forever(stop: threading.Event, aliases: list[str] | None = None) -> None:
    """Flush every alias's outbox until ``stop`` is set; back off while the broker is down."""
    aliases = aliases or relay_aliases()
    for alias in aliases:
        try:
            outbox.ensure_indexes(alias)
        except Exception:
            logger.exception("could not create outbox indexes", extra={"alias": alias})
    while not stop.is_set():
        for alias in aliases:
            if stop.is_set():
                break
            try:
                while flush(alias) and not stop.is_set():
                    pass  # more may be due right away (batches of 500)
            except BrokerUnavailable as exc:
                logger.warning("event broker unavailable; relay retries", extra={"alias": alias, "error": str(exc)})
            except ConnectionFailure as exc:  # the database is away: say so briefly, retry next pass
                logger.warning("outbox database unavailable; relay retries",
                               extra={"alias": alias, "error": exc.__class__.__name__})
            except Exception:
                logger.exception("event relay pass failed", extra={"alias": alias})
        stop.wait(settings.EVENT_RELAY_INTERVAL_MS / 1000)


_background_stop: threading.Event | None = None


def start_in_background() -> threading.Event | None:
    """With the in-process bus, retry what failed after commit from a thread of the web process itself.

    There is no consumers process in that mode (``make run``), and the handlers must run where the
    process-local state they touch lives. Idempotent per process; returns the event that stops it.
    """
    global _background_stop
    if settings.EVENT_BUS != "inprocess" or not settings.EVENT_INPROCESS_RELAY or _background_stop is not None:
        return _background_stop
    _background_stop = threading.Event()
    threading.Thread(target=run_forever, args=(_background_stop,), name="outbox-relay", daemon=True).start()
    from tradesignals.kernel.images import gc

    gc.start_in_background(_background_stop)  # no consumers process either: this one sweeps images too
    return _background_stop


def stop_background() -> None:
    if _background_stop is not None:
        _background_stop.set()
