"""Collecting images nobody needs: each app that stores images registers a collector, and one sweep runs them all.

A collector deletes (a) uploads never attached within ``IMAGE_ORPHAN_TTL``, (b) records detached but not yet
purged (their event's handler failed or was dead-lettered) and (c) stored files no record names, once older
than ``IMAGE_GC_GRACE``. The sweep runs from ``manage.py images_gc`` and every ``IMAGE_GC_INTERVAL`` from the
process that runs the consumers (or the web process's relay thread with the in-process bus); a cache lock keeps
it to one sweep per interval across processes.
"""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import datetime

from django.conf import settings
from django.core.cache import caches

from tradesignals.kernel.clock import utcnow

logger = logging.getLogger("tradesignals.images")

Collector = Callable[[datetime], dict[str, int]]
_collectors: dict[str, Collector] = {}
LOCK_KEY = "images:gc:lock"
LOCK_SECONDS = 3600  # the longest sweep we allow for before another process may start one


def register(name: str, collect: Collector) -> None:
    """``collect(now)`` → counts of what it deleted; registered once per app (from its ``receivers.py``)."""
    _collectors[name] = collect


def collectors() -> dict[str, Collector]:
    return dict(_collectors)


def collect_all(now: datetime | None = None) -> dict[str, dict[str, int]]:
    now = now or utcnow()
    return {name: collect(now) for name, collect in sorted(_collectors.items())}


def _claim() -> bool:
    """One sweep at a time and one per interval across processes: the lock is held for the whole sweep
    (``LOCK_SECONDS`` if its process dies), then kept for the rest of the interval (``_hand_back``)."""
    try:
        return bool(caches["default"].add(LOCK_KEY, "1", timeout=LOCK_SECONDS))
    except Exception:  # no shared cache: this process sweeps (the sweep is idempotent)
        return True


def _hand_back(interval: int, elapsed: float) -> None:
    try:
        remaining = int(interval - elapsed)
        if remaining >= 1:
            caches["default"].touch(LOCK_KEY, timeout=remaining)
        else:
            caches["default"].delete(LOCK_KEY)
    except Exception:
        logger.debug("image sweep lock not handed back; it expires")


def run_forever(stop: threading.Event) -> None:
    """Sweep every IMAGE_GC_INTERVAL seconds until ``stop``; an error is logged and retried next time."""
    interval = settings.IMAGE_GC_INTERVAL
    while not stop.wait(interval):
        if not _claim():
            continue
        started = time.monotonic()
        try:
            counts = collect_all()
            if any(any(c.values()) for c in counts.values()):
                logger.info("images collected", extra={"counts": counts})
        except Exception as exc:
            logger.warning("image sweep failed: %s", type(exc).__name__)
        finally:
            _hand_back(interval, time.monotonic() - started)


def start_in_background(stop: threading.Event) -> None:
    if settings.IMAGE_GC_INTERVAL > 0 and _collectors:
        threading.Thread(target=run_forever, args=(stop,), name="images-gc", daemon=True).start()
