"""``manage.py run_relay``: send pending outbox entries of the enabled slices to the event bus."""
from __future__ import annotations

from django.core.management.base import BaseCommand

from tradesignals.kernel.events import relay
from tradesignals.kernel.events.backends import BrokerUnavailable
from tradesignals.kernel.management.commands._lifecycle import import_modules, stop_on_signals


class Command(BaseCommand):
    help = "Relay pending outbox entries to the event bus (retrying with backoff) until SIGTERM."

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="one pass over every outbox, then exit")
        parser.add_argument("--import", action="append", dest="modules", metavar="MODULE",
                            help="import this module first (in-process receivers); repeatable")

    def handle(self, *args, once=False, modules=None, **options):
        import_modules(modules)
        if once:
            settled = 0
            for alias in relay.relay_aliases():
                try:
                    settled += relay.flush(alias)
                except BrokerUnavailable as exc:
                    self.stderr.write(f"{alias}: broker unavailable ({exc})")
            self.stdout.write(f"settled {settled} outbox entries")
            return
        stop = stop_on_signals()
        relay.run_forever(stop)
        self.stdout.write("stopped")
