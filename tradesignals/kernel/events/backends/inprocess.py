"""In-process backend: "sending" an outbox entry runs the subscribed handlers in this process.

A handler that raises leaves the entry pending; the relay (``run_relay`` / ``run_consumers``) retries it with
backoff, handlers that already succeeded are skipped by the inbox, and after ``EVENT_MAX_ATTEMPTS`` failed
runs the failing app's copy is dead-lettered (``event_dead_letters`` in that app's alias).
"""
from __future__ import annotations

import threading

from tradesignals.kernel.events import inbox
from tradesignals.kernel.events.backends import Backend, SendResult, Verdict
from tradesignals.kernel.events.processing import process


def handlers_for(app: str, event_type: str) -> list:
    from tradesignals.kernel.events import subscribers

    return [handler for owner, handler in subscribers(event_type) if owner == app]


def apps_for(event_type: str) -> list[str]:
    from tradesignals.kernel.events import subscribers

    return list(dict.fromkeys(owner for owner, _ in subscribers(event_type)))


def deliver_envelope(envelope: dict) -> SendResult:
    """Run every consuming app's handlers; dead-letter an app's copy once its failures are exhausted."""
    verdict, errors = Verdict.SENT, []
    for app in apps_for(envelope["type"]):
        result = process(app, envelope, handlers_for)
        if result.settled:
            continue
        if result.exhausted:
            inbox.dead_letter(app, envelope=envelope, error=result.error or "", attempts=result.failures)
            if verdict is Verdict.SENT:
                verdict = Verdict.DEAD
            continue
        verdict = Verdict.RETRY
        errors.append(f"{app}: {result.error or result.outcome.value}")
    if verdict is Verdict.RETRY:
        return SendResult(Verdict.RETRY, "; ".join(errors))
    return SendResult(verdict)


class InProcessBackend(Backend):
    name = "inprocess"
    strict_key_order = False  # a failing handler must not stall later events of the key until the relay runs

    def send(self, entries: list[dict]) -> dict[str, SendResult]:
        return {entry["_id"]: deliver_envelope(entry["envelope"])
                for entry in entries}

    def consumer(self, app: str, types: list[str], stop: threading.Event):
        return None  # delivery happens at publish time and in the relay

    def status(self, apps: dict[str, list[str]]) -> dict:
        return {app: {"lag": None, "dead_letters": inbox.dead_letter_count(app)} for app in apps}
