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
from collections.abc import Callable
from datetime import datetime

from django.conf import settings
from django.core.cache import caches

from tradesignals.kernel.clock import utcnow

logger = logging.getLogger("tradesignals.images")

Collector = Callable[[datetime], dict[str, int]]
_collectors: dict[str, Collector] = {}
LOCK_KEY = "images:gc:lock"


def register(name: str, collect: Collector) -> None:
    """``collect(now)`` → counts of what it deleted; registered once per app (from its ``receivers.py``)."""
    _collectors[name] = collect


def collectors() -> dict[str, Collector]:
    return dict(_collectors)


def collect_all(now: datetime | None = None) -> dict[str, dict[str, int]]:
    now = now or utcnow()
    return {name: collect(now) for name, collect in sorted(_collectors.items())}


def _claimed(interval: int) -> bool:
    try:
        return bool(caches["default"].add(LOCK_KEY, "1", timeout=max(1, interval - 1)))
    except Exception:  # no shared cache: this process sweeps (the sweep is idempotent)
        return True


def run_forever(stop: threading.Event) -> None:
    """Sweep every IMAGE_GC_INTERVAL seconds until ``stop``; an error is logged and retried next time."""
    interval = settings.IMAGE_GC_INTERVAL
    while not stop.wait(interval):
        if not _claimed(interval):
            continue
        try:
            counts = collect_all()
            if any(any(c.values()) for c in counts.values()):
                logger.info("images collected", extra={"counts": counts})
        except Exception as exc:
            logger.warning("image sweep failed: %s", type(exc).__name__)


def start_in_background(stop: threading.Event) -> None:
    if settings.IMAGE_GC_INTERVAL > 0 and _collectors:
        threading.Thread(target=run_forever, args=(stop,), name="images-gc", daemon=True).start()
