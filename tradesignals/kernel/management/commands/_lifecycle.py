"""Shared by the long-running event commands: extra receiver modules and SIGTERM/SIGINT → clean stop."""
from __future__ import annotations

import importlib
import signal
import threading


def import_modules(names: list[str] | None) -> None:
    for name in names or ():
        importlib.import_module(name)


def stop_on_signals() -> threading.Event:
    """An event set by SIGTERM or SIGINT: loops finish the message in hand, then return."""
    stop = threading.Event()

    def handle(_signum, _frame):
        stop.set()

    signal.signal(signal.SIGTERM, handle)
    signal.signal(signal.SIGINT, handle)
    return stop
