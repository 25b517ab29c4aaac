"""``manage.py events_status``: outbox backlog, per-group lag and dead-letter counts, as JSON."""
from __future__ import annotations

import json

from django.core.management.base import BaseCommand

from tradesignals.kernel.events import runner
from tradesignals.kernel.management.commands._lifecycle import import_modules


class Command(BaseCommand):
    help = "Show the event bus state: pending outbox entries, consumer-group lag, dead letters."

    def add_arguments(self, parser):
        parser.add_argument("--import", action="append", dest="modules", metavar="MODULE",
                            help="import this module first (extra receivers); repeatable")

    def handle(self, *args, modules=None, **options):
        import_modules(modules)
        self.stdout.write(json.dumps(runner.status(), indent=2, sort_keys=True))
