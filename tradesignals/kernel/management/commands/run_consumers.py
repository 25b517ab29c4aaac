"""``manage.py run_consumers [--app users]``: consume events for the installed apps' receivers.

Also runs the outbox relay (unless ``--no-relay``). SIGTERM finishes the message in hand and exits 0.
"""
from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from tradesignals.kernel.events import runner
from tradesignals.kernel.management.commands._lifecycle import import_modules, stop_on_signals


class Command(BaseCommand):
    help = "Run the event consumers of the enabled apps (and the outbox relay) until SIGTERM."

    def add_arguments(self, parser):
        parser.add_argument("--app", action="append", dest="apps",
                            help="consume only for this app (accounts, users, signals); repeatable")
        parser.add_argument("--no-relay", action="store_true", help="do not run the outbox relay here")
        parser.add_argument("--import", action="append", dest="modules", metavar="MODULE",
                            help="import this module first (extra receivers); repeatable")

    def handle(self, *args, apps=None, no_relay=False, modules=None, **options):
        import_modules(modules)
        known = set(runner.subscriptions())
        for app in apps or ():
            if app not in settings.TRADESIGNALS_SLICES and app not in known:
                raise CommandError(f"app {app!r} is not enabled here (TRADESIGNALS_SLICES) or has no receivers")
        stop = stop_on_signals()
        subs = runner.subscriptions(apps)
        self.stdout.write(f"consuming with EVENT_BUS={settings.EVENT_BUS}: "
                          + (", ".join(f"{a} ({len(t)} types)" for a, t in subs.items()) or "no receivers"))
        self.stdout.flush()
        runner.run(stop, apps=apps, with_relay=not no_relay)
        self.stdout.write("stopped")
