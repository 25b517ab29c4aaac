"""Run the consumers of the apps in this process (and the relay) until asked to stop."""
from __future__ import annotations

import logging
import threading

from tradesignals.kernel.events import backends, relay

logger = logging.getLogger("tradesignals.events")


def subscriptions(only: list[str] | None = None) -> dict[str, list[str]]:
    """Consuming app → the event types it subscribed to (receivers of the installed apps)."""
    from tradesignals.kernel.events import _subscribers

    apps: dict[str, list[str]] = {}
    for event_type, subs in sorted(_subscribers.items()):
        for app, _handler in subs:
            if only and app not in only:
                continue
            types = apps.setdefault(app, [])
            if event_type not in types:
                types.append(event_type)
    return apps


def run(stop: threading.Event, *, apps: list[str] | None = None, with_relay: bool = True) -> None:
    """Start one consumer loop per app (plus the relay) and wait until ``stop`` is set and they finished."""
    backend = backends.get()
    threads = []
    for app, types in subscriptions(apps).items():
        consumer = backend.consumer(app, types, stop)
        if consumer is None:
            continue
        threads.append(threading.Thread(target=consumer.run, name=f"consumer-{app}", daemon=True))
        logger.info("event consumer started", extra={"consumer": app, "backend": backend.name, "types": types})
    if with_relay:
        threads.append(threading.Thread(target=relay.run_forever, args=(stop,), name="relay", daemon=True))
    for thread in threads:
        thread.start()
    from tradesignals.kernel.images import gc

    gc.start_in_background(stop)
    stop.wait()
    for thread in threads:
        thread.join(timeout=60)


def status() -> dict:
    from tradesignals.kernel.events import outbox

    backend = backends.get()
    report: dict = {"backend": backend.name, "outbox": {}, "groups": {}}
    for alias in relay.relay_aliases():
        report["outbox"][alias] = outbox.counts(alias)
    report["groups"] = backend.status(subscriptions())
    return report
